/**
 * Dispatch: which job's unit goes to which idle worker, how many workers a job may have at once, and when the pool
 * grows (or gives up an idle worker of a Blender nobody waits for). Highest priority first; within a priority, a worker
 * that already has the job's file open is preferred, since opening a file costs seconds. It never judges results:
 * that is the attempt policy's.
 */
import { describeError } from '../errors.js';
import type { BlenderWorker, TaskOutcome } from '../workers/blender-worker.js';
import type { Placement } from '../workers/placement.js';
import type { WorkerPool } from '../workers/pool.js';
import { startableUnits } from './dependencies.js';
import { PRIORITY_ORDER, TERMINAL, type Attempt, type WorkUnit } from './job.js';
import type { LiveJob, Task } from './live-job.js';
import type { CrashLoopGuard } from './supervisor.js';

/** What dispatch asks of the scheduler it serves. */
export interface DispatchHost {
  /** The jobs being run now. */
  jobs(): Iterable<LiveJob>;
  /** A task went to a worker. */
  taskStarted(job: LiveJob, task: Task): void;
  /** A task ended: with the worker's answer, or rejected with why the worker did not answer (it died). */
  taskEnded(job: LiveJob, task: Task, result: TaskOutcome | unknown): void;
  /** Ends a job that cannot run, with the sentence that says why. */
  fail(job: LiveJob, error: string): void;
  /** The job's placement note changed: its progress should say so. */
  placementChanged(job: LiveJob): void;
  /** Dispatch again soon (a worker started, a backoff ended); does nothing once the scheduler is closed. */
  wake(): void;
}

export interface DispatchOptions {
  pool: WorkerPool;
  placement: Placement;
  /** No new worker starts while the pool rests after a crash loop. */
  crashLoop: CrashLoopGuard;
  log: (level: 'info' | 'error', message: string) => void;
  host: DispatchHost;
}

type Choice = 'plan' | WorkUnit;

export class Dispatcher {
  /** Workers being started, by Blender ('' for the pool's default). */
  private readonly starting = new Map<string, number>();
  private retryTimer: NodeJS.Timeout | undefined;
  private nextTaskId = 1;
  /** Why workers cannot start, if the last start failed (Blender missing). */
  startError: string | undefined;

  constructor(private readonly o: DispatchOptions) {}

  /** Gives every idle worker the best unit it can take, then starts the workers still wanted. */
  pump(): void {
    const jobs = this.orderedJobs();
    for (const w of this.o.pool.idle()) {
      const chosen = this.choose(jobs, w);
      if (chosen) this.start(chosen.job, chosen.what, w);
    }
    this.growIfNeeded(jobs);
  }

