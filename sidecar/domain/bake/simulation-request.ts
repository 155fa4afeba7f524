/**
 * Simulation bake requests (`bake.simulation`): Geometry Nodes simulation zones and Bake nodes baked to disk. Blender
 * 3.4 has neither (simulation zones came with 4.0, per-modifier bakes to disk with 4.1): asking such a Blender is a
 * bad-input sentence naming its version, before a job exists.
 */
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';
import { DomainError, InvalidInputError } from '../errors.js';
import { blenderPin, checkBlendFile, priority } from '../render/render-request.js';

const DEFAULT_CACHE_FOLDER = '{object}_{modifier}';

export const simulationParams = z
  .strictObject({
    blendFile: z
      .string()
      .min(1)
      .describe('Absolute path of the .blend file (the worker bakes in its own copy; this file is never changed).'),
    objects: z
      .array(z.string().min(1))
      .min(1)
      .max(10_000)
      .optional()
      .describe('Objects whose simulations and Bake nodes to bake (default: every object that has one); one unit of work each.'),
    output: z
      .string()
      .min(1)
      .describe(
        "The folder of each modifier's bake: absolute or // for the blend file's folder, with {object} and {modifier}; a folder ending in / gets {object}_{modifier}.",
      ),
    frameStart: z
      .number()
      .int()
      .min(-1_048_574)
      .max(1_048_574)
      .optional()
      .describe("First frame (default: the scene's, or the bake's own range)."),
    frameEnd: z.number().int().min(-1_048_574).max(1_048_574).optional(),
    priority,
    blender: blenderPin,
    instances: z.number().int().min(1).max(64).optional(),
    timeoutS: z
      .number()
      .positive()
      .max(7 * 86400)
      .default(3600)
      .describe('A worker silent this long is hung: killed and the object retried.'),
    maxRetries: z.number().int().min(0).max(20).default(1),
    memoryLimitMB: z.number().int().min(64).optional(),
    temporaryBlendFile: z.boolean().default(false),
    saveCopySeconds: z.number().min(0).optional(),
  })
  .refine((p) => (p.frameStart === undefined) === (p.frameEnd === undefined), {
    message: 'give frameStart and frameEnd together',
    path: ['frameEnd'],
  })
  .refine((p) => p.frameStart === undefined || p.frameEnd! >= p.frameStart, {
    message: 'frameEnd comes before frameStart',
    path: ['frameEnd'],
  });

export type SimulationParams = z.output<typeof simulationParams>;

export function expandCacheFolder(template: string, object: string, modifier: string): string {
  const safe = (s: string) => s.replace(/[^\w.-]+/g, '_');
  return template.replaceAll('{object}', safe(object)).replaceAll('{modifier}', safe(modifier));
}

/** Refuses a Blender without simulation bakes, then resolves the output template. */
export function checkSimulationRequest(params: SimulationParams, blender: { version: string; simulationBake: boolean }): string {
  if (!blender.simulationBake) {
    throw new DomainError(
      'bad-input',
      `Blender ${blender.version} (the Blender this file runs on) has no simulation zones or Bake nodes to bake: they came with Blender 4.0 and 4.1; ` +
        'pin an installed Blender 4.1 or newer with blender (e.g. "4.3"), or point the sidecar at one (blender-sidecar serve --blender PATH)',
      { errors: [{ field: 'blendFile', message: `Blender ${blender.version} cannot bake simulations` }], blenderVersion: blender.version },
    );
  }
  checkBlendFile(params.blendFile);
  let path = params.output;
  if (path.startsWith('//')) path = join(dirname(params.blendFile), path.slice(2));
  else if (!isAbsolute(path))
    throw new InvalidInputError('output', `"${params.output}" must be an absolute path, or start with // to mean the blend file's folder`);
  const folder = /[\\/]$/.test(path);
  path = resolve(path);
  if (folder) path = join(path, DEFAULT_CACHE_FOLDER);
  const unknown = [...path.matchAll(/\{(\w*)\}/g)].map((m) => m[1]!).filter((n) => n !== 'object' && n !== 'modifier');
  if (unknown.length > 0) throw new InvalidInputError('output', `{${unknown[0]}} is not a placeholder; use {object} and {modifier}`);
  if (!path.includes('{modifier}'))
    throw new InvalidInputError('output', `${path} has no {modifier}: each modifier's bake needs its own folder`);
  if (!path.includes('{object}') && params.objects?.length !== 1) {
    throw new InvalidInputError('output', `${path} has no {object}: each object's bakes need their own folder`);
  }
  return path;
}
