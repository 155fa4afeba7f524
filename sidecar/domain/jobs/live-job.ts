/**
 * What the scheduler knows of a job while it runs, beyond its persisted record: its tasks on workers, which workers
 * each unit already failed on, crashes held back until it is clear whose fault they were, and its progress pacing.
 * Dropped when the job ends; the record is what survives.
 */
import type { SampleProgress } from '../render/render-stats.js';
import type { BlenderWorker } from '../workers/blender-worker.js';
import type { Attempt, JobRecord, WorkUnit } from './job.js';
import type { JobProgress } from './progress.js';
import type { JobLimits, JobRunner, TaskRequest } from './runner.js';

/** One task on one worker: a unit's attempt, or the job's planning task. */
export interface Task {
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

export interface LiveJob {
  record: JobRecord;
  runner: JobRunner;
  limits: JobLimits;
  phase: 'waiting' | 'planning' | 'running';
  planAttempts: number;
  /** Workers the planning task failed on: it is not given to them again. */
  planExcluded: Set<string>;
  /** Workers each unit failed on, by unit key: a retry goes elsewhere. */
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

/** A job just admitted: nothing run yet, waiting for its planning task (or for its units, when planned at once). */
export function liveJob(record: JobRecord, runner: JobRunner): LiveJob {
  return {
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
  };
}

/** Keeps a unit off a worker it failed on. */
export function excludeWorker(job: LiveJob, unit: WorkUnit, workerId: string): void {
  let set = job.excluded.get(unit.key);
  if (!set) job.excluded.set(unit.key, (set = new Set()));
  set.add(workerId);
}

/** A job the sidecar stopped during: its running units go back to pending, their attempts marked lost (not failed). */
export function resumeUnits(record: JobRecord): void {
  for (const unit of record.units) {
    if (unit.state !== 'running') continue;
    unit.state = 'pending';
    const a = unit.attempts.at(-1);
    if (a && !a.outcome)
      Object.assign(a, { outcome: 'lost', reason: 'the sidecar stopped during this attempt', endedAt: new Date().toISOString() });
  }
}
