/**
 * A job that runs on a farm, as the scheduler follows it: the farm module reports it started, its frames done, and
 * its end; the job is then listed, persisted, summarized and announced like a local one, though no local worker
 * touches it.
 */
import type { ExternalJobHost } from '../farm/farm-executor.js';
import { TERMINAL, type JobRecord, type JobState } from './job.js';

/** What following a farm job asks of the scheduler. */
export interface FarmJobKeeper {
  /** The job changes state (persisted and announced). */
  setState(record: JobRecord, state: JobState): void;
  save(record: JobRecord): void;
  /** Announces where the job stands now. */
  sendProgress(record: JobRecord): void;
  /** The summary a local job of its kind gets. */
  summarize(record: JobRecord): Record<string, unknown> | undefined;
  /** Ends the job: finished time, error, waiters released. */
  finish(record: JobRecord, state: JobState, error?: string): void;
}

export function farmJobHost(record: JobRecord, keeper: FarmJobKeeper): ExternalJobHost {
  return {
    started: () => {
      if (record.state !== 'queued') return;
      record.startedAt ??= new Date().toISOString();
      keeper.setState(record, 'running');
    },
    progress: (done) => {
      if (TERMINAL.has(record.state)) return;
      // A farm that only counts frames (Flamenco) says how many; one that keeps per-frame books (Slurm) set them.
      if (done !== undefined) for (const [i, u] of record.units.entries()) u.state = i < done ? 'done' : 'pending';
      keeper.save(record);
      keeper.sendProgress(record);
    },
    finish: (state, error) => {
      if (TERMINAL.has(record.state)) return;
      if (state === 'completed') for (const u of record.units) if (u.state !== 'skipped') u.state = 'done';
      // A farm job can run and end between two polls: it did start, even if no poll saw it running.
      if (state !== 'canceled') record.startedAt ??= new Date().toISOString();
      // The same summary as a local job of its kind, plus the farm's id for the job.
      record.result = { ...keeper.summarize(record), farmJobId: record.plan?.farmJobId };
      keeper.finish(record, state, error);
      keeper.sendProgress(record);
    },
  };
}
