/**
 * The one interface a render farm module implements. The scheduler and the render.submit handler only ever talk to a
 * `Farm` (through `FarmExecutor`, which picks the module by the job's `farm.kind`), so a third farm (Deadline,
 * OpenCue) is one more module beside `flamenco/` and `slurm/`, not edits across the scheduler.
 *
 * A farm job looks like any render job to clients: one unit per frame, the same states, `job.progress`, `job.cancel`.
 */
import type { JobRecord } from '../jobs/job.js';
import type { LiveProgress } from '../jobs/progress.js';

/** What the scheduler lets a farm do to a job it owns. */
export interface ExternalJobHost {
  /** The farm started running the job (first task running). */
  started(): void;
  /**
   * Progress in frames. `done` marks the first `done` units done (a farm that only counts, like Flamenco); a farm
   * that keeps per-frame books itself (Slurm) sets `record.units` and passes no number: the job is saved and its
   * progress sent as it stands.
   */
  progress(done?: number, activity?: string): void;
  finish(state: 'completed' | 'failed' | 'canceled', error?: string): void;
}

export interface FarmOptions {
  /** How often a farm job is polled (default 2 s). */
  pollMs?: number;
  log: (level: 'info' | 'warn', message: string) => void;
}

export interface Farm {
  /** The `farm.kind` of render.submit this module takes, and `plan.farm` of the jobs it submitted. */
  readonly kind: string;
  /**
   * Checks the request and submits it to the farm; fills the job's units (one per frame) and `plan` (which must carry
   * `farm: kind` and `farmJobId`, and everything `follow` needs after a restart). Throws, before the job is queued,
   * when the request cannot go to this farm or the farm refuses it.
   */
  submit(record: JobRecord): Promise<void>;
  /** Follows a submitted job (also one restored after a restart, from its plan) until it ends; reports to `host`. */
  follow(record: JobRecord, host: ExternalJobHost): void;
  /** Asks the farm to cancel the job; the scheduler has already marked it canceled. */
  cancel(record: JobRecord, reason: string): Promise<void>;
  /** What only a followed job knows for its progress (finish times for the rate and ETA, running tasks). */
  live?(record: JobRecord): LiveProgress | undefined;
  /** Stops following every job and leaves them running on the farm (the sidecar is shutting down). */
  stopAll(): void;
}
