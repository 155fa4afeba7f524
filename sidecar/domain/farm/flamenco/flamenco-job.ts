/**
 * Our render request in Flamenco's terms and back: the `simple-blender-render` job built from render params, the
 * manager's job status mapped onto our job states, and its step counts onto our frame counts. Everything here but
 * `submitRender` is pure, so a request that cannot go to a farm is refused before any HTTP call.
 */
import { basename, dirname } from 'node:path';
import { InvalidInputError } from '../../errors.js';
import type { JobState, Priority } from '../../jobs/job.js';
import type { JobProgress } from '../../jobs/scheduler.js';
import { formatFrames } from '../../render/frame-range.js';
import { resolveOutputPattern } from '../../render/output-path.js';
import { normalizeImageFormat } from '../../render/render-request.js';
import { imageExtension } from '../../verify/image.js';
import { FarmError } from '../farm-error.js';
import type { FlamencoClient } from './flamenco-client.js';
import type { Job, JobStatus, SubmittedJob } from './flamenco-schemas.js';
import { settingsProblems } from './flamenco-settings.js';

/** The job type every Flamenco 3 manager ships, and the only one the sidecar submits. */
export const SIMPLE_BLENDER_RENDER = 'simple-blender-render';

/** What a farm render needs, resolved: the caller fills `frames` and `scene` from the request or the scene itself. */
export interface FarmRenderParams {
  /** Absolute path, on storage the farm's workers read at the same path (or through the manager's variables). */
  blendFile: string;
  /** The frame list (parseFrames of the request, or the scene's range). */
  frames: readonly number[];
  /** As render.submit takes it: a folder, or a pattern with # for the frame number; // is the blend file's folder. */
  output: string;
  /** Blender's file format name or a short alias (png, exr); video formats are refused. */
  format: string;
  /** The scene to render; the job type requires a name. */
  scene: string;
  priority?: Priority;
  /** Frames per Flamenco task. Default 1, as the job type's own default. */
  chunkSize?: number;
  /** The job's name on the farm. Default: the blend file's name. */
  name?: string;
  /** Strings shown with the job on the farm (e.g. the sidecar job id). */
  metadata?: Record<string, string>;
  /** Go's runtime.GOOS name of the submitting machine. Default: this machine's. */
  submitterPlatform?: string;
}

/**
 * Blender's movie formats (the job type itself refuses FFMPEG, AVI_RAW and AVI_JPEG) and the container names users
 * type for them; `simple-blender-render` renders image sequences only.
 */
const VIDEO_FORMATS = new Set(['FFMPEG', 'AVI_RAW', 'AVI_JPEG', 'MP4', 'MOV', 'MKV', 'AVI', 'WEBM']);

/** Our three priorities on Flamenco's 0..100 scale (its default is 50). */
const PRIORITY: Record<Priority, number> = { high: 75, normal: 50, low: 25 };

/**
 * render.submit params that simple-blender-render has no setting for. The job would run, but not as asked (another
 * camera, other samples, no memory limit), which is worse than a refusal: farm users know the "GPU settings silently
 * lost" kind of failure too well.
 */
const NOT_ON_FLAMENCO = [
  'camera',
  'engine',
  'samples',
  'resolutionPercent',
  'preRenderScript',
  'gn',
  'instances',
  'memoryLimitMB',
  'temporaryBlendFile',
  'cpuFallback',
] as const;

/** Throws InvalidInputError naming the first param in `NOT_ON_FLAMENCO` that is set (booleans: set means true). */
export function refuseUnmappable(params: Readonly<Record<string, unknown>>): void {
  const set = NOT_ON_FLAMENCO.filter((key) => params[key] !== undefined && params[key] !== false);
  if (set.length === 0) return;
  throw new InvalidInputError(
    set[0]!,
    `cannot be honored on a Flamenco farm (its simple-blender-render job type has no such setting); leave out ${set.join(', ')} or render on the local pool`,
    { fields: set },
  );
}

/** The SubmittedJob for `params`, without `type_etag` (submitRender adds the manager's). Pure: throws InvalidInputError. */
export function buildSubmittedJob(params: FarmRenderParams): SubmittedJob {
  const format = farmImageFormat(params.format);
  const frames = farmFrames(params.frames);
  const chunkSize = params.chunkSize ?? 1;
  if (!Number.isInteger(chunkSize) || chunkSize < 1)
    throw new InvalidInputError('chunkSize', `must be a whole number of frames, 1 or more (got ${chunkSize})`);
  // The exact pattern the local pool would write to. Flamenco's own layout (root/last dirs/job name/timestamp/######)
  // comes from the add-on evaluating `render_output_path` in Blender; we set that path ourselves, so the frames land
  // where render.submit promised, and add_path_components is 0 because the root is already the full folder.
  const pattern = resolveOutputPattern(params.output, params.blendFile);
  return {
    name: params.name ?? basename(params.blendFile).replace(/\.blend\d*$/i, ''),
    type: SIMPLE_BLENDER_RENDER,
    priority: PRIORITY[params.priority ?? 'normal'],
    submitter_platform: params.submitterPlatform ?? goos(process.platform),
    initial_status: 'queued',
    settings: {
      blendfile: params.blendFile,
      scene: params.scene,
      frames,
      chunk_size: chunkSize,
      render_output_root: dirname(pattern),
      add_path_components: 0,
      render_output_path: pattern,
      format,
      image_file_extension: imageExtension(format),
      // No `fps`: with it the job type adds an ffmpeg preview-video task that render.submit never asked for.
    },
    metadata: { ...params.metadata },
  };
}

