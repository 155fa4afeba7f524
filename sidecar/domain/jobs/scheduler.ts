/**
 * The scheduler: it admits jobs, plans them, hands their units to idle workers (highest priority first, a worker with
 * the job's file already open preferred, at most `instances` at once per job), checks every result, retries what can
 * succeed elsewhere (never twice on the same worker), and supervises running tasks (hung: no output for timeoutS;
 * memory: RSS over memoryLimitMB). Jobs are persisted on every change, and resumed after a restart.
 */
import { describeError, ErrorCode, InvalidStateError, NotFoundError, SidecarError } from '../../errors.js';
import type { BlenderWorker, TaskOutcome } from '../workers/blender-worker.js';
import { WorkerDiedError } from '../workers/blender-worker.js';
import type { WorkerPool } from '../workers/pool.js';
import { PRIORITY_ORDER, TERMINAL, type Attempt, type AttemptOutcome, type JobRecord, type JobState, type WorkUnit } from './job.js';
import type { JobStore } from './job-store.js';
import type { JobLimits, JobRunner, TaskRequest } from './runner.js';
import { jobProgress, type JobProgress } from './progress.js';

import { parseSamples, type SampleProgress } from '../render/render-stats.js';
import { Placement } from '../workers/placement.js';
export type { JobProgress, RunningUnit } from './progress.js';
import type { AlertCenter } from '../alerts/alerts.js';
import { backoffSeconds, classifyDeath, classifyTaskError, type Classification } from './classify.js';
import { CrashLoopGuard, superviseTasks } from './supervisor.js';
import type { ExternalJobHost, FarmExecutor } from '../farm/farm-executor.js';
import { blendVersionNumber } from '../blender/blend-header.js';

/** Outcomes of a worker that died on its own while on a unit: twice on one unit, and the file is the cause. */
const CRASHES: ReadonlySet<string> = new Set(['segfault', 'crashed']);

export interface SchedulerEvents {
  state(job: JobRecord, previous: JobState): void;
  progress(job: JobRecord, progress: JobProgress): void;
  unitFinished(job: JobRecord, unit: WorkUnit, outcome: AttemptOutcome, seconds: number): void;
}

interface Task {
  id: string;
  unit: WorkUnit | null; // null: the planning task
  request: TaskRequest;
  worker: BlenderWorker;
  attempt: Attempt | undefined;
  /** The frame's samples so far (render tasks), and the listener that reads them from the worker's output. */
  samples?: SampleProgress;
  stopWatching?: () => void;
  /** The highest resident memory its worker reached while on it (sampled by the supervisor). */
  peakRssBytes: number;
}

interface LiveJob {
  record: JobRecord;
  runner: JobRunner;
  limits: JobLimits;
  phase: 'waiting' | 'planning' | 'running';
  planAttempts: number;
  planExcluded: Set<string>;
  excluded: Map<number, Set<string>>;
  tasks: Map<string, Task>;
  /** Crashes not yet counted towards the crash-loop rest, by unit key: the file may be the cause (counted if a retry works). */
  heldCrashes: Map<number, string>;
  /** Workers that died while this job's planning task opened the file (not killed by the sidecar). */
  planCrashes: string[];
  finishTimes: number[];
  last?: JobProgress['last'];
  progressQueued: boolean;
  /** When samples last moved the job's progress: they come many times a second, notifications at most twice. */
  samplesEmittedAt?: number;
  /** The highest memory one of its workers reached on a frame that finished: what one more worker would need. */
  peakRssBytes?: number;
  /** The workers memory allows it now, and why when that is fewer than it could use. */
  memoryCap?: number;
  memoryNote?: string;
}

const SUPERVISE_MS = 250;
const SAMPLES_EMIT_MS = 500;

export interface SchedulerOptions {
  /** Worker deaths within `crashLoopWindowMs` that make the pool rest (default 3 in 60 s). */
  crashLoopCount?: number;
  crashLoopWindowMs?: number;
  /** How long no new worker is started after a crash loop (default 30 s). */
  crashLoopRestMs?: number;
  /** Warn when a worker's memory passes this share of its job's memoryLimitMB (default 0.8). */
  memoryWarnShare?: number;
  /** Runs render jobs that name a farm. */
  farm?: FarmExecutor;
  /** Threads per task and workers per job by memory (default: the machine's cores and free memory, no budget). */
  placement?: Placement;
}

export class Scheduler {
  private readonly all = new Map<string, JobRecord>();
  private readonly live = new Map<string, LiveJob>();
  private readonly waiters = new Map<string, Set<() => void>>();
  private readonly runners = new Map<string, JobRunner>();
  private nextTaskId = 1;
  /** Workers being started, by Blender ('' for the pool's default). */
  private readonly starting = new Map<string, number>();
  /** Files that killed Blender in a row, by Blender, with no task succeeding on it between: "crashes on every file". */
  private readonly fileCrashStreak = new Map<string, number>();
  private closed = false;
  private readonly supervisor: NodeJS.Timeout;
  private startError: string | undefined;
  private readonly crashLoop: CrashLoopGuard;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly placement: Placement;

