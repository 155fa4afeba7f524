import { resolve } from 'node:path';
import { connectOrStart } from '../connect.js';
import { followJob } from '../follow.js';
import { ProgressView, progressMode } from '../progress.js';
import { intFlag, UsageError, type Command } from '../command.js';
import { absolute } from './export.js';

function names(value: unknown): string[] | undefined {
  const list = (value as string | undefined)
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return list && list.length > 0 ? list : undefined;
}

function numberFlag(values: Record<string, unknown>, name: string): number | undefined {
  const raw = values[name] as string | undefined;
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new UsageError(`--${name} must be a number of 0 or more (got "${raw}")`);
  return n;
}

export const bakeCommand: Command = {
  name: 'bake',
  summary:
    'Bake texture maps (normal, AO, diffuse, ...) of objects on the worker pool, each map checked. Uses the running sidecar, or starts one.',
  usage: 'bake FILE (--objects a,b | --collection C) --maps normal,ao --output DIR [--size 2048] [--from high1,high2] [--json]',
  options: {
    objects: { type: 'string', valueName: 'A,B', description: 'The objects to bake (comma-separated names), one unit of work each.' },
    collection: { type: 'string', valueName: 'NAME', description: 'Bake every mesh of this collection.' },
    maps: {
      type: 'string',
      short: 'm',
      valueName: 'T,T',
      description: "Bake types, comma-separated (sidecar.info lists this Blender's: normal, ao, diffuse, roughness, emit, ...).",
    },
    output: {
      type: 'string',
      short: 'o',
      valueName: 'DIR',
      description: 'A folder (maps are named {object}_{map}.png), or a template with {object} and {map}.',
    },
    size: { type: 'string', valueName: 'PX', description: 'Width and height of every map (default 1024).' },
    margin: { type: 'string', valueName: 'PX', description: 'Pixels baked past the UV islands (default 16).' },
    from: { type: 'string', valueName: 'A,B', description: 'Bake selected-to-active from these high-poly objects onto each target.' },
    cage: { type: 'string', valueName: 'NAME', description: 'The cage object of a --from bake.' },
    extrusion: { type: 'string', valueName: 'D', description: 'How far out rays start from the target (a --from bake).' },
    'ray-distance': { type: 'string', valueName: 'D', description: 'How far rays reach (a --from bake; 0: no limit).' },
    samples: { type: 'string', valueName: 'N', description: "Cycles samples (default: the scene's)." },
    instances: { type: 'string', valueName: 'N', description: 'Workers for this job (and the pool size of an embedded sidecar).' },
    priority: { type: 'string', valueName: 'P', description: 'high, normal (default) or low.' },
    json: { type: 'boolean', description: 'Print progress and the result as JSON lines.' },
    'state-dir': { type: 'string', valueName: 'DIR', description: "The sidecar's state folder." },
    blender: { type: 'string', valueName: 'PATH', description: 'Blender for an embedded sidecar.' },
  },
  epilog:
    'Examples:\n  blender-sidecar bake crate.blend --objects Crate_low --from Crate_high --extrusion 0.05 --maps normal,ao --size 2048 --output textures/\n' +
    '  blender-sidecar bake props.blend --collection Props --maps diffuse,roughness --output "textures/{object}/{map}.png"',
  async run({ values, positionals }) {
    const [file] = positionals;
    if (!file) throw new UsageError('name the .blend file to bake in');
    if (positionals.length > 1) throw new UsageError(`one file at a time (got ${positionals.length})`);
    const objects = names(values.objects);
    if (objects && values.collection) throw new UsageError('give --objects or --collection, not both');
    if (!objects && !values.collection) throw new UsageError('name what to bake: --objects a,b or --collection NAME');
    const maps = names(values.maps);
    if (!maps) throw new UsageError('--maps is required, e.g. --maps normal,ao');
    if (!values.output) throw new UsageError('--output is required: a folder, or a template with {object} and {map}');
    const sources = names(values.from);
    for (const flag of ['cage', 'extrusion', 'ray-distance']) {
      if (values[flag] !== undefined && !sources) throw new UsageError(`--${flag} belongs to a selected-to-active bake: add --from HIGH`);
    }
    const instances = intFlag(values, 'instances', { min: 1, max: 64 });
    const params = {
      blendFile: resolve(file),
      objects,
      collection: values.collection as string | undefined,
      maps: maps.map((type) => ({ type })),
      output: absolute(values.output as string, process.cwd()),
      size: intFlag(values, 'size', { min: 8, max: 16384 }),
      margin: intFlag(values, 'margin', { min: 0, max: 256 }),
      samples: intFlag(values, 'samples', { min: 1, max: 65536 }),
      selectedToActive: sources
        ? {
            sources,
            cage: values.cage as string | undefined,
            extrusion: numberFlag(values, 'extrusion'),
            maxRayDistance: numberFlag(values, 'ray-distance'),
          }
        : undefined,
      instances,
      priority: values.priority as 'high' | 'normal' | 'low' | undefined,
    };
    const conn = await connectOrStart({
      oneJob: true,
      stateDir: values['state-dir'] as string | undefined,
      instances,
      blender: values.blender as string | undefined,
    });
    try {
      const mode = progressMode(values.json === true);
      const view = new ProgressView(mode, 'bake', 'objects');
      const { jobId } = await conn.client.call('bake.submit', params as never);
      const job = await followJob(conn.client, jobId, view);
      if (mode === 'json') process.stdout.write(`${JSON.stringify({ event: 'result', job })}\n`);
      else {
        for (const u of job.units) {
          const r = (u.result ?? {}) as { maps?: Array<{ type: string; output: string; width: number; height: number; coverage: number }> };
          if (u.state !== 'done') {
            process.stdout.write(`  ${u.label}: ${u.state}${u.error ? `: ${u.error}` : ''}\n`);
            continue;
          }
          for (const m of r.maps ?? []) {
            process.stdout.write(
              `  ${m.output}  ${m.width}x${m.height}  (${m.type}, ${Math.round(m.coverage * 100)}% of the pixels baked)\n`,
            );
          }
        }
      }
      if (job.state !== 'completed') {
        if (mode !== 'json') process.stderr.write(`error: the bake ${job.state}${job.error ? `: ${job.error}` : ''}\n`);
        return job.state === 'canceled' ? 130 : 1;
      }
      return 0;
    } finally {
      await conn.release();
    }
  },
};