function farmImageFormat(format: string): string {
  const upper = format.trim().toUpperCase();
  if (VIDEO_FORMATS.has(upper)) {
    throw new InvalidInputError(
      'format',
      `${format} is a video format, and Flamenco's simple-blender-render job type renders image sequences only; render PNG or OPEN_EXR frames and make the video from them`,
    );
  }
  return normalizeImageFormat(format);
}

function farmFrames(frames: readonly number[]): string {
  if (frames.length === 0) throw new InvalidInputError('frames', 'leaves no frames to render');
  // The job type turns "a-b" into Blender's "a..b" by replacing every '-', so a negative frame would be misread.
  const negative = frames.find((f) => f < 0);
  if (negative !== undefined)
    throw new InvalidInputError('frames', `frame ${negative} is negative, and Flamenco's frame ranges cannot hold negative frames`);
  return formatFrames([...frames].sort((a, b) => a - b));
}

/** Go's runtime.GOOS for Node's process.platform (the manager matches two-way variables on it). */
function goos(platform: NodeJS.Platform): string {
  if (platform === 'win32') return 'windows';
  if (platform === 'sunos') return 'solaris';
  return platform;
}

/**
 * Flamenco's job status as our job state. Only `completed`, `failed` and `canceled` end a job here; a manager can
 * requeue a finished job from its web UI, but the sidecar has stopped following it by then.
 *
 *   Flamenco status      our state   why
 *   under-construction   queued      the manager is still compiling the job into tasks
 *   queued               queued      waiting for a worker
 *   paused               queued      nothing runs, and it resumes when someone unpauses it on the farm
 *   requeueing           queued      its tasks are being put back in the queue
 *   active               running     at least one task is running
 *   pause-requested      running     tasks still run until the workers stop
 *   cancel-requested     running     tasks still run until the workers stop; `canceled` follows
 *   completed            completed
 *   failed               failed      a task failed on three workers (Flamenco's failure policy)
 *   canceled             canceled
 */
export const STATE_OF: Readonly<Record<JobStatus, JobState>> = {
  'under-construction': 'queued',
  queued: 'queued',
  paused: 'queued',
  requeueing: 'queued',
  active: 'running',
  'pause-requested': 'running',
  'cancel-requested': 'running',
  completed: 'completed',
  failed: 'failed',
  canceled: 'canceled',
};

export function mapState(status: JobStatus): JobState {
  return STATE_OF[status];
}

/** Progress as the sidecar reports it for a job, plus what the farm says it is doing. */
export interface FarmProgress extends Pick<JobProgress, 'state' | 'total' | 'done'> {
  /** The manager's own status ("pause-requested" says more than "running"). */
  farmStatus: JobStatus;
  /** The manager's description of the last activity on the job. */
  activity: string;
}

/**
 * The job's progress in frames. The manager counts steps, not frames, so with `frameCount` (the frames submitted) the
 * steps are scaled onto frames and `done` is an estimate; without it, steps are reported as they are.
 */
export function progressOf(job: Job, frameCount?: number): FarmProgress {
  const total = frameCount ?? job.steps_total;
  let done = job.steps_total > 0 ? Math.floor((job.steps_completed * total) / job.steps_total) : 0;
  if (job.status === 'completed') done = total;
  return { state: mapState(job.status), total, done: Math.min(Math.max(done, 0), total), farmStatus: job.status, activity: job.activity };
}

/**
 * The whole hand-off: build the job (refusing what a farm cannot do before any request), fetch the job type and its
 * etag, check that the settings fit the type, have the manager check the job, then submit it. Resolves with the job
 * as the manager stored it; throws InvalidInputError (before any request) or FarmError.
 */
export async function submitRender(client: FlamencoClient, params: FarmRenderParams): Promise<Job> {
  const job = buildSubmittedJob(params);
  const type = await client.jobType(SIMPLE_BLENDER_RENDER);
  const problems = settingsProblems(type, job.settings ?? {});
  if (problems.length > 0) {
    throw new FarmError(
      `the job type "${SIMPLE_BLENDER_RENDER}" on the Flamenco manager at ${client.url} does not take the jobs this sidecar builds: ${problems.join('; ')}`,
      'bad-input',
      { farm: 'flamenco', url: client.url, operation: 'fetch the job type', problems },
    );
  }
  const checked = await client.checkJob({ ...job, type_etag: type.etag });
  return client.submitJob(checked);
}