  constructor(
    private readonly pool: WorkerPool,
    private readonly store: JobStore,
    private readonly events: SchedulerEvents,
    private readonly log: (level: 'info' | 'warn' | 'debug' | 'error', message: string) => void,
    runners: JobRunner[],
    private readonly alerts?: AlertCenter,
    private readonly options: SchedulerOptions = {},
  ) {
    for (const r of runners) this.runners.set(r.kind, r);
    this.placement = options.placement ?? new Placement();
    pool.on('idle', () => this.pump());
    pool.on('exit', () => this.pump());
    this.crashLoop = new CrashLoopGuard(
      { count: options.crashLoopCount, windowMs: options.crashLoopWindowMs, restMs: options.crashLoopRestMs },
      alerts,
      (message) => log('warn', message),
      () => this.pump(),
    );
    this.supervisor = setInterval(() => this.supervise(), SUPERVISE_MS);
    this.supervisor.unref();
  }

  /** Loads persisted jobs; unfinished ones go back in the queue. */
  restore(records: JobRecord[]): number {
    let resumed = 0;
    for (const record of records) {
      this.all.set(record.id, record);
      if (TERMINAL.has(record.state)) continue;
      if (record.plan?.farm && this.options.farm) {
        this.options.farm.follow(record, this.externalHost(record));
        resumed += 1;
        continue;
      }
      for (const unit of record.units) {
        if (unit.state !== 'running') continue;
        unit.state = 'pending';
        const a = unit.attempts.at(-1);
        if (a && !a.outcome) Object.assign(a, { outcome: 'lost', reason: 'the sidecar stopped during this attempt', endedAt: new Date().toISOString() });
      }
      this.admit(record);
      resumed += 1;
    }
    this.pump();
    return resumed;
  }

  submit(record: JobRecord): void {
    // Saved before it is listed: a job that could not be saved is refused (-32005), never a ghost in the list.
    this.store.create(record);
    this.all.set(record.id, record);
    this.emitState(record, record.state);
    this.admit(record);
    this.pump();
  }

  /**
   * Takes a job that runs elsewhere (a farm) and is already submitted there: it is listed, persisted and followed
   * like any other, but no local worker touches it.
   */
  adoptExternal(record: JobRecord): void {
    if (!this.options.farm) throw new Error('no farm executor');
    this.store.create(record);
    this.all.set(record.id, record);
    this.emitState(record, record.state);
    this.options.farm.follow(record, this.externalHost(record));
  }

  private externalHost(record: JobRecord): ExternalJobHost {
    return {
      started: () => {
        if (record.state !== 'queued') return;
        record.startedAt ??= new Date().toISOString();
        this.setState(record, 'running');
      },
      progress: (done) => {
        if (TERMINAL.has(record.state)) return;
        // A farm that only counts frames (Flamenco) says how many; one that keeps per-frame books (Slurm) set them.
        if (done !== undefined) record.units.forEach((u, i) => (u.state = i < done ? 'done' : 'pending'));
        this.store.save(record);
        this.events.progress(record, this.computeProgress(record, undefined));
      },
      finish: (state, error) => {
        if (TERMINAL.has(record.state)) return;
        if (state === 'completed') for (const u of record.units) if (u.state !== 'skipped') u.state = 'done';
        // A farm job can run and end between two polls: it did start, even if no poll saw it running.
        if (state !== 'canceled') record.startedAt ??= new Date().toISOString();
        // The same summary as a local job of its kind, plus the farm's id for the job.
        record.result = { ...this.runners.get(record.kind)?.summarize(record), farmJobId: record.plan?.farmJobId };
        this.finish(record, state, error);
        this.events.progress(record, this.computeProgress(record, undefined));
      },
    };
  }

  get(id: string): JobRecord {
    const job = this.all.get(id);
    if (!job) throw new NotFoundError(`there is no job ${id} (job.list shows the jobs this sidecar knows)`, { jobId: id });
    return job;
  }

  list(): JobRecord[] {
    return [...this.all.values()];
  }

  /** Open `wait` calls, across jobs. */
  get waiterCount(): number {
    let n = 0;
    for (const set of this.waiters.values()) n += set.size;
    return n;
  }

  /** Drops finished jobs from the list and from disk (retention); unfinished ones are left alone. */
  forget(ids: readonly string[]): void {
    for (const id of ids) {
      const job = this.all.get(id);
      if (!job || !TERMINAL.has(job.state)) continue;
      this.all.delete(id);
      this.store.remove(id);
    }
  }

  progress(id: string): JobProgress {
    const job = this.get(id);
    return this.computeProgress(job, this.live.get(id));
  }

