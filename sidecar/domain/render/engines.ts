/**
 * The render engines a request may name: the one table of them. `npm run tables` writes it into the JSON the worker
 * (which Blender identifier each name sets, what the probe tries) and the add-on (the pipeline editor's Engine menu)
 * read. A request may also give a Blender identifier the table lacks (an add-on's engine); the worker tries it as is.
 */

export interface RenderEngineSpec {
  /** What users call it. */
  engine: string;
  label: string;
  /** Blender's identifiers for it, newest first (EEVEE was BLENDER_EEVEE_NEXT in 4.2-4.4). */
  identifiers: string[];
}

export const RENDER_ENGINES = [
  { engine: 'cycles', label: 'Cycles', identifiers: ['CYCLES'] },
  { engine: 'eevee', label: 'EEVEE', identifiers: ['BLENDER_EEVEE_NEXT', 'BLENDER_EEVEE'] },
  { engine: 'workbench', label: 'Workbench', identifiers: ['BLENDER_WORKBENCH'] },
] as const satisfies readonly RenderEngineSpec[];

/** "cycles, eevee or workbench", for help texts. */
export const ENGINE_CHOICES = `${RENDER_ENGINES.slice(0, -1)
  .map((e) => e.engine)
  .join(', ')} or ${RENDER_ENGINES.at(-1)!.engine}`;
