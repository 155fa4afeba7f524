/**
 * The result and retry policy: what a finished or failed attempt was, whether a retry can help, when and where.
 *
 * Crashes need care: a worker that dies on its own may be Blender's fault (or the machine's), or the file's. One crash
 * on a unit is held back; if a retry elsewhere works, it was Blender's and counts towards the crash-loop rest. A second
 * worker killed by the same unit (or by opening the same file) means the file kills Blender: the job fails with a
 * sentence saying so, and a Blender that several files kill in a row with nothing succeeding between rests the pool too.
 */
import { WorkerDiedError, type BlenderWorker, type TaskOutcome } from '../workers/blender-worker.js';
import { backoffSeconds, classifyDeath, classifyTaskError } from './classify.js';
import {
  cannotOpenSentence,
  deathSentence,
  diedSentence,
  fileKillsBlenderSentence,
  newerFileHint,
  taskErrorSentence,
  versionOf,
  type FailedOutcome,
} from './failure-sentences.js';
import type { Attempt, AttemptOutcome, WorkUnit } from './job.js';
import type { LiveJob } from './live-job.js';
import type { JobLimits } from './runner.js';
import type { CrashLoopGuard } from './supervisor.js';

/** Outcomes of a worker that died on its own while on a unit: twice on one unit, and the file is the cause. */
const CRASHES: ReadonlySet<string> = new Set(['segfault', 'crashed']);

/** An attempt that gave no usable result, judged: what it was, why in words, and whether a retry may help. */
export interface AttemptFailure {
  outcome: AttemptOutcome;
  reason: string;
  retryable: boolean;
  /** A retry should run on the CPU (the GPU ran out of memory), if the job allows it. */
  cpuFallback?: boolean;
}

export type RetryDecision = { retry: true; waitS: number; onCpu: boolean } | { retry: false; error: string };

/**
 * Whether a unit whose latest attempt failed (already recorded on it) is tried again: only when a retry may help and
 * it has not failed more than maxRetries times; after a backoff that grows with each failure.
 */
export function retryDecision(unit: WorkUnit, failure: AttemptFailure, limits: JobLimits): RetryDecision {
  const failures = unit.attempts.filter((a) => a.outcome && a.outcome !== 'done' && a.outcome !== 'lost').length;
  if (failure.retryable && failures <= limits.maxRetries) {
    return { retry: true, waitS: backoffSeconds(failures), onCpu: failure.cpuFallback === true && limits.cpuFallback === true };
  }
  const error = failure.retryable
    ? `${failure.reason} (failed ${failures} times, more than maxRetries ${limits.maxRetries})`
    : failure.reason;
  return { retry: false, error };
}

export class AttemptPolicy {
  /** Files that killed Blender in a row, by Blender, with no task succeeding on it between: "crashes on every file". */
  private readonly fileCrashStreak = new Map<string, number>();

  constructor(
    private readonly crashLoop: CrashLoopGuard,
    /** How many files killing one Blender in a row rest the pool (the crash-loop count). */
    private readonly streakLimit: number,
  ) {}

  /** A unit's worker ended under it (`result` is the WorkerDiedError, or whatever else the task rejected with). */
  unitDied(job: LiveJob, unit: WorkUnit, attempt: Attempt, worker: BlenderWorker, result: unknown, seconds: number): AttemptFailure {
    if (!(result instanceof WorkerDiedError))
      return { outcome: 'crashed', reason: diedSentence(result, `running ${unit.label}`), retryable: true };
    const killedFor = result.reason === 'hung' || result.reason === 'memory' || result.reason === 'canceled' ? result.reason : undefined;
    const cls = classifyDeath(result.exit.signal, result.exit.code, result.outputTail.join('\n'), killedFor);
    const reason = deathSentence(job, unit, worker, result, seconds, cls);
    const failure: AttemptFailure = { outcome: cls.outcome, reason, retryable: cls.transient, cpuFallback: cls.cpuFallback };
    if (killedFor) return failure;
    const crashedOn = unit.attempts.filter((a) => a !== attempt && CRASHES.has(a.outcome ?? '')).map((a) => a.worker);
    if (crashedOn.length > 0 && CRASHES.has(cls.outcome)) {
      // The second worker this unit kills: the file (or what it asks of Blender) is the cause, not the pool.
      job.heldCrashes.delete(unit.key);
      return {
        ...failure,
        reason: this.fileKillsBlender(job, worker, result, [...crashedOn, worker.id], `running ${unit.label}`),
        retryable: false,
      };
    }
    if (job.record.units.some((u) => u.state === 'done')) {
      // This Blender opened the file before and crashed now: the Blender (or the machine) is the suspect.
      this.crashLoop.noteCrash(failure.reason);
    } else {
      // Maybe the file: counted only if a retry elsewhere succeeds.
      job.heldCrashes.set(unit.key, failure.reason);
    }
    return failure;
  }

