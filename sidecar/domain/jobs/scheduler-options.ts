/** What a Scheduler is made of (its parts and settings), and the events it tells the rest of the sidecar. */
import type { AlertCenter } from '../alerts/alerts.js';
import type { FarmExecutor } from '../farm/farm-executor.js';
import type { Placement } from '../workers/placement.js';
import type { WorkerPool } from '../workers/pool.js';
import type { AttemptOutcome, JobRecord, JobState, WorkUnit } from './job.js';
import type { JobStore } from './job-store.js';
import type { JobProgress } from './progress.js';
import type { JobRunner } from './runner.js';
import type { CrashLoopOptions } from './supervisor.js';

export interface SchedulerEvents {
  state(job: JobRecord, previous: JobState): void;
  progress(job: JobRecord, progress: JobProgress): void;
  unitFinished(job: JobRecord, unit: WorkUnit, outcome: AttemptOutcome, seconds: number): void;
}

export interface SchedulerOptions {
  pool: WorkerPool;
  store: JobStore;
  events: SchedulerEvents;
  log: (level: 'info' | 'warn' | 'debug' | 'error', message: string) => void;
  /** One per kind of job: what the scheduler knows of renders, exports, bakes, pipelines. */
  runners: JobRunner[];
  alerts?: AlertCenter;
  /** Worker deaths within `windowMs` that make the pool rest for `restMs` (default 3 in 60 s, rest 30 s). */
  crashLoop?: CrashLoopOptions;
  /** Warn when a worker's memory passes this share of its job's memoryLimitMB (default 0.8). */
  memoryWarnShare?: number;
  /** Runs render jobs that name a farm. */
  farm?: FarmExecutor;
  /** Threads per task and workers per job by memory (default: the machine's cores and free memory, no budget). */
  placement?: Placement;
}
