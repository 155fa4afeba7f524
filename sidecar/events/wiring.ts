/**
 * What the event bus publishes from the scheduler and the pool: job.state and job.progress as jobs move, worker.stats
 * from the pool's samples. (Alerts publish themselves; gn.changed goes per channel through the sync store.)
 */
import type { JobRecord, JobState } from '../domain/jobs/job.js';
import type { JobProgress } from '../domain/jobs/scheduler.js';
import type { BlenderWorker } from '../domain/workers/blender-worker.js';
import type { WorkerPool } from '../domain/workers/pool.js';
import type { EventBus } from './bus.js';

/** What the scheduler's events call to tell subscribers. */
export function jobEvents(bus: EventBus) {
  return {
    stateChanged(job: JobRecord, previous: JobState): void {
      bus.publish('job.state', {
        jobId: job.id,
        kind: job.kind,
        state: job.state,
        previous,
        error: job.error,
        result: job.result,
        blender: job.blender,
      });
    },
    progress(_job: JobRecord, progress: JobProgress): void {
      bus.publish('job.progress', progress);
    },
  };
}

/** worker.stats on each pool sample, rounded for people; built only while someone subscribes. */
export function workerStatsEvents(bus: EventBus, pool: WorkerPool): void {
  pool.on('sampled', (workers: BlenderWorker[]) => {
    if (bus.listenerCount('worker.stats') === 0) return;
    bus.publish('worker.stats', {
      workers: workers.map((w) => ({
        id: w.id,
        pid: w.pid,
        state: w.state,
        cpuPercent: Math.round(w.cpuPercent * 10) / 10,
        rssMB: Math.round(w.rssBytes / 2 ** 20),
        label: w.current?.label,
      })),
    });
  });
}
