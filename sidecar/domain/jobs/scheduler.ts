/**
 * The scheduler: it admits jobs, has them planned, and follows each task to its end; a small coordinator over the
 * parts that decide. Dispatch (dispatch.ts) picks which unit goes to which idle worker and grows the pool; the attempt
 * policy (attempt-policy.ts) judges each result and decides retries; the supervisor (supervisor.ts) kills hung workers
 * and workers over their memory limit; each kind of job teaches it the rest through its JobRunner (runner.ts).
 * Jobs are persisted on every change, and resumed after a restart.
 *
 * size: about 400 lines, all coordination (the public job API and each task's life from start to verdict); every
 * decision it coordinates already lives in the files named above, and splitting the lifecycle would scatter one story.
 */
import { describeError, DomainError, InvalidStateError, NotFoundError } from '../errors.js';
import type { ExternalJobHost } from '../farm/farm-executor.js';
import type { TaskOutcome } from '../workers/blender-worker.js';
import { Placement } from '../workers/placement.js';
import { AttemptPolicy, isAnswer, retryDecision, type AttemptFailure } from './attempt-policy.js';
import { skipBlocked } from './dependencies.js';
import { Dispatcher } from './dispatch.js';
import { TERMINAL, type JobRecord, type JobState, type WorkUnit } from './job.js';
import type { JobStore } from './job-store.js';
import type { SchedulerEvents, SchedulerOptions } from './scheduler-options.js';
import { excludeWorker, liveJob, resumeUnits, type LiveJob, type Task } from './live-job.js';
import { farmJobHost } from './farm-job.js';
import { JobWaiters } from './job-waiters.js';
import { ProgressFeed } from './progress-feed.js';
import type { JobProgress } from './progress.js';
import type { JobRunner, UnitVerdict } from './runner.js';
import { CrashLoopGuard, superviseJobs } from './supervisor.js';

export type { JobProgress, RunningUnit } from './progress.js';
export type { SchedulerEvents, SchedulerOptions } from './scheduler-options.js';

const SUPERVISE_MS = 250;

export class Scheduler {
  private readonly all = new Map<string, JobRecord>();
  private readonly live = new Map<string, LiveJob>();
  private readonly waiters = new JobWaiters();
  private readonly runners = new Map<string, JobRunner>();
  private readonly store: JobStore;
  private readonly events: SchedulerEvents;
  private readonly crashLoop: CrashLoopGuard;
  private readonly progressFeed: ProgressFeed;
  private readonly dispatch: Dispatcher;
  private readonly policy: AttemptPolicy;
  private readonly supervisor: NodeJS.Timeout;
  private closed = false;

