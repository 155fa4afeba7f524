import { resolve } from 'node:path';
import { BLENDER_OPTION, connectOrStart, embeddedBlender } from '../connect.js';
import { followJob } from '../follow.js';
import { ProgressView, progressMode } from '../progress.js';
import { intFlag, UsageError, type Command } from '../command.js';
import { ENGINE_CHOICES } from '../../domain/render/engines.js';
import { parseInstances } from './serve.js';

export const renderCommand: Command = {
  name: 'render',
  summary: 'Render frames of a .blend on the worker pool, with live progress. Uses the running sidecar, or starts one for the call.',
  usage: 'render FILE --output DIR|PATTERN [--frames 1-24] [--instances N] [--movie OUT.mp4] [--json]',
  options: {
    frames: {
      type: 'string',
      valueName: 'LIST',
      description: 'Frames: "1-24", "1-10,20,30-40x2", "^5" leaves 5 out (default: the scene\'s range).',
    },
    output: { type: 'string', short: 'o', valueName: 'PATH', description: 'A folder, or a path with # for the frame number (required).' },
    instances: { type: 'string', valueName: 'N', description: 'Workers for this job (and the pool size of an embedded sidecar).' },
    scene: { type: 'string', valueName: 'NAME', description: 'Scene to render (default: the active one).' },
    camera: { type: 'string', valueName: 'NAME', description: 'Camera to render through.' },
    format: { type: 'string', valueName: 'FMT', description: "Image format: PNG, JPEG, OPEN_EXR, TIFF, ... (default: the scene's)." },
    engine: { type: 'string', valueName: 'NAME', description: `${ENGINE_CHOICES} (default: the scene's).` },
    samples: { type: 'string', valueName: 'N', description: 'Render samples.' },
    'resolution-percent': { type: 'string', valueName: 'P', description: 'Resolution scale in percent.' },
    overwrite: { type: 'boolean', description: 'Render frames that already exist (default: skip them).' },
    'no-persistent-data': {
      type: 'boolean',
      description: "Sync the scene anew every frame (default: Cycles keeps it between a worker's frames).",
    },
    priority: { type: 'string', valueName: 'P', description: 'high, normal (default) or low.' },
    'timeout-s': { type: 'string', valueName: 'S', description: 'A worker silent this long is hung (default 600).' },
    'max-retries': { type: 'string', valueName: 'N', description: 'Retries per frame after a crash or hang (default 2).' },
    'memory-limit-mb': { type: 'string', valueName: 'MB', description: 'Kill a worker over this much memory.' },
    farm: {
      type: 'string',
      valueName: 'slurm|URL|default',
      description:
        'Render on a farm instead of the local pool: "slurm" (the Slurm cluster of the sidecar\'s machine, with its --slurm-* defaults), or the Flamenco manager at URL ("default": the sidecar\'s --flamenco-url). Needs --frames (and --scene for Flamenco).',
    },
    'chunk-size': { type: 'string', valueName: 'N', description: 'Farm jobs: frames per farm task.' },
    partition: {
      type: 'string',
      valueName: 'NAME',
      description: "Slurm jobs: the partition (default: the sidecar's --slurm-partition, else the cluster's).",
    },
    movie: {
      type: 'string',
      valueName: 'PATH',
      description: "Also encode the frames into a preview movie (.mp4, .mov or .mkv) with Blender's own FFmpeg.",
    },
    'movie-fps': { type: 'string', valueName: 'FPS', description: "The movie's frame rate (default: the scene's)." },
    'movie-codec': { type: 'string', valueName: 'CODEC', description: 'h264 (default) or mpeg4.' },
    json: {
      type: 'boolean',
      description: 'Print progress and the result as JSON lines (each progress event names the last frame and its preview).',
    },
    'state-dir': { type: 'string', valueName: 'DIR', description: "The sidecar's state folder." },
    blender: BLENDER_OPTION,
  },
  epilog:
    'Examples:\n  blender-sidecar render shot.blend --frames 1-24 --output renders/\n  blender-sidecar render shot.blend --frames 1-24 --output renders/ --movie renders/preview.mp4\n  blender-sidecar render shot.blend --frames 1-240x2 --output "renders/shot_####.exr" --format OPEN_EXR --json',
  async run({ values, positionals }) {
    const [file] = positionals;
    if (!file) throw new UsageError('name the .blend file to render');
    if (positionals.length > 1) throw new UsageError(`one file at a time (got ${positionals.length})`);
    if (!values.output) throw new UsageError('--output is required (a folder, or a path with # for the frame number)');
    const output = values.output as string;
    const instances = intFlag(values, 'instances', { min: 1, max: 64 });
    const params = {
      blendFile: resolve(file),
      output: output.startsWith('//') ? output : resolve(output) + (/[\\/]$/.test(output) ? '/' : ''),
      frames: values.frames as string | undefined,
      scene: values.scene as string | undefined,
      camera: values.camera as string | undefined,
      format: values.format as string | undefined,
      engine: values.engine as string | undefined,
      samples: intFlag(values, 'samples', { min: 1 }),
      resolutionPercent: intFlag(values, 'resolution-percent', { min: 1, max: 1000 }),
      instances,
      overwrite: values.overwrite === true,
      persistentData: values['no-persistent-data'] !== true,
      priority: values.priority as 'high' | 'normal' | 'low' | undefined,
      timeoutS: intFlag(values, 'timeout-s', { min: 1 }),
      maxRetries: intFlag(values, 'max-retries', { min: 0, max: 20 }),
      memoryLimitMB: intFlag(values, 'memory-limit-mb', { min: 64 }),
      movie: movieFlags(values),
      blender: values.blender as string | undefined,
      farm: farmOf(values),
    };
    const conn = await connectOrStart({
      oneJob: true,
      stateDir: values['state-dir'] as string | undefined,
      instances: instances ?? parseInstances(undefined),
      blender: embeddedBlender(values.blender),
    });
    try {
      const mode = progressMode(values.json === true);
      const view = new ProgressView(mode, 'render', 'frames');
      if (mode !== 'json')
        view.message(
          `rendering ${params.blendFile}${conn.embedded ? ' (on a sidecar started for this command)' : ` (on the sidecar at ${conn.client.url})`}`,
        );
      const { jobId } = await conn.client.call('render.submit', params);
      const job = await followJob(conn.client, jobId, view);
      if (mode === 'json') process.stdout.write(`${JSON.stringify({ event: 'result', job })}\n`);
      else if (job.state === 'completed') {
        const r = job.result as { rendered?: number; skipped?: number; outputPattern?: string };
        process.stdout.write(
          `done: ${r.rendered} frames rendered, ${r.skipped} skipped, in ${r.outputPattern?.replace(/\/[^/]*$/, '/')}\n`,
        );
        const movie = (job.result as { movie?: { path?: string; frames?: number; width?: number; height?: number } }).movie;
        if (movie?.path) process.stdout.write(`movie: ${movie.path} (${movie.frames} frames, ${movie.width}x${movie.height})\n`);
      }
      if (job.state !== 'completed') {
        if (mode !== 'json') process.stderr.write(`error: the render ${job.state}${job.error ? `: ${job.error}` : ''}\n`);
        return job.state === 'canceled' ? 130 : 1;
      }
      return 0;
    } finally {
      await conn.release();
    }
  },
};

