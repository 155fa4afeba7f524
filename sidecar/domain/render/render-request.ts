/**
 * A render request as `render.submit` takes it, checked before a job exists: every field that is wrong is named, and
 * nothing is queued. Checks that need Blender (does the scene exist?) happen when the job is planned.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { z } from 'zod';
import { InvalidInputError } from '../errors.js';
import { gnJobParam } from '../sync/job-values.js';
import { farmParam } from '../farm/farm-param.js';
import { parseFrames } from './frame-range.js';
import { ENGINE_CHOICES } from './engines.js';
import { IMAGE_FORMAT_ALIASES, IMAGE_FORMATS } from './image-formats.js';
import { movieParam, resolveMovieOutput } from './movie.js';
import { resolveOutputPattern } from './output-path.js';

export function normalizeImageFormat(format: string): string {
  const upper = format.toUpperCase();
  if ((IMAGE_FORMATS as readonly string[]).includes(upper)) return upper;
  const alias = IMAGE_FORMAT_ALIASES[format.toLowerCase()];
  if (alias) return alias;
  throw new InvalidInputError(
    'format',
    `"${format}" is not an image format a render can write; use one of ${IMAGE_FORMATS.join(', ')} (or png, jpg, exr, tiff)`,
  );
}

export const blenderPin = z
  .string()
  .min(1)
  .optional()
  .describe(
    'Pin the Blender this job runs on: a version such as "4.2" (of an installed Blender) or a path. Default: the installed Blender the file needs (its major.minor, else the oldest newer one).',
  );

export const priority = z.enum(['high', 'normal', 'low']).default('normal').describe('Jobs of higher priority get workers first.');

export const renderParams = z.strictObject({
  blendFile: z.string().min(1).describe('Absolute path of the .blend file to render.'),
  scene: z.string().min(1).optional().describe("Scene to render (default: the file's active scene)."),
  camera: z.string().min(1).optional().describe("Camera object to render through (default: the scene's camera)."),
  frames: z
    .string()
    .min(1)
    .optional()
    .describe('Frames, e.g. "1-240", "1-10,20,30-40x2", "^5" leaves frame 5 out. Default: the scene\'s range.'),
  output: z.string().min(1).describe("A folder, or a Blender-style path with # for the frame number (// is the blend file's folder)."),
  format: z.string().optional().describe("Image format (PNG, JPEG, OPEN_EXR, TIFF, ...). Default: the scene's."),
  engine: z.string().optional().describe(`${ENGINE_CHOICES} (or a Blender engine identifier). Default: the scene's.`),
  samples: z.number().int().min(1).max(1_000_000).optional().describe('Render samples (Cycles samples or EEVEE TAA samples).'),
  resolutionPercent: z.number().int().min(1).max(1000).optional(),
  instances: z
    .number()
    .int()
    .min(1)
    .max(64)
    .optional()
    .describe('At most this many workers render this job at once (default: the whole pool).'),
  overwrite: z.boolean().default(false).describe('Render frames that already exist on disk (default: skip them).'),
  priority,
  timeoutS: z
    .number()
    .positive()
    .max(7 * 86400)
    .default(600)
    .describe('A worker that prints nothing for this long is hung: it is killed and the frame retried.'),
  maxRetries: z.number().int().min(0).max(20).default(2).describe('Retries per frame after a crash or hang, each on another worker.'),
  memoryLimitMB: z
    .number()
    .int()
    .min(64)
    .optional()
    .describe('A worker over this resident memory is killed, and the frame fails with that reason.'),
  preRenderScript: z.string().min(1).optional().describe('A Python file run inside Blender once after the file opens (absolute path).'),
  temporaryBlendFile: z.boolean().default(false).describe('The blend file is a temporary copy: delete it when the job ends.'),
  cpuFallback: z.boolean().default(false).describe('A frame whose GPU ran out of memory is retried on the CPU.'),
  persistentData: z
    .boolean()
    .default(true)
    .describe(
      "Cycles keeps the scene (geometry, BVH, textures) between a worker's frames of this job, as Blender's " +
        'render.use_persistent_data does: the same pictures, without syncing the scene again every frame; it holds ' +
        'that memory while the worker has the job. false: every frame syncs the scene anew (for scenes near the memory limit).',
    ),
  saveCopySeconds: z
    .number()
    .min(0)
    .optional()
    .describe('How long saving the temporary copy blocked Blender (the add-on reports it; shown with the job).'),
  gn: gnJobParam.optional(),
  farm: farmParam.optional(),
  previews: z
    .boolean()
    .default(true)
    .describe('Write a small PNG preview (about 256 px) of each frame, in a hidden .previews folder beside the frames.'),
  movie: movieParam.optional(),
  blender: blenderPin,
});
export type RenderParams = z.output<typeof renderParams>;

export function checkBlendFile(path: string, field = 'blendFile'): void {
  if (!isAbsolute(path)) throw new InvalidInputError(field, `"${path}" must be an absolute path`);
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(path);
  } catch {
    throw new InvalidInputError(field, `${path} does not exist`);
  }
  if (!st.isFile()) throw new InvalidInputError(field, `${path} is not a file`);
  try {
    accessSync(path, constants.R_OK);
  } catch {
    throw new InvalidInputError(field, `${path} cannot be read by the sidecar (check its permissions)`);
  }
  if (!/\.blend\d*$/i.test(path)) throw new InvalidInputError(field, `${path} is not a .blend file`);
}

function checkScript(path: string, field: string): void {
  if (!isAbsolute(path)) throw new InvalidInputError(field, `"${path}" must be an absolute path`);
  try {
    if (!statSync(path).isFile()) throw new Error();
  } catch {
    throw new InvalidInputError(field, `${path} does not exist`);
  }
}

/** Everything that can be checked without Blender; returns the params with format normalized. */
export function checkRenderRequest(params: RenderParams): RenderParams {
  checkBlendFile(params.blendFile);
  resolveOutputPattern(params.output, params.blendFile);
  if (params.frames !== undefined) parseFrames(params.frames);
  if (params.preRenderScript) checkScript(params.preRenderScript, 'preRenderScript');
  if (params.movie) {
    resolveMovieOutput(params.movie.output, params.blendFile);
    if (params.farm)
      throw new InvalidInputError('movie', 'a farm job cannot make a preview movie yet; render on the farm, then submit the movie locally');
  }
  return { ...params, format: params.format === undefined ? undefined : normalizeImageFormat(params.format) };
}