  constructor(private readonly options: SchedulerOptions) {
    this.store = options.store;
    this.events = options.events;
    for (const r of options.runners) this.runners.set(r.kind, r);
    this.progressFeed = new ProgressFeed(
      (job, p) => options.events.progress(job, p),
      (kind) => this.runners.get(kind),
      options.farm,
      () => this.pump(),
    );
    options.pool.on('idle', () => this.pump());
    options.pool.on('exit', () => this.pump());
    this.crashLoop = new CrashLoopGuard(
      options.crashLoop ?? {},
      options.alerts,
      (message) => options.log('warn', message),
      () => this.pump(),
    );
    this.policy = new AttemptPolicy(this.crashLoop, options.crashLoop?.count ?? 3);
    this.dispatch = new Dispatcher({
      pool: options.pool,
      placement: options.placement ?? new Placement(),
      crashLoop: this.crashLoop,
      log: options.log,
      host: {
        jobs: () => this.live.values(),
        taskStarted: (job, task) => this.taskStarted(job, task),
        taskEnded: (job, task, result) => void this.taskEnded(job, task, result),
        fail: (job, error) => this.finish(job.record, 'failed', error),
        placementChanged: (job) => this.progressFeed.queue(job),
        wake: () => this.pump(),
      },
    });
    this.supervisor = setInterval(() => superviseJobs(this.live.values(), this.options.alerts, options.memoryWarnShare), SUPERVISE_MS);
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
      resumeUnits(record);
      this.admit(record);
      resumed += 1;
    }
    this.pump();
    return resumed;
  }

  submit(record: JobRecord): void {
    // Saved before it is listed: a job that could not be saved is refused (unavailable), never a ghost in the list.
    this.store.create(record);
    this.all.set(record.id, record);
    this.events.state(record, record.state);
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
    this.events.state(record, record.state);
    this.options.farm.follow(record, this.externalHost(record));
  }

  private externalHost(record: JobRecord): ExternalJobHost {
    return farmJobHost(record, {
      setState: (r, state) => this.setState(r, state),
      save: (r) => this.store.save(r),
      sendProgress: (r) => this.events.progress(r, this.progressFeed.of(r, undefined)),
      summarize: (r) => this.runners.get(r.kind)?.summarize(r),
      finish: (r, state, error) => this.finish(r, state, error),
    });
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
    return this.waiters.count;
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
    return this.progressFeed.of(job, this.live.get(id));
  }

  /**
   * Resolves when the job has ended or `timeoutMs` has passed, with the job as it stands. When `signal` aborts (the
   * caller's connection closed), the waiter is dropped at once and the promise rejects.
   */
  wait(id: string, timeoutMs: number, signal?: AbortSignal): Promise<JobRecord> {
    const job = this.get(id);
    if (TERMINAL.has(job.state)) return Promise.resolve(job);
    return this.waiters.wait(id, timeoutMs, () => this.get(id), signal);
  }

  cancel(id: string, reason = 'canceled by request'): JobRecord {
    const job = this.get(id);
    if (TERMINAL.has(job.state)) {
      const ended = job.state === 'canceled' ? 'been canceled' : job.state;
      throw new InvalidStateError(`job ${id} has already ${ended}; there is nothing to cancel`, { jobId: id, state: job.state });
    }
    for (const task of this.live.get(id)?.tasks.values() ?? []) task.worker.kill('canceled', `job ${id} canceled`);
    if (job.plan?.farm && this.options.farm) {
      this.options.farm
        .cancel(job, reason)
        .catch((err: unknown) => this.options.log('warn', `job ${id}: the farm did not take the cancel: ${describeError(err)}`));
    }
    this.finish(job, 'canceled', reason);
    return job;
  }

  /** Why workers cannot start, if they cannot (Blender missing): shown by job errors. */
  get workerStartProblem(): string | undefined {
    return this.dispatch.startError;
  }

  /** The pool rests after a crash loop: no new workers until then. */
  get restingUntil(): number {
    return this.crashLoop.restingUntil;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.options.farm?.stopAll();
    clearInterval(this.supervisor);
    for (const live of this.live.values()) this.store.save(live.record, { durable: true });
  }

  // ---- admission and tasks ----

  private admit(record: JobRecord) {
    const runner = this.runners.get(record.kind);
    if (!runner) throw new Error(`no runner for job kind ${record.kind}`);
    const job = liveJob(record, runner);
    this.live.set(record.id, job);
    // Units known without asking Blender (exports): plan now, so the job's workers can start at once.
    if (!runner.planTask(record)) {
      job.phase = 'planning';
      void this.planned(job, undefined).then(() => this.pump());
    }
  }

  private pump() {
    if (!this.closed) this.dispatch.pump();
  }

  /** A task went to a worker: the job is running from its first task on, and shows the task in its progress. */
  private taskStarted(job: LiveJob, task: Task) {
    if (job.record.state === 'queued') {
      job.record.startedAt ??= new Date().toISOString();
      this.setState(job.record, 'running');
    }
    this.progressFeed.watchSamples(job, task);
    this.progressFeed.queue(job);
  }

  // ---- results ----

  private async taskEnded(job: LiveJob, task: Task, result: TaskOutcome | unknown) {
    job.tasks.delete(task.id);
    task.stopWatching?.();
    this.options.alerts?.resolve(`memory-near:${task.worker.id}`);
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
      this.options.log('error', `job ${record.id}: ${(err as Error).stack ?? String(err)}`);
      this.finish(record, 'failed', `internal error while handling a result: ${describeError(err)}`);
    }
    this.pump();
  }

  private async planEnded(job: LiveJob, task: Task, result: TaskOutcome | unknown) {
    if (!isAnswer(result)) {
      const error = this.policy.planDied(job, task.worker, result);
      if (error) this.finish(job.record, 'failed', error);
      else job.phase = 'waiting';
      return;
    }
    if (!result.ok) {
      this.finish(job.record, 'failed', this.policy.planTaskFailed(job, task.worker, result));
      return;
    }
    this.policy.planSucceeded(task.worker);
    await this.planned(job, result.result);
  }

  private async planned(job: LiveJob, planResult: Record<string, unknown> | undefined) {
    const record = job.record;
    try {
      record.units = await job.runner.plan(record, planResult);
    } catch (err) {
      if (!(err instanceof DomainError)) throw err;
      this.finish(record, 'failed', err.message);
      return;
    }
    job.phase = 'running';
    skipBlocked(record);
    this.store.save(record);
    this.progressFeed.queue(job);
    this.maybeFinished(job);
  }

  /** A unit's attempt ended: the files are checked (runner.accept) and the policy judges whatever went wrong. */
  private async unitEnded(job: LiveJob, task: Task, unit: WorkUnit, result: TaskOutcome | unknown) {
    const attempt = task.attempt!;
    attempt.endedAt = new Date().toISOString();
    const seconds = (Date.parse(attempt.endedAt) - Date.parse(attempt.startedAt)) / 1000;
    let failure: AttemptFailure;
    if (!isAnswer(result)) {
      failure = this.policy.unitDied(job, unit, attempt, task.worker, result, seconds);
    } else {
      task.peakRssBytes = Math.max(task.peakRssBytes, result.peakRssBytes ?? 0);
      if (!result.ok) {
        failure = this.policy.unitTaskFailed(job, unit, task.worker, result);
      } else {
        const verdict = await job.runner.accept(job.record, unit, result, task.worker.id);
        if (verdict.ok) {
          this.policy.unitSucceeded(job, unit, task.worker);
          this.unitDone(job, task, unit, verdict, result.seconds);
          return;
        }
        failure = verdict;
      }
    }
    this.unitFailed(job, task, unit, failure, seconds);
  }

  private unitDone(job: LiveJob, task: Task, unit: WorkUnit, verdict: Extract<UnitVerdict, { ok: true }>, seconds: number) {
    Object.assign(task.attempt!, { outcome: 'done' });
    unit.state = 'done';
    unit.output = verdict.output;
    unit.result = verdict.result;
    unit.seconds = seconds;
    unit.error = undefined;
    job.finishTimes.push(Date.now());
    job.last = { key: unit.key, label: unit.label, output: verdict.output, ...(verdict.preview ? { preview: verdict.preview } : {}) };
    job.peakRssBytes = Math.max(job.peakRssBytes ?? 0, task.peakRssBytes);
    this.events.unitFinished(job.record, unit, 'done', seconds);
    this.store.save(job.record);
    this.progressFeed.queue(job);
    this.maybeFinished(job);
  }

  private unitFailed(job: LiveJob, task: Task, unit: WorkUnit, failure: AttemptFailure, seconds: number) {
    const record = job.record;
    Object.assign(task.attempt!, { outcome: failure.outcome, reason: failure.reason });
    job.runner.discard(record, unit, task.worker.id);
    this.events.unitFinished(record, unit, failure.outcome, seconds);
    const decision = retryDecision(unit, failure, job.limits);
    if (decision.retry) {
      excludeWorker(job, unit, task.worker.id);
      unit.state = 'pending';
      const at = Date.now() + decision.waitS * 1000;
      unit.retryAt = new Date(at).toISOString();
      this.dispatch.wakeAt(at);
      if (decision.onCpu) unit.forceCpu = true;
      const where = decision.onCpu ? 'on the CPU' : 'on another worker';
      this.options.log('info', `job ${record.id}: ${unit.label} will be retried ${where} in ${decision.waitS} s (${failure.reason})`);
    } else {
      unit.state = 'failed';
      unit.error = decision.error;
      skipBlocked(record);
    }
    this.store.save(record);
    this.progressFeed.queue(job);
    this.maybeFinished(job);
  }

  // ---- ending a job ----

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
    this.finish(record, 'failed', `${failed.length} of ${record.units.length} ${job.runner.unitNoun} failed: ${shown.join('; ')}${more}`);
  }

  private finish(record: JobRecord, state: JobState, error?: string) {
    const job = this.live.get(record.id);
    this.live.delete(record.id);
    record.finishedAt = new Date().toISOString();
    if (error) record.error = error;
    if (job) this.wrapUp(job);
    // The last progress goes out before the state change, so a follower sees 12/12 before "completed".
    this.setState(record, state, job ? () => this.progressFeed.sendNow(job) : undefined);
    if (state === 'failed') {
      this.options.alerts?.raise({
        key: `job-failed:${record.id}`,
        level: 'ERROR',
        what: `${record.kind} job ${record.id} failed: ${(record.error ?? '').split('\n')[0]}`,
        where: String(record.params.blendFile ?? record.id),
        action: 'job.get shows every attempt and why it failed; fix the cause and submit again (finished frames are kept)',
      });
    }
    this.waiters.release(record.id);
  }

  /** The runner's summary and cleanup of a job that ended: a failure in either is logged, never lost in the job's end. */
  private wrapUp(job: LiveJob) {
    const record = job.record;
    try {
      record.result = job.runner.summarize(record);
    } catch (err) {
      this.options.log('warn', `job ${record.id}: could not summarize: ${describeError(err)}`);
    }
    try {
      job.runner.finished?.(record);
    } catch (err) {
      this.options.log('warn', `job ${record.id}: cleanup failed: ${describeError(err)}`);
    }
  }

  private setState(record: JobRecord, state: JobState, beforeEvent?: () => void) {
    const previous = record.state;
    if (previous === state) return;
    record.state = state;
    this.store.save(record, { durable: true });
    beforeEvent?.();
    this.events.state(record, previous);
  }
}
