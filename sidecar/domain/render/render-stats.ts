/**
 * A frame's samples, read from what a rendering Blender prints: Cycles prints `... | Sample 9/16` on its own stdout
 * (3.x, 4.x) or through the worker's render_stats handler (`[render] ... | Sample 9/16`, 5.x prints nothing else);
 * EEVEE says `Rendering 9 / 64 samples`. A frame that takes minutes then shows its samples moving, never looking hung.
 */
export interface SampleProgress {
  done: number;
  total: number;
}

const SAMPLES = /\b(?:Sample|Rendering)\s+(\d+)\s*\/\s*(\d+)/;

/** The samples a line of Blender's output reports, or undefined when it reports none. */
export function parseSamples(line: string): SampleProgress | undefined {
  const m = SAMPLES.exec(line);
  if (!m) return undefined;
  const done = Number(m[1]);
  const total = Number(m[2]);
  return total > 0 && done <= total ? { done, total } : undefined;
}
