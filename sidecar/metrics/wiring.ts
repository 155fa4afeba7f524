/**
 * Where each metric's numbers come from: the scheduler's job and task events, its queue (read at scrape time), the
 * pool's samples and exits, RPC calls and connections. registry.ts says what is measured; this file feeds it.
 */
import { TERMINAL, type AttemptOutcome, type JobRecord } from '../domain/jobs/job.js';
import type { Scheduler } from '../domain/jobs/scheduler.js';
import type { BlenderWorker } from '../domain/workers/blender-worker.js';
import type { WorkerPool } from '../domain/workers/pool.js';
import type { Metrics } from './registry.js';

/** What the scheduler's events call to keep the job metrics current. */
export interface JobMetricsFeed {
  /** After `job` changed state: the jobs gauge, and for an ended job its duration and failure reason. */
  stateChanged(job: JobRecord): void;
  /** A task (frame, export item, ...) of `job` ended, taking `seconds`. */
  unitFinished(job: JobRecord, outcome: AttemptOutcome, seconds: number): void;
}

/** The job metrics; `jobs` lists every job the scheduler knows (it is read on each change, never kept). */
export function jobMetrics(metrics: Metrics, jobs: () => readonly JobRecord[]): JobMetricsFeed {
  return {
    stateChanged(job) {
      metrics.jobsByState.reset();
      const counts = new Map<string, number>();
      for (const j of jobs()) counts.set(`${j.kind}|${j.state}`, (counts.get(`${j.kind}|${j.state}`) ?? 0) + 1);
      for (const [k, n] of counts) {
        const [kind, state] = k.split('|') as [string, string];
        metrics.jobsByState.set({ kind, state }, n);
      }
      if (TERMINAL.has(job.state) && job.startedAt) {
        metrics.jobSeconds.observe(
          { kind: job.kind, state: job.state },
          (Date.parse(job.finishedAt ?? '') - Date.parse(job.startedAt)) / 1000 || 0,
        );
      }
      if (job.state === 'failed') metrics.jobFailures.inc({ kind: job.kind, reason: failureReason(job) });
    },
    unitFinished(job, outcome, seconds) {
      metrics.unitAttempts.inc({ kind: job.kind, outcome });
      if (job.kind === 'render' && outcome === 'done') {
        metrics.framesRendered.inc();
        metrics.frameSeconds.observe(seconds);
      }
    },
  };
}

/** The gauges read at scrape time from the scheduler (queue depth, frames per second, open job.wait calls). */
export function schedulerGauges(metrics: Metrics, scheduler: Scheduler): void {
  metrics.bind({
    jobWaiters: () => scheduler.waiterCount,
    queueDepth: () => {
      const depth = { high: 0, normal: 0, low: 0 };
      for (const j of scheduler.list()) {
        if (TERMINAL.has(j.state)) continue;
        depth[j.priority] += j.units.filter((u) => u.state === 'pending').length || (j.units.length === 0 ? 1 : 0);
      }
      return depth;
    },
    framesPerSecond: () =>
      scheduler
        .list()
        .filter((j) => j.kind === 'render' && j.state === 'running')
        .reduce((sum, j) => sum + scheduler.progress(j.id).unitsPerSecond, 0),
  });
}

/** Worker restarts by reason, and each live worker's CPU and memory from the pool's samples. */
export function workerMetrics(metrics: Metrics, pool: WorkerPool): void {
  pool.on('exit', (_w, info: { reason: string }) => metrics.workerRestarts.inc({ reason: info.reason }));
  pool.on('sampled', (workers: BlenderWorker[]) => {
    // Reset first: a worker that has exited must leave the gauges, not stay at its last value.
    metrics.workerCpu.reset();
    metrics.workerRss.reset();
    for (const w of workers) {
      metrics.workerCpu.set({ worker: w.id }, w.cpuPercent);
      metrics.workerRss.set({ worker: w.id }, w.rssBytes);
    }
  });
}

/** Requests by method and outcome with their durations, and open connections. */
export function rpcMetrics(metrics: Metrics) {
  return {
    call(method: string, outcome: string, seconds: number): void {
      metrics.rpcRequests.inc({ method, outcome });
      metrics.rpcDuration.observe({ method }, seconds);
    },
    connectionOpened: () => metrics.connections.inc(),
    connectionClosed: () => metrics.connections.dec(),
  };
}

/** The class of failure that ended a job: the outcome of its failed units' last attempts, the most common one. */
function failureReason(job: { units: Array<{ state: string; attempts: Array<{ outcome?: string }> }> }): string {
  const counts = new Map<string, number>();
  for (const u of job.units) {
    if (u.state !== 'failed') continue;
    const outcome = u.attempts.at(-1)?.outcome ?? 'planning';
    counts.set(outcome, (counts.get(outcome) ?? 0) + 1);
  }
  return [...counts.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? 'planning';
}