  /** Wakes dispatch when the earliest backoff ends (one timer: a later call replaces it). */
  wakeAt(at: number): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(
      () => {
        this.retryTimer = undefined;
        this.o.host.wake();
      },
      Math.max(0, at - Date.now()) + 5,
    );
    this.retryTimer.unref();
  }

  /** The Blender a job's workers run: chosen at submit; jobs from before routing existed run on the pool's default. */
  blenderOf(job: LiveJob): string {
    if (job.record.blender) return job.record.blender.path;
    try {
      return this.o.pool.defaultBlender();
    } catch {
      return '';
    }
  }

  private orderedJobs(): LiveJob[] {
    return [...this.o.host.jobs()].sort(
      (a, b) =>
        PRIORITY_ORDER[a.record.priority] - PRIORITY_ORDER[b.record.priority] || a.record.createdAt.localeCompare(b.record.createdAt),
    );
  }

  /** Highest priority first; within it, prefer the job whose file this worker already has open. */
  private choose(jobs: LiveJob[], w: BlenderWorker): { job: LiveJob; what: Choice } | undefined {
    let chosen: { job: LiveJob; what: Choice } | undefined;
    let tier: number | undefined;
    for (const job of jobs) {
      const p = PRIORITY_ORDER[job.record.priority];
      if (tier !== undefined && p > tier) break;
      const what = this.candidate(job, w);
      if (!what) continue;
      tier ??= p;
      const file = job.runner.fileOf(job.record);
      if (!chosen || (w.openJobKey === file.jobKey && w.openFile === file.blendFile)) {
        chosen = { job, what };
        if (w.openJobKey === file.jobKey) break;
      }
    }
    return chosen;
  }

  /** Gives worker `w` a unit of the job (a new attempt), or its planning task; the worker keeps the file open after. */
  private start(job: LiveJob, what: Choice, w: BlenderWorker) {
    const record = job.record;
    const unit = what === 'plan' ? null : what;
    const request = unit ? job.runner.task(record, unit, w.id) : job.runner.planTask(record);
    if (!request) return;
    const file = { ...job.runner.fileOf(record), ...request.file };
    const id = `t${this.nextTaskId++}`;
    const attempt: Attempt | undefined = unit
      ? { worker: w.id, pid: w.pid, blender: w.blenderVersion, startedAt: new Date().toISOString() }
      : undefined;
    const task: Task = { id, unit, request, worker: w, attempt, peakRssBytes: w.rssBytes };
    job.tasks.set(id, task);
    if (unit) {
      unit.state = 'running';
      unit.attempts.push(attempt!);
    } else {
      job.phase = 'planning';
      job.planAttempts += 1;
    }
    this.o.host.taskStarted(job, task);
    w.openFile = file.blendFile;
    w.openJobKey = file.jobKey;
    const payload = {
      ...request.payload,
      id,
      kind: String(request.payload.kind),
      blendFile: file.blendFile,
      jobKey: file.jobKey,
      gn: file.gn,
    };
    w.run(payload, { label: request.label, jobId: record.id, frame: request.frame }).then(
      (outcome) => this.o.host.taskEnded(job, task, outcome),
      (err: unknown) => this.o.host.taskEnded(job, task, err),
    );
  }

  /** A unit this job could give worker `w` now, or the planning task. */
  private candidate(job: LiveJob, w: BlenderWorker): Choice | undefined {
    if (TERMINAL.has(job.record.state)) return undefined;
    // Workers belong to one Blender: a job only takes workers of the Blender it was routed to.
    if (w.blender !== this.blenderOf(job)) return undefined;
    if (job.phase === 'waiting') return job.planExcluded.has(w.id) ? undefined : 'plan';
    if (job.phase !== 'running' || job.tasks.size >= this.workerCap(job)) return undefined;
    for (const unit of startableUnits(job)) {
      if (!job.excluded.get(unit.key)?.has(w.id)) return unit;
    }
    return undefined;
  }

  /**
   * How many workers a job may have at once: its instances limit, what fits in memory at the size its workers
   * measured (see Placement), and what its runner allows (a render whose scene sync is dear). Says so on the job when
   * memory or the runner is what holds it back.
   */
  private workerCap(job: LiveJob): number {
    const mine = new Set([...job.tasks.values()].map((t) => t.worker));
    let jobRss = 0;
    let otherRss = 0;
    for (const w of this.o.pool.list()) {
      if (w.state === 'exited') continue;
      if (mine.has(w)) jobRss += w.rssBytes;
      else otherRss += w.rssBytes;
    }
    const left = job.record.units.filter((u) => u.state === 'pending' || u.state === 'running').length;
    const wanted = Math.min(job.limits.instances, this.o.pool.size, Math.max(1, left));
    const memory = this.o.placement.fit({
      perWorkerBytes: job.peakRssBytes,
      jobWorkers: job.tasks.size,
      jobRssBytes: jobRss,
      otherRssBytes: otherRss,
      wanted,
    });
    const own = job.runner.workerCap?.(job.record, wanted);
    const fit = own && own.cap < memory.cap ? own : memory;
    // The note's numbers move with free memory; only a new cap is news worth a log line and a notification.
    const news = fit.cap !== job.memoryCap || !fit.note !== !job.memoryNote;
    job.memoryNote = fit.note;
    job.memoryCap = fit.cap;
    // Kept after the job: why it ran on fewer workers. A guess that a measured frame disproved (more than one worker
    // wanted, and memory held none back) no longer says why; near the end, with one frame left, the last note stands.
    if (fit.note) job.record.placement = fit.note;
    else if (wanted > 1) delete job.record.placement;
    if (news) {
      if (fit.note) this.o.log('info', `job ${job.record.id}: ${fit.note}`);
      this.o.host.placementChanged(job);
    }
    return fit.cap;
  }

  private growIfNeeded(jobs: LiveJob[]) {
    // Demand by Blender: each job wants workers of its own Blender; all Blenders share the pool's size.
    const demand = new Map<string, number>();
    const blocked = new Set<string>();
    for (const job of jobs) {
      if (TERMINAL.has(job.record.state)) continue;
      const blender = this.blenderOf(job);
      // A job still opening its file will want its workers in a moment: start them now, they take seconds to boot.
      if (job.phase !== 'running') {
        demand.set(blender, (demand.get(blender) ?? 0) + job.limits.instances - (job.phase === 'planning' ? 1 : 0));
        continue;
      }
      const room = this.workerCap(job) - job.tasks.size;
      const pending = [...startableUnits(job)];
      demand.set(blender, (demand.get(blender) ?? 0) + Math.min(room, pending.length));
      if (pending.length > 0 && room > 0 && pending.every((u) => (job.excluded.get(u.key)?.size ?? 0) > 0)) blocked.add(blender);
    }
    if (this.o.crashLoop.resting) return;
    for (const [blender, wanted] of demand) this.growFor(blender, wanted, demand, blocked.has(blender));
  }

  /** Starts workers of one Blender for `demand` more units, making room by ending idle workers of Blenders nobody waits for. */
  private growFor(blender: string, demand: number, allDemand: Map<string, number>, blockedByExclusion: boolean) {
    const pool = this.o.pool;
    const idle = blender ? pool.idle(blender).length : 0;
    let wanted = demand - idle - (this.starting.get(blender) ?? 0);
    while (wanted > 0) {
      // pool.count already holds the workers still starting (a worker joins the pool as it is spawned): adding
      // `starting` again made a cold start boot its workers one after another.
      if (pool.count >= pool.size) {
        this.makeRoomFor(blender, allDemand);
        break;
      }
      wanted -= 1;
      this.startWorker(blender);
    }
    // Every pending unit is barred from every idle worker (each already failed there) and the pool is full:
    // replace one idle worker with a fresh one, which no unit has failed on.
    if (blockedByExclusion && demand > 0 && !(this.starting.get(blender) ?? 0) && pool.count >= pool.size && idle > 0) {
      const w = pool.idle(blender)[0]!;
      this.o.log('info', `replacing worker ${w.id}: the remaining frames already failed on it`);
      pool.retire(w, 'recycled');
    }
  }

  /** The pool is full: an idle worker of a Blender no job waits for gives way (one at a time: it counts until it has exited). */
  private makeRoomFor(blender: string, allDemand: Map<string, number>) {
    const pool = this.o.pool;
    if (pool.list().some((w) => w.state === 'stopping')) return;
    const spare = pool.idle().find((w) => w.blender !== blender && !(allDemand.get(w.blender)! > 0));
    if (!spare) return;
    this.o.log('info', `ending idle worker ${spare.id} (${spare.blender}) to make room for a worker of ${blender}`);
    pool.retire(spare, 'retired');
  }

  private startWorker(blender: string) {
    this.starting.set(blender, (this.starting.get(blender) ?? 0) + 1);
    this.o.pool
      .grow(blender || undefined)
      .then(() => {
        this.startError = undefined;
      })
      .catch((err: unknown) => this.workerFailedToStart(err, blender))
      .finally(() => {
        this.starting.set(blender, (this.starting.get(blender) ?? 1) - 1);
        this.o.host.wake();
      });
  }

  private workerFailedToStart(err: unknown, blender: string) {
    const message = describeError(err);
    this.o.log('error', `a Blender worker could not start: ${message}`);
    this.startError = message;
    // Without any working worker of that Blender its jobs cannot run: fail what waits for it, rather than start a
    // broken Blender forever (workers still starting do not count: they are as likely to fail). Other Blenders go on.
    if (!this.o.pool.list().some((w) => w.blender === blender && (w.state === 'idle' || w.state === 'busy'))) {
      for (const job of [...this.o.host.jobs()]) {
        if (job.tasks.size === 0 && this.blenderOf(job) === blender) this.o.host.fail(job, `no Blender worker could start: ${message}`);
      }
    }
  }
}
