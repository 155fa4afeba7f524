/**
 * Export requests (`export.submit`, `export.batch`), checked before a job exists: the format must be one the installed
 * Blender can write, every option one its exporter has, every output a usable path with the format's extension.
 */
import { basename, dirname, extname, isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';
import { InvalidInputError } from '../errors.js';
import type { ExportFormat } from '../blender/probe.js';
import { blenderPin, checkBlendFile, priority } from '../render/render-request.js';
import { gnJobParam } from '../sync/job-values.js';
import { FORMAT_NAMES } from './formats.js';

const scope = z
  .strictObject({
    objects: z.array(z.string().min(1)).min(1).optional().describe('Export only these objects (by name).'),
    collection: z.string().min(1).optional().describe('Export the objects of this collection (and its children).'),
  })
  .refine((s) => !(s.objects && s.collection), { message: 'give objects or collection, not both' });

const exportOptions = z
  .record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.array(z.union([z.string(), z.number()]))]))
  .describe('Exporter options by Blender\'s name (sidecar.info lists each format\'s), e.g. {"export_yup": true}.');

const common = {
  blendFile: z.string().min(1).describe('Absolute path of the .blend file.'),
  scene: z.string().min(1).optional().describe("The scene to export from (default: the file's active scene)."),
  priority,
  instances: z.number().int().min(1).max(64).optional().describe('At most this many workers on this job at once.'),
  timeoutS: z
    .number()
    .positive()
    .max(7 * 86400)
    .default(600)
    .describe('A worker silent this long is hung: killed and the item retried.'),
  maxRetries: z.number().int().min(0).max(20).default(1),
  memoryLimitMB: z.number().int().min(64).optional(),
  temporaryBlendFile: z.boolean().default(false).describe('The blend file is a temporary copy: delete it when the job ends.'),
  saveCopySeconds: z.number().min(0).optional().describe('How long saving the temporary copy blocked Blender (the add-on reports it).'),
  gn: gnJobParam.optional(),
  blender: blenderPin,
};

export const exportParams = z.strictObject({
  ...common,
  format: z
    .string()
    .min(1)
    .describe(`One of ${FORMAT_NAMES.join(', ')} (those the installed Blender can write: see sidecar.info).`),
  output: z.string().min(1).describe("The file to write (absolute, or // for the blend file's folder); a folder ending in / gets a name."),
  scope: scope.optional().describe('What to export; default: every visible object of the scene.'),
  applyModifiers: z.boolean().optional().describe("Export meshes with their modifiers applied (the exporter's default when omitted)."),
  options: exportOptions.optional(),
});

const batchItem = z
  .strictObject({
    objects: z.array(z.string().min(1)).min(1).optional(),
    collection: z.string().min(1).optional(),
    format: z.string().min(1),
    output: z.string().min(1),
    applyModifiers: z.boolean().optional(),
    options: exportOptions.optional(),
  })
  .refine((s) => !(s.objects && s.collection), { message: 'give objects or collection, not both' });

export const batchParams = z.strictObject({
  ...common,
  items: z.array(batchItem).min(1).max(10_000).describe('One output each; they are spread across the pool.'),
});

export type ExportParams = z.output<typeof exportParams>;
export type BatchParams = z.output<typeof batchParams>;

/** One item, normalized: what a worker needs to write one output. */
export interface ExportItem {
  objects?: string[];
  collection?: string;
  format: string;
  output: string;
  applyModifiers?: boolean;
  options?: Record<string, unknown>;
}

export function checkFormat(format: string, available: ExportFormat[], field: string): ExportFormat {
  const f = available.find((a) => a.format === format.toLowerCase());
  if (!f) {
    const known = (FORMAT_NAMES as readonly string[]).includes(format.toLowerCase());
    throw new InvalidInputError(
      field,
      `${known ? `this Blender cannot write "${format}"` : `"${format}" is not an export format`}; it can write: ${available.map((a) => a.format).join(', ')}`,
    );
  }
  return f;
}

function checkOptions(options: Record<string, unknown> | undefined, format: ExportFormat, field: string) {
  for (const name of Object.keys(options ?? {})) {
    if (!format.options.includes(name)) {
      throw new InvalidInputError(
        `${field}.${name}`,
        `is not an option of the ${format.format} exporter; its options: ${format.options.join(', ')}`,
      );
    }
  }
}

function resolveExportOutput(output: string, blendFile: string, format: ExportFormat, name: string, field: string): string {
  let path = output;
  if (path.startsWith('//')) path = join(dirname(blendFile), path.slice(2));
  else if (!isAbsolute(path))
    throw new InvalidInputError(field, `"${output}" must be an absolute path, or start with // to mean the blend file's folder`);
  const folder = /[\\/]$/.test(path);
  path = resolve(path);
  if (folder) path = join(path, `${name}${format.extensions[0]}`);
  const ext = extname(path).toLowerCase();
  if (!ext) return path + format.extensions[0];
  if (!format.extensions.includes(ext)) {
    throw new InvalidInputError(
      field,
      `${basename(path)} does not end in ${format.extensions.join(' or ')}, the ${format.format} extension`,
    );
  }
  return path;
}

function defaultName(item: { objects?: string[]; collection?: string }, blendFile: string): string {
  const raw = item.collection ?? (item.objects?.length === 1 ? item.objects[0]! : basename(blendFile).replace(/\.blend\d*$/i, ''));
  return raw.replace(/[^\w.-]+/g, '_');
}

function checkExportItems(
  blendFile: string,
  items: Array<z.output<typeof batchItem>>,
  available: ExportFormat[],
  prefix: (i: number) => string,
): ExportItem[] {
  const seen = new Map<string, number>();
  return items.map((item, i) => {
    const f = checkFormat(item.format, available, `${prefix(i)}format`);
    checkOptions(item.options, f, `${prefix(i)}options`);
    const output = resolveExportOutput(item.output, blendFile, f, defaultName(item, blendFile), `${prefix(i)}output`);
    const before = seen.get(output);
    if (before !== undefined)
      throw new InvalidInputError(`${prefix(i)}output`, `${output} is also the output of item ${before}; each item needs its own file`);
    seen.set(output, i);
    return {
      objects: item.objects,
      collection: item.collection,
      format: f.format,
      output,
      applyModifiers: item.applyModifiers,
      options: item.options,
    };
  });
}

export function checkExportRequest(params: ExportParams, available: ExportFormat[]): ExportItem[] {
  checkBlendFile(params.blendFile);
  const { scope: s, format, output, applyModifiers, options } = params;
  return checkExportItems(params.blendFile, [{ ...s, format, output, applyModifiers, options }], available, () => '');
}

export function checkBatchRequest(params: BatchParams, available: ExportFormat[]): ExportItem[] {
  checkBlendFile(params.blendFile);
  return checkExportItems(params.blendFile, params.items, available, (i) => `items[${i}].`);
}