  /**
   * Resolves when the job has ended or `timeoutMs` has passed, with the job as it stands. When `signal` aborts (the
   * caller's connection closed), the waiter is dropped at once and the promise rejects.
   */
  wait(id: string, timeoutMs: number, signal?: AbortSignal): Promise<JobRecord> {
    const job = this.get(id);
    if (TERMINAL.has(job.state)) return Promise.resolve(job);
    return new Promise((resolve, reject) => {
      let set = this.waiters.get(id);
      if (!set) this.waiters.set(id, (set = new Set()));
      const settle = (gone: boolean) => {
        clearTimeout(timer);
        set.delete(done);
        if (set.size === 0 && this.waiters.get(id) === set) this.waiters.delete(id);
        signal?.removeEventListener('abort', abandoned);
        // A SidecarError: an expected end, not a bug for the log (nobody reads the answer).
        if (gone) reject(new SidecarError('the connection closed while waiting', ErrorCode.Unavailable));
        else resolve(this.get(id));
      };
      const done = () => settle(false);
      const abandoned = () => settle(true);
      const timer = setTimeout(done, timeoutMs);
      set.add(done);
      signal?.addEventListener('abort', abandoned, { once: true });
    });
  }

  cancel(id: string, reason = 'canceled by request'): JobRecord {
    const job = this.get(id);
    if (TERMINAL.has(job.state)) {
      throw new InvalidStateError(`job ${id} has already ${job.state === 'canceled' ? 'been canceled' : job.state}; there is nothing to cancel`, {
        jobId: id,
        state: job.state,
      });
    }
    const live = this.live.get(id);
    if (live) {
      for (const task of live.tasks.values()) task.worker.kill('canceled', `job ${id} canceled`);
    }
    if (job.plan?.farm && this.options.farm) {
      this.options.farm.cancel(job, reason).catch((err: unknown) => this.log('warn', `job ${id}: the farm did not take the cancel: ${describeError(err)}`));
    }
    this.finish(job, 'canceled', reason);
    return job;
  }

  /** Why workers cannot start, if they cannot (Blender missing): shown by job errors. */
  get workerStartProblem(): string | undefined {
    return this.startError;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.options.farm?.stopAll();
    clearInterval(this.supervisor);
    for (const live of this.live.values()) this.store.save(live.record, { durable: true });
  }

  // ---- admission and dispatch ----

  private admit(record: JobRecord) {
    const runner = this.runners.get(record.kind);
    if (!runner) throw new Error(`no runner for job kind ${record.kind}`);
    this.live.set(record.id, {
      record,
      runner,
      limits: runner.limits(record),
      phase: 'waiting',
      planAttempts: 0,
      planExcluded: new Set(),
      excluded: new Map(),
      tasks: new Map(),
      heldCrashes: new Map(),
      planCrashes: [],
      finishTimes: [],
      progressQueued: false,
    });
    const job = this.live.get(record.id)!;
    // Units known without asking Blender (exports): plan now, so the job's workers can start at once.
    if (!runner.planTask(record)) {
      job.phase = 'planning';
      void this.planned(job, undefined).then(() => this.pump());
    }
  }

  private orderedJobs(): LiveJob[] {
    return [...this.live.values()].sort(
      (a, b) =>
        PRIORITY_ORDER[a.record.priority] - PRIORITY_ORDER[b.record.priority] || a.record.createdAt.localeCompare(b.record.createdAt),
    );
  }

  /** The Blender a job's workers run: chosen at submit; jobs from before routing existed run on the pool's default. */
  private blenderOf(job: LiveJob): string {
    if (job.record.blender) return job.record.blender.path;
    try {
      return this.pool.defaultBlender();
    } catch {
      return '';
    }
  }

  /** A unit this job could give worker `w` now, or the planning task. */
  private candidate(job: LiveJob, w: BlenderWorker | undefined): 'plan' | WorkUnit | undefined {
    if (TERMINAL.has(job.record.state)) return undefined;
    // Workers belong to one Blender: a job only takes workers of the Blender it was routed to.
    if (w && w.blender !== this.blenderOf(job)) return undefined;
    if (job.phase === 'waiting') {
      if (w && job.planExcluded.has(w.id)) return undefined;
      return 'plan';
    }
    if (job.phase !== 'running' || job.tasks.size >= this.workerCap(job)) return undefined;
    for (const unit of this.startable(job)) {
      if (w && job.excluded.get(unit.key)?.has(w.id)) continue;
      return unit;
    }
    return undefined;
  }

  /**
   * Pending units that may start now, in the job's order: not waiting for a retry, every unit they depend on done, the
   * runner agreeing. Lazy, so that finding the first costs little in a job of many frames.
   */
  private *startable(job: LiveJob): Generator<WorkUnit> {
    const now = Date.now();
    const units = job.record.units;
    let byKey: Map<number, WorkUnit> | undefined;
    let running: WorkUnit[] | undefined;
    for (const unit of units) {
      if (unit.state !== 'pending') continue;
      if (unit.retryAt && Date.parse(unit.retryAt) > now) continue;
      if (unit.dependsOn?.length) {
        byKey ??= new Map(units.map((u) => [u.key, u]));
        if (unit.dependsOn.some((k) => byKey!.get(k)?.state !== 'done')) continue;
      }
      if (job.runner.mayStart && !job.runner.mayStart(job.record, unit, (running ??= units.filter((u) => u.state === 'running')))) continue;
      yield unit;
    }
  }

