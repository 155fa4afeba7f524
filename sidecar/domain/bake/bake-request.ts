/**
 * Bake requests (`bake.submit`), checked before a job exists: every map type one the installed Blender's Cycles can
 * bake, every output a usable path template whose expansions never collide, sizes and margins in range. What only the
 * file can tell (the objects exist, are meshes, have UVs) is checked by the job's planning task.
 */
import { dirname, extname, isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';
import { InvalidInputError } from '../errors.js';
import { blenderPin, checkBlendFile, priority } from '../render/render-request.js';

/** Image formats a baked map can be saved as, by extension (Blender's file_format names). */
export const BAKE_IMAGE_FORMATS: Readonly<Record<string, string>> = {
  '.png': 'PNG',
  '.exr': 'OPEN_EXR',
  '.tif': 'TIFF',
  '.tiff': 'TIFF',
  '.jpg': 'JPEG',
  '.jpeg': 'JPEG',
};
const PLACEHOLDERS = ['object', 'map'];
/** Cycles' bake types in 3.4, 4.3 and 5.2 alike; `sidecar.info` lists what the installed Blender offers. */
export const CYCLES_BAKE_TYPES = [
  'combined',
  'ao',
  'shadow',
  'position',
  'normal',
  'uv',
  'roughness',
  'emit',
  'environment',
  'diffuse',
  'glossy',
  'transmission',
] as const;
const DEFAULT_NAME = '{object}_{map}.png';

const mapSpec = z.strictObject({
  type: z
    .string()
    .min(1)
    .describe('A bake type the installed Blender offers (sidecar.info lists them): normal, ao, diffuse, roughness, emit, ...'),
  output: z
    .string()
    .min(1)
    .optional()
    .describe(
      "Where the map goes: absolute, or // for the blend file's folder; {object} and {map} are filled in; a folder ending in / gets {object}_{map}.png. Default: the request's output.",
    ),
  size: z.number().int().min(8).max(16384).optional().describe("Width and height in pixels (default: the request's size)."),
  margin: z
    .number()
    .int()
    .min(0)
    .max(256)
    .optional()
    .describe("Pixels the bake bleeds past the UV islands (default: the request's margin)."),
  colorSpace: z
    .string()
    .min(1)
    .optional()
    .describe("The image's colour space (default Non-Color for data maps such as normal, ao, roughness; sRGB otherwise)."),
});

const selectedToActive = z.strictObject({
  sources: z.array(z.string().min(1)).min(1).describe('The high-poly objects whose surface is baked onto each target.'),
  cage: z.string().min(1).optional().describe('A cage object the rays start from (instead of the extruded target).'),
  extrusion: z
    .number()
    .min(0)
    .max(1e4)
    .default(0)
    .describe("How far out the rays start from the target's surface (Blender's cage extrusion)."),
  maxRayDistance: z.number().min(0).max(1e4).default(0).describe('How far the rays reach (0: no limit).'),
});

export const bakeParams = z
  .strictObject({
    blendFile: z
      .string()
      .min(1)
      .describe('Absolute path of the .blend file (the worker bakes in its own copy; this file is never changed).'),
    scene: z.string().min(1).optional().describe("The scene to bake in (default: the file's active scene)."),
    objects: z
      .array(z.string().min(1))
      .min(1)
      .max(10_000)
      .optional()
      .describe('The target objects (one unit of work each, spread across the pool).'),
    collection: z.string().min(1).optional().describe('Bake every mesh of this collection (its selectedToActive sources excepted).'),
    maps: z.array(mapSpec).min(1).max(32).describe('The maps to bake for every target.'),
    output: z
      .string()
      .min(1)
      .optional()
      .describe('Default output of the maps: a template with {object} and {map}, or a folder ending in /.'),
    size: z.number().int().min(8).max(16384).default(1024).describe('Default width and height of the maps in pixels.'),
    margin: z.number().int().min(0).max(256).default(16).describe('Default margin in pixels.'),
    selectedToActive: selectedToActive
      .optional()
      .describe("Bake from high-poly sources onto each target (a game asset's normal and AO maps)."),
    samples: z.number().int().min(1).max(65_536).optional().describe("Cycles samples (default: the scene's)."),
    device: z.enum(['CPU', 'GPU']).optional().describe("Cycles device (default: the scene's)."),
    priority,
    blender: blenderPin,
    instances: z.number().int().min(1).max(64).optional().describe('At most this many workers on this job at once.'),
    timeoutS: z
      .number()
      .positive()
      .max(7 * 86400)
      .default(1800)
      .describe('A worker silent this long is hung: killed and the object retried.'),
    maxRetries: z.number().int().min(0).max(20).default(1),
    memoryLimitMB: z.number().int().min(64).optional(),
    temporaryBlendFile: z.boolean().default(false).describe('The blend file is a temporary copy: delete it when the job ends.'),
    saveCopySeconds: z.number().min(0).optional().describe('How long saving the temporary copy blocked Blender (the add-on reports it).'),
  })
  .refine((p) => !(p.objects && p.collection), { message: 'give objects or collection, not both', path: ['objects'] })
  .refine((p) => p.objects || p.collection, { message: 'name the objects to bake, or a collection', path: ['objects'] });

export type BakeParams = z.output<typeof bakeParams>;

/** One map of every target, normalized: its type as Blender names it (lower case), an absolute output template. */
export interface BakeMap {
  type: string;
  output: string;
  size: number;
  margin: number;
  colorSpace?: string;
}

/** Fills {object} and {map} in a template; object names are made safe for file names. */
export function expandOutput(template: string, object: string, map: string): string {
  return template.replaceAll('{object}', object.replace(/[^\w.-]+/g, '_')).replaceAll('{map}', map);
}

function checkBakeType(type: string, available: string[], field: string): string {
  const t = type.toLowerCase();
  if (!available.includes(t)) {
    throw new InvalidInputError(field, `"${type}" is not a bake type this Blender offers; it offers: ${available.join(', ')}`);
  }
  return t;
}

function resolveTemplate(output: string, blendFile: string, field: string): string {
  let path = output;
  if (path.startsWith('//')) path = join(dirname(blendFile), path.slice(2));
  else if (!isAbsolute(path))
    throw new InvalidInputError(field, `"${output}" must be an absolute path, or start with // to mean the blend file's folder`);
  const folder = /[\\/]$/.test(path);
  path = resolve(path);
  if (folder) return join(path, DEFAULT_NAME);
  const unknown = [...path.matchAll(/\{(\w*)\}/g)].map((m) => m[1]!).filter((n) => !PLACEHOLDERS.includes(n));
  if (unknown.length > 0) throw new InvalidInputError(field, `{${unknown[0]}} is not a placeholder; use {object} and {map}`);
  const ext = extname(path).toLowerCase();
  if (!ext || ext.includes('}')) return `${path}.png`;
  if (!BAKE_IMAGE_FORMATS[ext]) {
    throw new InvalidInputError(field, `a baked map is saved as ${Object.keys(BAKE_IMAGE_FORMATS).join(', ')}; "${ext}" is none of them`);
  }
  return path;
}

/** Checks the maps against the Blender's bake types and their outputs against each other. */
export function checkBakeRequest(params: BakeParams, bakeTypes: string[]): BakeMap[] {
  checkBlendFile(params.blendFile);
  if (bakeTypes.length === 0) throw new InvalidInputError('maps', 'the installed Blender offers no bake types (its Cycles is missing)');
  const maps = params.maps.map((m, i): BakeMap => {
    const type = checkBakeType(m.type, bakeTypes, `maps[${i}].type`);
    const raw = m.output ?? params.output;
    if (!raw)
      throw new InvalidInputError(`maps[${i}].output`, 'say where the map goes: give the map an output, or the request an output folder');
    const output = resolveTemplate(raw, params.blendFile, m.output ? `maps[${i}].output` : 'output');
    return {
      type,
      output,
      size: m.size ?? params.size,
      margin: m.margin ?? params.margin,
      ...(m.colorSpace ? { colorSpace: m.colorSpace } : {}),
    };
  });
  const manyObjects = params.collection !== undefined || (params.objects?.length ?? 0) > 1;
  const seen = new Map<string, number>();
  maps.forEach((m, i) => {
    const field = params.maps[i]!.output ? `maps[${i}].output` : 'output';
    if (manyObjects && !m.output.includes('{object}')) {
      throw new InvalidInputError(field, `${m.output} has no {object}: every target would write the same file; put {object} in the name`);
    }
    const key = expandOutput(m.output, '\0', m.type);
    const before = seen.get(key);
    if (before !== undefined) {
      throw new InvalidInputError(
        field,
        `maps ${before} and ${i} would both write ${m.output.replaceAll('{map}', m.type)}; put {map} in the name or give each its own output`,
      );
    }
    seen.set(key, i);
  });
  const s2a = params.selectedToActive;
  if (s2a && params.objects) {
    const both = params.objects.filter((o) => s2a.sources.includes(o));
    if (both.length > 0)
      throw new InvalidInputError(
        'selectedToActive.sources',
        `${both.join(', ')} is both a target and a source; a target bakes from other objects`,
      );
  }
  return maps;
}
