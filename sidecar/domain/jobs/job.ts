/**
 * A job as the sidecar keeps it and as clients see it (job.get): what was asked, where it stands, and what happened to
 * each unit of work (a frame of a render, an item of an export), attempt by attempt.
 */
export type JobKind = 'render' | 'export' | 'pipeline' | 'bake' | 'simulation';
export type JobState = 'queued' | 'running' | 'completed' | 'failed' | 'canceled';
export type Priority = 'high' | 'normal' | 'low';
export const PRIORITY_ORDER: Record<Priority, number> = { high: 0, normal: 1, low: 2 };
export const TERMINAL: ReadonlySet<JobState> = new Set(['completed', 'failed', 'canceled']);

export type UnitState = 'pending' | 'running' | 'done' | 'skipped' | 'failed';

/** How an attempt ended; the failure classes decide whether a retry can help. */
export type AttemptOutcome =
  | 'done'
  | 'crashed'
  | 'segfault'
  | 'out-of-memory'
  | 'gpu-out-of-memory'
  | 'hung'
  | 'memory'
  | 'missing-file'
  | 'cannot-open'
  | 'python-error'
  | 'input-error'
  | 'bad-output'
  | 'canceled'
  | 'lost';

export interface Attempt {
  worker: string;
  pid: number;
  /** The version of the Blender that ran this attempt ("4.3.2"). */
  blender?: string;
  startedAt: string;
  endedAt?: string;
  outcome?: AttemptOutcome;
  reason?: string;
  /** Seconds from the attempt's start to its first render sample: opening the file and syncing the scene. */
  syncSeconds?: number;
}

export interface WorkUnit {
  /** A frame number for renders, an item index for exports. */
  key: number;
  label: string;
  state: UnitState;
  attempts: Attempt[];
  /** Where the output went (final path). */
  output?: string;
  seconds?: number;
  error?: string;
  /** Kind-specific result (an export's counts and summary). */
  result?: Record<string, unknown>;
  /** A retry waits until then (backoff after a transient failure). */
  retryAt?: string;
  /** Render this unit on the CPU (after the GPU ran out of memory). */
  forceCpu?: boolean;
  /**
   * Units (by key) that must be done before this one starts. When one of them fails or is skipped, this unit is
   * skipped too, with `error` naming the unit that failed.
   */
  dependsOn?: number[];
  /** The pipeline node this unit runs (pipeline jobs). */
  node?: string;
}

/** Where a group of units stands (a pipeline node's): for a client to show on the node. */
export interface NodeProgress {
  state: 'waiting' | 'running' | 'done' | 'partial' | 'failed' | 'skipped' | 'canceled';
  total: number;
  done: number;
  running: number;
  failed: number;
  skipped: number;
  /** Checks that warned (validate nodes). */
  warnings?: number;
  /** One line for the node: why it failed or was skipped, or what it warned about. */
  message?: string;
}

export interface JobRecord {
  id: string;
  kind: JobKind;
  state: JobState;
  priority: Priority;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  /** The validated request, as the job runner needs it. */
  params: Record<string, unknown>;
  units: WorkUnit[];
  /** What the job learned while planning (scene settings, resolved output pattern). */
  plan?: Record<string, unknown>;
  /** One sentence when failed or canceled. */
  error?: string;
  /** Kind-specific summary when finished. */
  result?: Record<string, unknown>;
  /** Time spent saving a temporary copy in Blender before submitting (reported by the add-on). */
  saveCopySeconds?: number;
  /** The Blender the job's workers run, chosen at submit from the file's version (or the job's pin). */
  blender?: { path: string; version: string; why: string };
  /** The blend file as its header says: the version of Blender that saved it, and its compression. */
  blend?: { version?: string; compression?: string };
  /**
   * Why the job runs on fewer workers than it could: memory ("1 of 4 workers: 11.8 GB each, ..."), or a scene whose
   * sync costs more than another worker would save.
   */
  placement?: string;
}

/** What a submit method decided about a new job: everything else a new job record has is the same for every kind. */
export interface NewJob {
  priority: Priority;
  /** The validated request, as the job's runner reads it. */
  params: Record<string, unknown>;
  saveCopySeconds?: number;
  blender?: JobRecord['blender'];
  blend?: JobRecord['blend'];
}

/**
 * A job record as every submit method creates it: a fresh id, queued, created now, no units yet (the scheduler plans
 * them). The one place a JobRecord is born, so a field every job has is added once.
 */
export function newJob(kind: JobKind, job: NewJob): JobRecord {
  return {
    id: newJobId(),
    kind,
    state: 'queued',
    priority: job.priority,
    createdAt: new Date().toISOString(),
    params: job.params,
    units: [],
    ...(job.saveCopySeconds !== undefined ? { saveCopySeconds: job.saveCopySeconds } : {}),
    ...(job.blender ? { blender: job.blender } : {}),
    ...(job.blend ? { blend: job.blend } : {}),
  };
}

function newJobId(): string {
  const rand = Math.random().toString(36).slice(2, 6);
  return `j-${Date.now().toString(36)}${rand}`;
}

export function countUnits(job: JobRecord) {
  const c = { total: job.units.length, done: 0, skipped: 0, failed: 0, running: 0, pending: 0 };
  for (const u of job.units) c[u.state] += 1;
  return c;
}