  /**
   * Skips every pending unit that depends (directly or through others) on a unit that failed or was skipped, saying
   * which unit failed: those units can no longer run, and the job must still come to an end.
   */
  private skipBlocked(record: JobRecord): void {
    const byKey = new Map(record.units.map((u) => [u.key, u]));
    for (let changed = true; changed; ) {
      changed = false;
      for (const unit of record.units) {
        if (unit.state !== 'pending' || !unit.dependsOn?.length) continue;
        let why: string | undefined;
        for (const k of unit.dependsOn) {
          const dep = byKey.get(k);
          if (!dep) why = `not run: it depends on unit ${k}, which this job does not have`;
          else if (dep.state === 'failed') why = `not run: ${dep.label} failed`;
          else if (dep.state === 'skipped') why = dep.error ?? `not run: ${dep.label} was skipped`;
          if (why) break;
        }
        if (!why) continue;
        unit.state = 'skipped';
        unit.error = why;
        changed = true;
      }
    }
  }

  /** Wakes the dispatcher when the earliest backoff ends. */
  private scheduleRetryWake(at: number) {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.pump();
    }, Math.max(0, at - Date.now()) + 5);
    this.retryTimer.unref();
  }

  /** The pool rests after a crash loop: no new workers until then. */
  get restingUntil(): number {
    return this.crashLoop.restingUntil;
  }

  private pump() {
    if (this.closed) return;
    const jobs = this.orderedJobs();
    for (const w of this.pool.idle()) {
      // Highest priority first; within it, prefer the job whose file this worker already has open.
      let chosen: { job: LiveJob; c: 'plan' | WorkUnit } | undefined;
      let tier: number | undefined;
      for (const job of jobs) {
        const p = PRIORITY_ORDER[job.record.priority];
        if (tier !== undefined && p > tier) break;
        const c = this.candidate(job, w);
        if (!c) continue;
        tier ??= p;
        const file = job.runner.fileOf(job.record);
        if (!chosen || (w.openJobKey === file.jobKey && w.openFile === file.blendFile)) {
          chosen = { job, c };
          if (w.openJobKey === file.jobKey) break;
        }
      }
      if (chosen) this.start(chosen.job, chosen.c, w);
    }
    this.growIfNeeded(jobs);
  }

  /**
   * How many workers a job may have at once: its instances limit, and what fits in memory at the size its workers
   * measured (see Placement). Says so on the job when memory is what holds it back.
   */
  private workerCap(job: LiveJob): number {
    const mine = new Set([...job.tasks.values()].map((t) => t.worker));
    let jobRss = 0;
    let otherRss = 0;
    for (const w of this.pool.list()) {
      if (w.state === 'exited') continue;
      if (mine.has(w)) jobRss += w.rssBytes;
      else otherRss += w.rssBytes;
    }
    const left = job.record.units.filter((u) => u.state === 'pending' || u.state === 'running').length;
    const wanted = Math.min(job.limits.instances, this.pool.size, Math.max(1, left));
    const memory = this.placement.fit({ perWorkerBytes: job.peakRssBytes, jobWorkers: job.tasks.size, jobRssBytes: jobRss, otherRssBytes: otherRss, wanted });
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
      if (fit.note) this.log('info', `job ${job.record.id}: ${fit.note}`);
      this.queueProgress(job);
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
      const pending = [...this.startable(job)];
      demand.set(blender, (demand.get(blender) ?? 0) + Math.min(room, pending.length));
      if (pending.length > 0 && room > 0 && pending.every((u) => (job.excluded.get(u.key)?.size ?? 0) > 0)) blocked.add(blender);
    }
    if (this.crashLoop.resting) return;
    for (const [blender, wanted] of demand) this.growFor(blender, wanted, demand, blocked.has(blender));
  }

  private get startingTotal(): number {
    let n = 0;
    for (const v of this.starting.values()) n += v;
    return n;
  }

  /** Starts workers of one Blender for `wanted` more units, making room by ending idle workers of Blenders nobody waits for. */
  private growFor(blender: string, demand: number, allDemand: Map<string, number>, blockedByExclusion: boolean) {
    const idle = blender ? this.pool.idle(blender).length : 0;
    let wanted = demand - idle - (this.starting.get(blender) ?? 0);
    while (wanted > 0) {
      if (this.pool.count + this.startingTotal >= this.pool.size) {
        // Full. An idle worker of a Blender no job waits for gives way (one at a time: it counts until it has exited).
        if (this.pool.list().some((w) => w.state === 'stopping')) break;
        const spare = this.pool.idle().find((w) => w.blender !== blender && !(allDemand.get(w.blender)! > 0));
        if (!spare) break;
        this.log('info', `ending idle worker ${spare.id} (${spare.blender}) to make room for a worker of ${blender}`);
        this.pool.retire(spare, 'retired');
        break;
      }
      wanted -= 1;
      this.starting.set(blender, (this.starting.get(blender) ?? 0) + 1);
      this.pool
        .grow(blender || undefined)
        .then(() => {
          this.startError = undefined;
        })
        .catch((err: unknown) => this.workerFailedToStart(err, blender))
        .finally(() => {
          this.starting.set(blender, (this.starting.get(blender) ?? 1) - 1);
          this.pump();
        });
    }
    // Every pending unit is barred from every idle worker (each already failed there) and the pool is full:
    // replace one idle worker with a fresh one, which no unit has failed on.
    if (blockedByExclusion && demand > 0 && !(this.starting.get(blender) ?? 0) && this.pool.count >= this.pool.size && idle > 0) {
      const w = this.pool.idle(blender)[0]!;
      this.log('info', `replacing worker ${w.id}: the remaining frames already failed on it`);
      this.pool.retire(w, 'recycled');
    }
  }

  private workerFailedToStart(err: unknown, blender: string) {
    const message = describeError(err);
    this.log('error', `a Blender worker could not start: ${message}`);
    this.startError = message;
    // Without any working worker of that Blender its jobs cannot run: fail what waits for it, rather than start a
    // broken Blender forever (workers still starting do not count: they are as likely to fail). Other Blenders go on.
    if (!this.pool.list().some((w) => w.blender === blender && (w.state === 'idle' || w.state === 'busy'))) {
      for (const job of this.live.values()) {
        if (job.tasks.size === 0 && this.blenderOf(job) === blender) this.finish(job.record, 'failed', `no Blender worker could start: ${message}`);
      }
    }
  }

  private start(job: LiveJob, c: 'plan' | WorkUnit, w: BlenderWorker) {
    const record = job.record;
    const unit = c === 'plan' ? null : c;
    const request = unit ? job.runner.task(record, unit, w.id) : job.runner.planTask(record);
    if (!request) return;
    const file = { ...job.runner.fileOf(record), ...request.file };
    const id = `t${this.nextTaskId++}`;
    const attempt: Attempt | undefined = unit ? { worker: w.id, pid: w.pid, blender: w.blenderVersion, startedAt: new Date().toISOString() } : undefined;
    const task: Task = { id, unit, request, worker: w, attempt, peakRssBytes: w.rssBytes };
    job.tasks.set(id, task);
    if (unit) {
      unit.state = 'running';
      unit.attempts.push(attempt!);
    } else {
      job.phase = 'planning';
      job.planAttempts += 1;
    }
    if (record.state === 'queued') {
      record.startedAt ??= new Date().toISOString();
      this.setState(record, 'running');
    }
    this.watchSamples(job, task);
    w.openFile = file.blendFile;
    w.openJobKey = file.jobKey;
    w.run({ ...request.payload, id, kind: String(request.payload.kind), blendFile: file.blendFile, jobKey: file.jobKey, gn: file.gn }, { label: request.label, jobId: record.id, frame: request.frame }).then(
      (outcome) => void this.taskEnded(job, task, outcome),
      (err: unknown) => void this.taskEnded(job, task, err),
    );
    this.queueProgress(job);
  }

  // ---- results ----

  private async taskEnded(job: LiveJob, task: Task, result: TaskOutcome | unknown) {
    job.tasks.delete(task.id);
    task.stopWatching?.();
    this.alerts?.resolve(`memory-near:${task.worker.id}`);
    const record = job.record;
    if (TERMINAL.has(record.state)) {
      if (task.unit) job.runner.discard(record, task.unit, task.worker.id);
      this.pump();
      return;
    }
    try {
      if (!task.unit) await this.planEnded(job, task, result);
      else await this.unitEnded(job, task, task.unit, result);
    } catch (err) {
      this.log('error', `job ${record.id}: ${(err as Error).stack ?? String(err)}`);
      this.finish(record, 'failed', `internal error while handling a result: ${describeError(err)}`);
    }
    this.pump();
  }

  private async planEnded(job: LiveJob, task: Task, result: TaskOutcome | unknown) {
    if (result instanceof WorkerDiedError || !(result && typeof result === 'object' && 'ok' in result)) {
      job.planExcluded.add(task.worker.id);
      if (result instanceof WorkerDiedError && result.reason === 'crashed') {
        job.planCrashes.push(task.worker.id);
        // The second worker that dies opening the same file: the file kills this Blender. Fail now, do not try a third.
        if (job.planCrashes.length >= 2) {
          this.finish(job.record, 'failed', this.fileKillsBlender(job, task.worker, result, job.planCrashes, 'opening it'));
          return;
        }
      }
      if (job.planAttempts > job.limits.maxRetries) {
        this.finish(job.record, 'failed', `Blender kept failing while opening ${job.runner.fileOf(job.record).blendFile}: ${diedReason(result, 'opening the file')}`);
      } else {
        job.phase = 'waiting';
      }
      return;
    }
    const outcome = result as TaskOutcome;
    if (!outcome.ok) {
      const cannotOpen = classifyTaskError(outcome.errorKind, outcome.message, outcome.traceback).outcome === 'cannot-open';
      this.finish(job.record, 'failed', cannotOpen ? this.cannotOpenSentence(job, task.worker, outcome) : taskErrorSentence(outcome));
      return;
    }
    this.fileCrashStreak.delete(task.worker.blender);
    await this.planned(job, outcome.result);
  }

  private async planned(job: LiveJob, planResult: Record<string, unknown> | undefined) {
    const record = job.record;
    try {
      record.units = await job.runner.plan(record, planResult);
    } catch (err) {
      if (!(err instanceof SidecarError)) throw err;
      this.finish(record, 'failed', err.message);
      return;
    }
    job.phase = 'running';
    this.skipBlocked(record);
    this.store.save(record);
    this.queueProgress(job);
    this.maybeFinished(job);
  }

  private async unitEnded(job: LiveJob, task: Task, unit: WorkUnit, result: TaskOutcome | unknown) {
    const record = job.record;
    const attempt = task.attempt!;
    attempt.endedAt = new Date().toISOString();
    const seconds = (Date.parse(attempt.endedAt) - Date.parse(attempt.startedAt)) / 1000;
    let outcome: AttemptOutcome;
    let reason: string | undefined;
    let retryable: boolean;
    let cls: Classification | undefined;

    if (result instanceof WorkerDiedError) {
      const killedFor = result.reason === 'hung' || result.reason === 'memory' || result.reason === 'canceled' ? result.reason : undefined;
      cls = classifyDeath(result.exit.signal, result.exit.code, result.outputTail.join('\n'), killedFor);
      outcome = cls.outcome;
      reason = this.deathSentence(job, unit, result, seconds, cls);
      retryable = cls.transient;
      if (!killedFor) {
        const crashedOn = unit.attempts.filter((a) => a !== attempt && CRASHES.has(a.outcome ?? '')).map((a) => a.worker);
        if (crashedOn.length > 0 && CRASHES.has(outcome)) {
          // The second worker this unit kills: the file (or what it asks of Blender) is the cause, not the pool.
          reason = this.fileKillsBlender(job, task.worker, result, [...crashedOn, task.worker.id], `running ${unit.label}`);
          retryable = false;
          job.heldCrashes.delete(unit.key);
        } else if (job.record.units.some((u) => u.state === 'done')) {
          // This Blender opened the file before and crashed now: the Blender (or the machine) is the suspect.
          this.crashLoop.noteCrash(reason);
        } else {
          // Maybe the file: counted only if a retry elsewhere succeeds.
          job.heldCrashes.set(unit.key, reason);
        }
      }
    } else if (result && typeof result === 'object' && 'ok' in result) {
      const o = result as TaskOutcome;
      task.peakRssBytes = Math.max(task.peakRssBytes, o.peakRssBytes ?? 0);
      if (o.ok) {
        const verdict = await job.runner.accept(record, unit, o, task.worker.id);
        if (verdict.ok) {
          this.fileCrashStreak.delete(task.worker.blender);
          const held = job.heldCrashes.get(unit.key);
          if (held !== undefined) {
            // It crashed once and then worked elsewhere: that crash was Blender's, and counts after all.
            job.heldCrashes.delete(unit.key);
            this.crashLoop.noteCrash(held);
          }
          Object.assign(attempt, { outcome: 'done' });
          unit.state = 'done';
          unit.output = verdict.output;
          unit.result = verdict.result;
          unit.seconds = o.seconds;
          unit.error = undefined;
          job.finishTimes.push(Date.now());
          job.last = { key: unit.key, label: unit.label, output: verdict.output, ...(verdict.preview ? { preview: verdict.preview } : {}) };
          job.peakRssBytes = Math.max(job.peakRssBytes ?? 0, task.peakRssBytes);
          this.events.unitFinished(record, unit, 'done', o.seconds);
          this.store.save(record);
          this.queueProgress(job);
          this.maybeFinished(job);
          return;
        }
        outcome = verdict.outcome;
        reason = verdict.reason;
        retryable = verdict.retryable;
      } else {
        cls = classifyTaskError(o.errorKind, o.message, o.traceback);
        outcome = cls.outcome;
        reason =
          cls.outcome === 'cannot-open'
            ? `${unit.label}: ${this.cannotOpenSentence(job, task.worker, o)}`
            : `${unit.label}: ${cls.transient ? `${cls.label}: ` : ''}${taskErrorSentence(o)}`;
        retryable = cls.transient;
      }
    } else {
      outcome = 'crashed';
      reason = describeError(result);
      retryable = true;
    }

    Object.assign(attempt, { outcome, reason });
    job.runner.discard(record, unit, task.worker.id);
    this.events.unitFinished(record, unit, outcome, seconds);
    const failures = unit.attempts.filter((a) => a.outcome && a.outcome !== 'done' && a.outcome !== 'lost').length;
    if (retryable && failures <= job.limits.maxRetries) {
      let set = job.excluded.get(unit.key);
      if (!set) job.excluded.set(unit.key, (set = new Set()));
      set.add(task.worker.id);
      unit.state = 'pending';
      const wait = backoffSeconds(failures);
      unit.retryAt = new Date(Date.now() + wait * 1000).toISOString();
      this.scheduleRetryWake(Date.now() + wait * 1000);
      let where = 'on another worker';
      if (cls?.cpuFallback && record.params.cpuFallback === true) {
        unit.forceCpu = true;
        where = 'on the CPU';
      }
      this.log('info', `job ${record.id}: ${unit.label} will be retried ${where} in ${wait} s (${reason})`);
    } else {
      unit.state = 'failed';
      unit.error =
        retryable && failures > job.limits.maxRetries
          ? `${reason} (failed ${failures} times, more than maxRetries ${job.limits.maxRetries})`
          : reason;
      this.skipBlocked(record);
    }
    this.store.save(record);
    this.queueProgress(job);
    this.maybeFinished(job);
  }

  /**
   * A file that killed Blender on two workers: the sentence names the file, the Blender, and Blender's own crash report
   * (its path and first lines). A Blender that does this to several files in a row, with nothing succeeding between,
   * crashes on every file: that still makes the pool rest.
   */
  private fileKillsBlender(job: LiveJob, worker: BlenderWorker, err: WorkerDiedError, workers: string[], doing: string): string {
    const file = job.runner.fileOf(job.record).blendFile;
    const version = worker.blenderVersion ?? job.record.blender?.version ?? 'unknown version';
    const how = err.exit.signal ? `killed by ${err.exit.signal}` : `exit status ${err.exit.code}`;
    const report = err.crashReport
      ? `Blender's crash report: ${err.crashReport.path}${err.crashReport.firstLines.length ? ` (${err.crashReport.firstLines.join(' | ')})` : ''}`
      : 'Blender wrote no crash report';
    // A file newer than the Blender that crashed on it explains the crash by itself; only files this Blender should
    // open count towards "it crashes on every file".
    const hint = this.newerFileHint(job, version);
    const sentence =
      `${file} kills Blender ${version} (${worker.blender}): it crashed on ${workers.length} workers (${workers.join(', ')}) while ${doing}, ${how}; ` +
      `not retried. ${report}.${hint}`;
    const streak = (this.fileCrashStreak.get(worker.blender) ?? 0) + (hint ? 0 : 1);
    this.fileCrashStreak.set(worker.blender, streak);
    if (streak >= (this.options.crashLoopCount ?? 3)) {
      this.fileCrashStreak.delete(worker.blender);
      this.crashLoop.rest(`Blender ${version} was killed by ${streak} files or frames in a row with nothing succeeding between (the last: ${file})`);
    }
    return sentence;
  }

  /** "cannot open" with Blender's reason, and what the header says when the file is newer than the Blender that tried. */
  private cannotOpenSentence(job: LiveJob, worker: BlenderWorker, o: Extract<TaskOutcome, { ok: false }>): string {
    const file = job.runner.fileOf(job.record).blendFile;
    const why = o.message.replace(/^Blender could not open [^:]*: /, '');
    return `cannot open ${file} with Blender ${worker.blenderVersion ?? ''} (${worker.blender}): ${why}.${this.newerFileHint(job, worker.blenderVersion)}`;
  }

  private newerFileHint(job: LiveJob, blenderVersion: string | undefined): string {
    const saved = job.record.blend?.version;
    const a = saved ? blendVersionNumber(saved) : undefined;
    const b = blenderVersion ? blendVersionNumber(blenderVersion) : undefined;
    if (a === undefined || b === undefined || a <= b) return '';
    return ` The file was saved by Blender ${saved}, newer than this Blender: run it on Blender ${saved} or newer.`;
  }

  private deathSentence(job: LiveJob, unit: WorkUnit, err: WorkerDiedError, seconds: number, cls: Classification): string {
    const w = `worker ${err.message.match(/worker (\w+)/)?.[1] ?? '?'}`;
    switch (err.reason) {
      case 'hung':
        return `${unit.label} hung: Blender printed nothing for ${job.limits.timeoutS} s, so ${w} was killed`;
      case 'memory':
        return (
          err.outputTail.findLast((l) => l.startsWith('[sidecar] '))?.slice(10) ??
          `${unit.label} exceeded memoryLimitMB ${job.limits.memoryLimitMB}`
        );
      case 'canceled':
        return `${unit.label} was canceled`;
      default: {
        const tail = err.outputTail.filter((l) => !/^(render \| )?Fra:/.test(l) && !/^\s*$/.test(l)).slice(-3).join(' | ');
        return `${unit.label}: ${cls.label}: ${err.message} after ${seconds.toFixed(1)} s${tail ? `; last output: ${tail}` : ''}`;
      }
    }
  }

  private maybeFinished(job: LiveJob) {
    const record = job.record;
    if (TERMINAL.has(record.state) || job.phase !== 'running' || job.tasks.size > 0) return;
    if (record.units.some((u) => u.state === 'pending' || u.state === 'running')) return;
    const failed = record.units.filter((u) => u.state === 'failed');
    if (failed.length === 0) {
      this.finish(record, 'completed');
      return;
    }
    const shown = failed.slice(0, 3).map((u) => `${u.error}`);
    const more = failed.length > 3 ? `; and ${failed.length - 3} more` : '';
    const noun = record.kind === 'render' ? 'frames' : record.kind === 'pipeline' ? 'steps' : 'items';
    this.finish(record, 'failed', `${failed.length} of ${record.units.length} ${noun} failed: ${shown.join('; ')}${more}`);
  }

  private finish(record: JobRecord, state: JobState, error?: string) {
    const job = this.live.get(record.id);
    this.live.delete(record.id);
    record.finishedAt = new Date().toISOString();
    if (error) record.error = error;
    if (job) {
      try {
        record.result = job.runner.summarize(record);
      } catch (err) {
        this.log('warn', `job ${record.id}: could not summarize: ${describeError(err)}`);
      }
      try {
        job.runner.finished?.(record);
      } catch (err) {
        this.log('warn', `job ${record.id}: cleanup failed: ${describeError(err)}`);
      }
    }
    // The last progress goes out before the state change, so a follower sees 12/12 before "completed".
    this.setState(record, state, job ? () => this.emitProgress(job) : undefined);
    if (state === 'failed') {
      this.alerts?.raise({
        key: `job-failed:${record.id}`,
        level: 'ERROR',
        what: `${record.kind} job ${record.id} failed: ${(record.error ?? '').split('\n')[0]}`,
        where: String(record.params.blendFile ?? record.id),
        action: 'job.get shows every attempt and why it failed; fix the cause and submit again (finished frames are kept)',
      });
    }
    for (const w of [...(this.waiters.get(record.id) ?? [])]) w();
    this.waiters.delete(record.id);
  }

  private setState(record: JobRecord, state: JobState, beforeEvent?: () => void) {
    const previous = record.state;
    if (previous === state) return;
    record.state = state;
    this.store.save(record, { durable: true });
    beforeEvent?.();
    this.emitState(record, previous);
  }

  private emitState(record: JobRecord, previous: JobState) {
    this.events.state(record, previous);
  }

  // ---- progress ----

  private queueProgress(job: LiveJob) {
    if (job.progressQueued) return;
    job.progressQueued = true;
    setImmediate(() => {
      job.progressQueued = false;
      this.emitProgress(job);
    });
  }

  /** A long frame shows its samples moving (job.progress running[].samples), so it never looks hung. */
  private watchSamples(job: LiveJob, task: Task) {
    const onOutput = (line: string) => {
      const samples = parseSamples(line);
      if (!samples) return;
      task.samples = samples;
      if (task.attempt && task.attempt.syncSeconds === undefined) {
        // The scene is synced: what the job's runner may size its workers by (see render/scene-sync.ts).
        task.attempt.syncSeconds = Math.round(Date.now() - Date.parse(task.attempt.startedAt)) / 1000;
        if (job.runner.workerCap) queueMicrotask(() => this.pump());
      }
      const now = Date.now();
      if (now - (job.samplesEmittedAt ?? 0) < SAMPLES_EMIT_MS) return;
      job.samplesEmittedAt = now;
      this.queueProgress(job);
    };
    task.worker.on('output', onOutput);
    task.stopWatching = () => task.worker.off('output', onOutput);
  }

  private emitProgress(job: LiveJob) {
    this.events.progress(job.record, this.computeProgress(job.record, job));
  }

  private computeProgress(record: JobRecord, job: LiveJob | undefined): JobProgress {
    // A farm job has no local workers: what it knows of its progress (rates, running tasks) comes from its farm.
    if (!job && record.plan?.farm) return jobProgress(record, this.runners.get(record.kind), this.options.farm?.live(record));
    return jobProgress(record, this.runners.get(record.kind), job && {
      finishTimes: job.finishTimes,
      last: job.last,
      placement: job.memoryNote,
      running: [...job.tasks.values()].map((t) => ({
        worker: t.worker.id,
        pid: t.worker.pid,
        key: t.unit?.key ?? null,
        label: t.request.label,
        startedAt: t.worker.current ? new Date(t.worker.current.startedAt).toISOString() : new Date().toISOString(),
        ...(t.samples && { samples: t.samples }),
      })),
    });
  }

  // ---- supervision ----

  private supervise() {
    for (const job of this.live.values()) for (const t of job.tasks.values()) t.peakRssBytes = Math.max(t.peakRssBytes, t.worker.rssBytes);
    const tasks = [...this.live.values()].flatMap((job) =>
      [...job.tasks.values()].map((t) => ({
        worker: t.worker,
        label: t.request.label,
        jobId: job.record.id,
        timeoutS: job.limits.timeoutS,
        memoryLimitMB: job.limits.memoryLimitMB,
      })),
    );
    superviseTasks(tasks, this.alerts, this.options.memoryWarnShare);
  }
}

function taskErrorSentence(o: Extract<TaskOutcome, { ok: false }>): string {
  if (o.errorKind === 'input' || !o.traceback) return o.message;
  const lines = o.traceback.trim().split('\n');
  return `Python error in Blender: ${o.message}\n${lines.slice(-6).join('\n')}`;
}

function diedReason(result: unknown, doing: string): string {
  if (result instanceof WorkerDiedError) {
    const tail = result.outputTail.slice(-3).join(' | ');
    return `${result.message} while ${doing}${tail ? `; last output: ${tail}` : ''}`;
  }
  return describeError(result);
}
