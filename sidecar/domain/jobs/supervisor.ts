/**
 * Watching running tasks and the pool's health: a worker silent for its job's timeoutS is hung and killed; one past
 * its memoryLimitMB is killed (and one near it raises a warning); workers that die on their own several times within
 * a window make the pool rest, so a broken scene or Blender does not burn the machine in a start-crash loop.
 */
import type { AlertCenter } from '../alerts/alerts.js';
import type { BlenderWorker } from '../workers/blender-worker.js';
import type { LiveJob } from './live-job.js';

export interface WatchedTask {
  worker: BlenderWorker;
  label: string;
  jobId: string;
  timeoutS: number;
  memoryLimitMB?: number;
}

/**
 * Supervises every task of the running jobs: notes the highest memory each task's worker reached (what placement
 * plans from once the task's unit is done), then kills or warns as superviseTasks does.
 */
export function superviseJobs(jobs: Iterable<LiveJob>, alerts: AlertCenter | undefined, memoryWarnShare?: number): void {
  const tasks: WatchedTask[] = [];
  for (const job of jobs) {
    for (const t of job.tasks.values()) {
      t.peakRssBytes = Math.max(t.peakRssBytes, t.worker.rssBytes);
      tasks.push({
        worker: t.worker,
        label: t.request.label,
        jobId: job.record.id,
        timeoutS: job.limits.timeoutS,
        memoryLimitMB: job.limits.memoryLimitMB,
      });
    }
  }
  superviseTasks(tasks, alerts, memoryWarnShare);
}

/** Kills hung workers and workers over their memory limit; warns about those near it. Runs every tick. */
function superviseTasks(tasks: Iterable<WatchedTask>, alerts: AlertCenter | undefined, memoryWarnShare = 0.8): void {
  const now = Date.now();
  for (const t of tasks) {
    const w = t.worker;
    if (w.state !== 'busy') continue;
    if (now - w.lastOutputAt > t.timeoutS * 1000) {
      w.kill('hung', `${t.label}: no output for ${t.timeoutS} s`);
      continue;
    }
    const limit = t.memoryLimitMB;
    if (!limit) continue;
    const limitBytes = limit * 1024 * 1024;
    if (w.rssBytes > limitBytes) {
      w.kill(
        'memory',
        `${t.label} exceeded memoryLimitMB ${limit}: Blender (worker ${w.id}) reached ${Math.round(w.rssBytes / 2 ** 20)} MB`,
      );
    } else if (w.rssBytes > memoryWarnShare * limitBytes && !alerts?.isOpen(`memory-near:${w.id}`)) {
      alerts?.raise({
        key: `memory-near:${w.id}`,
        level: 'WARN',
        what: `worker ${w.id} uses ${Math.round(w.rssBytes / 2 ** 20)} MB, near its job's memoryLimitMB ${limit}`,
        where: `${t.label} of job ${t.jobId}`,
        action: 'it will be killed if it passes the limit; raise memoryLimitMB if the frame needs it',
      });
    }
  }
}

export interface CrashLoopOptions {
  count?: number;
  windowMs?: number;
  restMs?: number;
}

export class CrashLoopGuard {
  private readonly crashTimes: number[] = [];
  /** No new worker starts before this time (ms since the epoch). */
  restingUntil = 0;

  constructor(
    private readonly options: CrashLoopOptions,
    private readonly alerts: AlertCenter | undefined,
    private readonly log: (message: string) => void,
    /** Called when a rest ends, so waiting work can start again. */
    private readonly onRested: () => void,
  ) {}

  get resting(): boolean {
    return Date.now() < this.restingUntil;
  }

  /** A worker died on its own; `reason` names how, for the alert. */
  noteCrash(reason: string): void {
    const now = Date.now();
    const windowMs = this.options.windowMs ?? 60_000;
    const count = this.options.count ?? 3;
    this.crashTimes.push(now);
    while (this.crashTimes.length && this.crashTimes[0]! < now - windowMs) this.crashTimes.shift();
    if (this.crashTimes.length < count) return;
    this.rest(`Blender workers crashed ${count} times within ${Math.round(windowMs / 1000)} s (last: ${reason})`);
  }

  /** Rests the pool now: `what` says why (a crash loop, or a Blender that every file kills). */
  rest(what: string): void {
    const restMs = this.options.restMs ?? 30_000;
    this.restingUntil = Date.now() + restMs;
    this.crashTimes.length = 0;
    this.log(`${what}; resting the pool for ${restMs / 1000} s`);
    this.alerts?.raise({
      key: 'worker-crash-loop',
      level: 'WARN',
      what,
      where: 'worker pool',
      action: `no new worker starts for ${Math.round(restMs / 1000)} s; check the scene at the frame named, the Blender build and the machine's memory`,
    });
    const wake = setTimeout(() => {
      this.alerts?.resolve('worker-crash-loop');
      this.onRested();
    }, restMs + 10);
    wake.unref();
  }
}
