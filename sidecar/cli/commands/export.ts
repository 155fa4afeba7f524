import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { BLENDER_OPTION, connectOrStart, embeddedBlender } from '../connect.js';
import { followJob, type JobResult } from '../follow.js';
import { ProgressView, progressMode } from '../progress.js';
import { intFlag, UsageError, type Command } from '../command.js';

/** A path given on the command line, made absolute against `base` (a trailing / kept: it means a folder). */
export function absolute(path: string, base: string): string {
  if (path.startsWith('//') || isAbsolute(path)) return path;
  return resolve(base, path) + (/[\\/]$/.test(path) ? '/' : '');
}

/** Reads the --batch file: a JSON array of items, or {"items": [...]}; relative outputs are relative to the file. */
function readBatchFile(path: string): Array<Record<string, unknown>> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(
      `cannot read --batch ${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`,
    );
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`--batch ${path} is not valid JSON: ${(err as Error).message}`);
  }
  const items = Array.isArray(data) ? data : (data as { items?: unknown })?.items;
  if (!Array.isArray(items) || items.length === 0) {
    throw new UsageError(
      `--batch ${path} must hold a non-empty list of items, e.g. [{"collection": "Crate", "format": "glb", "output": "crate.glb"}]`,
    );
  }
  return items.map((item, i) => {
    if (!item || typeof item !== 'object') throw new UsageError(`--batch ${path}: item ${i} is not an object`);
    const it = item as Record<string, unknown>;
    return typeof it.output === 'string' ? { ...it, output: absolute(it.output, dirname(resolve(path))) } : it;
  });
}

export const exportCommand: Command = {
  name: 'export',
  summary:
    'Export objects, a collection or a whole .blend on the worker pool, each output checked. Uses the running sidecar, or starts one.',
  usage:
    'export FILE --format glb --output out.glb [--collection C | --objects a,b] [--json]\n       blender-sidecar export FILE --batch items.json [--json]',
  options: {
    format: {
      type: 'string',
      short: 'f',
      valueName: 'FMT',
      description: 'glb, gltf, fbx, obj, usd, stl, ply or abc (what this Blender can write).',
    },
    output: { type: 'string', short: 'o', valueName: 'PATH', description: 'The file to write (a folder ending in / gets a name).' },
    collection: { type: 'string', valueName: 'NAME', description: 'Export this collection.' },
    objects: { type: 'string', valueName: 'A,B', description: 'Export these objects (comma-separated names).' },
    'apply-modifiers': { type: 'boolean', description: 'Apply modifiers to exported meshes.' },
    option: {
      type: 'string',
      multiple: true,
      valueName: 'NAME=VALUE',
      description: 'An exporter option (repeatable), e.g. --option export_yup=false.',
    },
    batch: {
      type: 'string',
      valueName: 'FILE',
      description: 'A JSON list of items [{collection|objects, format, output}] exported as one job.',
    },
    instances: { type: 'string', valueName: 'N', description: 'Workers for this job (and the pool size of an embedded sidecar).' },
    priority: { type: 'string', valueName: 'P', description: 'high, normal (default) or low.' },
    json: { type: 'boolean', description: 'Print progress and the result as JSON lines.' },
    'state-dir': { type: 'string', valueName: 'DIR', description: "The sidecar's state folder." },
    blender: BLENDER_OPTION,
  },
  epilog:
    'Examples:\n  blender-sidecar export props.blend --format glb --output crate.glb --collection Crate\n  blender-sidecar export props.blend --batch items.json',
  async run({ values, positionals }) {
    const [file] = positionals;
    if (!file) throw new UsageError('name the .blend file to export from');
    if (positionals.length > 1) throw new UsageError(`one file at a time (got ${positionals.length})`);
    const blendFile = resolve(file);
    const instances = intFlag(values, 'instances', { min: 1, max: 64 });
    const priority = values.priority as 'high' | 'normal' | 'low' | undefined;
    const blender = values.blender as string | undefined;
    let method: 'export.submit' | 'export.batch';
    let params: Record<string, unknown>;
    if (values.batch) {
      for (const flag of ['format', 'output', 'collection', 'objects']) {
        if (values[flag] !== undefined) throw new UsageError(`--${flag} goes in the items of --batch, not beside it`);
      }
      method = 'export.batch';
      params = { blendFile, items: readBatchFile(values.batch as string), instances, priority, blender };
    } else {
      if (!values.format) throw new UsageError('--format is required (glb, gltf, fbx, obj, usd, stl, ply, abc), or use --batch');
      if (!values.output) throw new UsageError('--output is required');
      if (values.collection && values.objects) throw new UsageError('give --collection or --objects, not both');
      const objects = (values.objects as string | undefined)
        ?.split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      const options = exporterOptions((values.option as string[] | undefined) ?? []);
      method = 'export.submit';
      params = {
        blendFile,
        format: values.format,
        output: absolute(values.output as string, process.cwd()),
        scope: values.collection ? { collection: values.collection } : objects ? { objects } : undefined,
        applyModifiers: values['apply-modifiers'] === true ? true : undefined,
        options: Object.keys(options).length ? options : undefined,
        instances,
        priority,
        blender,
      };
    }
    const conn = await connectOrStart({
      oneJob: true,
      stateDir: values['state-dir'] as string | undefined,
      instances,
      blender: embeddedBlender(values.blender),
    });
    try {
      const mode = progressMode(values.json === true);
      const view = new ProgressView(mode, 'export', 'items');
      const { jobId } = await conn.client.call(method, params as never);
      const job = await followJob(conn.client, jobId, view);
      if (mode === 'json') process.stdout.write(`${JSON.stringify({ event: 'result', job })}\n`);
      else for (const u of job.units) process.stdout.write(`  ${itemLine(u)}\n`);
      if (job.state !== 'completed') {
        if (mode !== 'json') process.stderr.write(`error: the export ${job.state}${job.error ? `: ${job.error}` : ''}\n`);
        return job.state === 'canceled' ? 130 : 1;
      }
      return 0;
    } finally {
      await conn.release();
    }
  },
};

/** `--option NAME=VALUE` pairs as the exporter's options: a value is read as JSON, a bare word as a string. */
function exporterOptions(pairs: string[]): Record<string, unknown> {
  const options: Record<string, unknown> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`--option ${pair}: write NAME=VALUE`);
    const raw = pair.slice(eq + 1);
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      // A bare word is a string.
    }
    options[pair.slice(0, eq)] = value;
  }
  return options;
}

/** One exported item as the CLI prints it: the file, its size and what it holds, or why it was not written. */
function itemLine(u: JobResult['units'][number]): string {
  if (u.state !== 'done') return `${u.label}: ${u.state}${u.error ? `: ${u.error}` : ''}`;
  const r = (u.result ?? {}) as {
    bytes?: number;
    gltf?: { meshes: number; triangles: number; materials: number };
    counted?: { objects: number; triangles: number };
  };
  const what = r.gltf
    ? `${r.gltf.meshes} meshes, ${r.gltf.triangles} triangles, ${r.gltf.materials} materials`
    : `${r.counted?.objects ?? '?'} objects, ${r.counted?.triangles ?? '?'} triangles`;
  return `${u.output}  ${Math.round((r.bytes ?? 0) / 1024)} KB  (${what})`;
}