  /** A unit's task that Blender answered with an error (the worker lives on). */
  unitTaskFailed(job: LiveJob, unit: WorkUnit, worker: BlenderWorker, o: FailedOutcome): AttemptFailure {
    const cls = classifyTaskError(o.errorKind, o.message, o.traceback);
    const reason =
      cls.outcome === 'cannot-open'
        ? `${unit.label}: ${cannotOpenSentence(job, worker, o)}`
        : `${unit.label}: ${cls.transient ? `${cls.label}: ` : ''}${taskErrorSentence(o)}`;
    return { outcome: cls.outcome, reason, retryable: cls.transient, cpuFallback: cls.cpuFallback };
  }

  /** A unit's attempt gave a good result: its Blender is not crashing on every file, and a crash held back on it counts. */
  unitSucceeded(job: LiveJob, unit: WorkUnit, worker: BlenderWorker): void {
    this.fileCrashStreak.delete(worker.blender);
    const held = job.heldCrashes.get(unit.key);
    if (held !== undefined) {
      // It crashed once and then worked elsewhere: that crash was Blender's, and counts after all.
      job.heldCrashes.delete(unit.key);
      this.crashLoop.noteCrash(held);
    }
  }

  /**
   * The planning task (opening the file) ended without an answer: the sentence the job fails with, or undefined when
   * it is planned again on another worker.
   */
  planDied(job: LiveJob, worker: BlenderWorker, result: unknown): string | undefined {
    job.planExcluded.add(worker.id);
    if (result instanceof WorkerDiedError && result.reason === 'crashed') {
      job.planCrashes.push(worker.id);
      // The second worker that dies opening the same file: the file kills this Blender. Fail now, do not try a third.
      if (job.planCrashes.length >= 2) return this.fileKillsBlender(job, worker, result, job.planCrashes, 'opening it');
    }
    if (job.planAttempts > job.limits.maxRetries) {
      return `Blender kept failing while opening ${job.runner.fileOf(job.record).blendFile}: ${diedSentence(result, 'opening the file')}`;
    }
    return undefined;
  }

  /** The planning task that Blender answered with an error: the sentence the job fails with. */
  planTaskFailed(job: LiveJob, worker: BlenderWorker, o: FailedOutcome): string {
    const cannotOpen = classifyTaskError(o.errorKind, o.message, o.traceback).outcome === 'cannot-open';
    return cannotOpen ? cannotOpenSentence(job, worker, o) : taskErrorSentence(o);
  }

  /** The planning task opened the file: this Blender is not crashing on every file. */
  planSucceeded(worker: BlenderWorker): void {
    this.fileCrashStreak.delete(worker.blender);
  }

  /**
   * The sentence for a file that killed Blender on several workers. A Blender that does this to several files in a
   * row, with nothing succeeding between, crashes on every file: that still makes the pool rest.
   */
  private fileKillsBlender(job: LiveJob, worker: BlenderWorker, err: WorkerDiedError, workers: string[], doing: string): string {
    // A file newer than the Blender that crashed on it explains the crash by itself; only files this Blender should
    // open count towards "it crashes on every file".
    const version = versionOf(job, worker);
    const hint = newerFileHint(job, version);
    const streak = (this.fileCrashStreak.get(worker.blender) ?? 0) + (hint ? 0 : 1);
    this.fileCrashStreak.set(worker.blender, streak);
    if (streak >= this.streakLimit) {
      this.fileCrashStreak.delete(worker.blender);
      const file = job.runner.fileOf(job.record).blendFile;
      this.crashLoop.rest(
        `Blender ${version} was killed by ${streak} files or frames in a row with nothing succeeding between (the last: ${file})`,
      );
    }
    return fileKillsBlenderSentence(job, worker, err, workers, doing, hint);
  }
}

/** Whether what a task ended with is the worker's answer (ok or not), rather than its death. */
export function isAnswer(result: unknown): result is TaskOutcome {
  return !(result instanceof WorkerDiedError) && !!result && typeof result === 'object' && 'ok' in result;
}
