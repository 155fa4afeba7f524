/**
 * Follows one job on a Flamenco manager by polling it, and reports its state and progress in our terms until it ends.
 * Flamenco pushes updates over Socket.IO too, but polling needs no second protocol, survives a manager restart, and
 * a job's progress changes on the scale of seconds.
 */
import { TERMINAL } from '../../jobs/job.js';
import { FarmError } from '../farm-error.js';
import type { FlamencoClient } from './flamenco-client.js';
import { type FarmProgress, progressOf } from './flamenco-job.js';

export interface FollowOptions {
  /** Time between polls. Default 2000 ms. */
  intervalMs?: number;
  /** The number of frames submitted, so that progress counts frames (see `progressOf`). */
  frameCount?: number;
  /** Polls in a row that may find the manager away (unreachable, 5xx) before following fails. Default 5. */
  maxMissedPolls?: number;
  /** Called with the first progress, then whenever state, done, total, farm status or activity change. */
  onUpdate?: (progress: FollowedProgress) => void;
  /** Waits `ms`, or returns early when `signal` aborts (a cancel wakes the poller). Tests pass a manual clock. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

export interface FollowedProgress extends FarmProgress {
  /** One sentence, when the job failed or was canceled: what the farm said, for the job's `error`. */
  error?: string;
}

export class FlamencoFollower {
  private readonly intervalMs: number;
  private readonly maxMissedPolls: number;
  private readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  private lastProgress: FollowedProgress | undefined;
  private wake = new AbortController();
  private stopped = false;
  private following = false;
  private cancelReason: string | undefined;

  constructor(
    readonly client: FlamencoClient,
    /** The manager's job id (`Job.id` from submit). */
    readonly jobId: string,
    private readonly options: FollowOptions = {},
  ) {
    this.intervalMs = options.intervalMs ?? 2000;
    this.maxMissedPolls = options.maxMissedPolls ?? 5;
    this.sleep = options.sleep ?? sleep;
  }

  /** The progress of the last poll that found the job. */
  get last(): FollowedProgress | undefined {
    return this.lastProgress;
  }

  /**
   * Polls now and every `intervalMs` until the job is completed, failed or canceled, and resolves with that last
   * progress (or with the latest one when `stop()` ends it early; undefined if no poll got through). Rejects with a
   * FarmError when the job is gone from the manager, or the manager stayed away for more than `maxMissedPolls` polls.
   * Call it once.
   */
  async follow(): Promise<FollowedProgress | undefined> {
    if (this.following) throw new Error('FlamencoFollower.follow() runs once per follower');
    this.following = true;
    let missed = 0;
    while (!this.stopped) {
      const job = await this.client.getJob(this.jobId).catch((err: unknown) => {
        const away = err instanceof FarmError && err.kind === 'unavailable';
        if (!away || ++missed > this.maxMissedPolls) throw err;
        return undefined;
      });
      if (job) {
        missed = 0;
        const progress = this.describe(progressOf(job, this.options.frameCount));
        if (changed(this.lastProgress, progress)) {
          this.lastProgress = progress;
          this.options.onUpdate?.(progress);
        }
        if (TERMINAL.has(progress.state)) return progress;
      }
      if (this.stopped) break;
      // A cancel during the poll above has already aborted `wake`, so this returns at once and the next poll runs.
      await this.sleep(this.intervalMs, this.wake.signal);
      this.wake = new AbortController();
    }
    return this.lastProgress;
  }

  /**
   * Asks the manager to cancel the job and polls at once. The job is canceled for us when the manager says
   * `canceled`, which `follow()` then reports; a job that has already finished makes this throw InvalidState.
   */
  async cancel(reason: string): Promise<void> {
    await this.client.cancelJob(this.jobId, reason);
    this.cancelReason = reason;
    this.pollSoon();
  }

  /** Stops polling and leaves the job on the farm as it is (the sidecar is shutting down, say). */
  stop(): void {
    this.stopped = true;
    this.pollSoon();
  }

  private pollSoon(): void {
    this.wake.abort();
  }

  private describe(progress: FarmProgress): FollowedProgress {
    const where = `on the Flamenco manager at ${this.client.url}`;
    const said = progress.activity ? ` (${progress.activity})` : '';
    if (progress.state === 'failed') return { ...progress, error: `the job failed ${where}${said}` };
    if (progress.state === 'canceled') {
      return {
        ...progress,
        error: this.cancelReason === undefined ? `the job was canceled ${where}${said}` : `canceled: ${this.cancelReason}`,
      };
    }
    return progress;
  }
}

function changed(before: FarmProgress | undefined, after: FarmProgress): boolean {
  return (
    !before ||
    before.state !== after.state ||
    before.done !== after.done ||
    before.total !== after.total ||
    before.farmStatus !== after.farmStatus ||
    before.activity !== after.activity
  );
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