/** --farm slurm|URL|default with --chunk-size and --partition, as render.submit's `farm` field. */
function farmOf(values: Record<string, unknown>) {
  const farm = values.farm as string | undefined;
  const chunkSize = intFlag(values, 'chunk-size', { min: 1, max: 10_000 });
  if (farm === undefined) {
    if (chunkSize !== undefined || values.partition !== undefined)
      throw new UsageError('--chunk-size and --partition are for farm jobs: add --farm slurm (or --farm URL)');
    return undefined;
  }
  if (farm === 'slurm') return { kind: 'slurm' as const, chunkSize, partition: values.partition as string | undefined };
  if (values.partition !== undefined) throw new UsageError('--partition is for --farm slurm; a Flamenco manager has no partitions');
  return { kind: 'flamenco' as const, chunkSize, ...(farm === 'default' ? {} : { url: farm }) };
}

/** --movie and its options, as render.submit's `movie`; the sidecar checks the values and names what is wrong. */
function movieFlags(values: Record<string, unknown>) {
  const output = values.movie as string | undefined;
  if (output === undefined) {
    if (values['movie-fps'] !== undefined || values['movie-codec'] !== undefined)
      throw new UsageError('--movie-fps and --movie-codec go with --movie PATH');
    return undefined;
  }
  let fps: number | undefined;
  if (values['movie-fps'] !== undefined) {
    fps = Number(values['movie-fps']);
    if (!Number.isFinite(fps) || fps <= 0)
      throw new UsageError(`--movie-fps must be a positive number, not "${String(values['movie-fps'])}"`);
  }
  return {
    output: output.startsWith('//') ? output : resolve(output),
    ...(fps !== undefined ? { fps } : {}),
    ...(values['movie-codec'] !== undefined ? { codec: values['movie-codec'] as 'h264' | 'mpeg4' } : {}),
  };
}
