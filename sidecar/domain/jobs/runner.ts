/**
 * What a kind of job (render, export) teaches the scheduler: how to plan its work, what to send a worker for each unit,
 * and how to check and keep a unit's output. Retries, priorities, cancellation and supervision are the scheduler's.
 */
import type { TaskOutcome, WorkerTask } from '../workers/blender-worker.js';
import type { JobRecord, NodeProgress, WorkUnit } from './job.js';

export interface TaskRequest {
  /** The worker task, without its id (the scheduler gives one). */
  payload: Omit<WorkerTask, 'id'>;
  label: string;
  frame?: number;
  /**
   * The file this task opens, when it is not the job's (a pipeline step opens what the step before it wrote), and the
   * key under which a worker may keep it open for the next task.
   */
  file?: { blendFile: string; jobKey: string };
}

/** Settings every job has, in the units the scheduler uses. */
export interface JobLimits {
  instances: number;
  timeoutS: number;
  maxRetries: number;
  memoryLimitMB?: number;
  /** A unit whose GPU ran out of memory is retried on the CPU (render.submit's cpuFallback). */
  cpuFallback?: boolean;
}

/** A job's limits from its params as every submit method names them: `instances` at most the pool's size. */
export function limitsOf(
  p: { instances?: number; timeoutS: number; maxRetries: number; memoryLimitMB?: number; cpuFallback?: boolean },
  poolSize: number,
): JobLimits {
  return {
    instances: Math.min(p.instances ?? poolSize, poolSize),
    timeoutS: p.timeoutS,
    maxRetries: p.maxRetries,
    memoryLimitMB: p.memoryLimitMB,
    cpuFallback: p.cpuFallback === true,
  };
}

export type UnitVerdict =
  /** preview: a small picture of the output (a render frame's), carried by job.progress's `last`. */
  | { ok: true; output?: string; preview?: string; result?: Record<string, unknown> }
  /** retryable: a second attempt (on another worker) may succeed. */
  | { ok: false; retryable: boolean; outcome: 'bad-output' | 'input-error' | 'python-error'; reason: string };

export interface JobRunner {
  readonly kind: JobRecord['kind'];
  /** What this kind of job calls its units, in the plural, for sentences like "2 of 12 frames failed". */
  readonly unitNoun: string;
  limits(job: JobRecord): JobLimits;
  /**
   * The blend file and job key that every task of this job uses (a worker with it open is preferred), and what a
   * worker applies right after opening it (a sync channel's Geometry Nodes values).
   */
  fileOf(job: JobRecord): { blendFile: string; jobKey: string; gn?: unknown };
  /** The planning task, run first on some worker; undefined when the units are known without Blender. */
  planTask(job: JobRecord): TaskRequest | undefined;
  /**
   * Turns the planning result into units (on resume, `job.units` holds the previous ones: keep what is done).
   * Throws a DomainError when the plan shows the job cannot run (a missing scene): the job fails with it.
   */
  plan(job: JobRecord, planResult: Record<string, unknown> | undefined): Promise<WorkUnit[]>;
  task(job: JobRecord, unit: WorkUnit, workerId: string): TaskRequest;
  /**
   * At most how many workers the job should have now, when the kind of job knows better than its instances limit (a
   * render whose scene sync is dear); `note` says why when it is below `wanted`.
   */
  workerCap?(job: JobRecord, wanted: number): { cap: number; note?: string } | undefined;
  /** Checks what a successful task produced (the files are the truth, not the exit status) and puts it in place. */
  accept(job: JobRecord, unit: WorkUnit, outcome: Extract<TaskOutcome, { ok: true }>, workerId: string): Promise<UnitVerdict>;
  /** Removes what a failed or canceled attempt left (partial files). */
  discard(job: JobRecord, unit: WorkUnit, workerId: string): void;
  /** The job's result summary once every unit has ended. */
  summarize(job: JobRecord): Record<string, unknown>;
  /** Runs once when the job ends, whatever the state (deletes a temporary blend file). */
  finished?(job: JobRecord): void;
  /** Whether a pending unit whose dependencies are done may start now (a per-node limit on workers); default yes. */
  mayStart?(job: JobRecord, unit: WorkUnit, running: WorkUnit[]): boolean;
  /** Progress by group of units (a pipeline's nodes), sent with the job's progress. */
  nodeProgress?(job: JobRecord): Record<string, NodeProgress>;
}
