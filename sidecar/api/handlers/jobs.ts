/** Handlers for job.* and worker.list. */
import type { JobRecord } from '../../domain/jobs/job.js';
import { jobPreviews } from '../../domain/render/preview.js';
import type { Scheduler } from '../../domain/jobs/scheduler.js';
import type { WorkerPool } from '../../domain/workers/pool.js';
import type { Handlers } from '../../protocol/method.js';
import { InvalidInputError } from '../../domain/errors.js';
import type { CallContext, Session } from '../session.js';
import type { jobMethods } from '../spec/jobs.js';

function jobView(scheduler: Scheduler, job: JobRecord) {
  return { ...job, progress: scheduler.progress(job.id), ...(job.kind === 'render' ? { previews: jobPreviews(job) } : {}) };
}

function jobSummary(scheduler: Scheduler, job: JobRecord) {
  const { units: _u, params, plan: _p, ...rest } = job;
  return {
    ...rest,
    progress: scheduler.progress(job.id),
    blendFile: typeof params.blendFile === 'string' ? params.blendFile : undefined,
    output: typeof params.output === 'string' ? params.output : exportOutput(params.items),
  };
}

/** Most job.wait calls one connection may have open at once: each holds memory until its job ends. */
const MAX_WAITS_PER_CONNECTION = 1000;

export function jobHandlers(scheduler: Scheduler, pool: WorkerPool): Handlers<typeof jobMethods, CallContext> {
  const waiting = new WeakMap<Session, number>();
  return {
    'job.get': ({ jobId }) => jobView(scheduler, scheduler.get(jobId)),
    'job.list': ({ state, kind, limit }) => {
      const jobs = scheduler
        .list()
        .filter((j) => (!state || state.includes(j.state)) && (!kind || j.kind === kind))
        .sort((a, b) => b.createdAt.localeCompare(a.createdAt))
        .slice(0, limit);
      return { jobs: jobs.map((j) => jobSummary(scheduler, j)) };
    },
    'job.cancel': ({ jobId }) => jobView(scheduler, scheduler.cancel(jobId)),
    'job.wait': async ({ jobId, timeoutMs }, { session }) => {
      // A waiter ends with its connection: nobody is left to answer, so the job's end costs it nothing.
      const ended = new AbortController();
      if ((waiting.get(session) ?? 0) >= MAX_WAITS_PER_CONNECTION) {
        throw new InvalidInputError('jobId', `this connection already waits on ${MAX_WAITS_PER_CONNECTION} jobs; wait for fewer at once`, {
          limit: 'waits',
          max: MAX_WAITS_PER_CONNECTION,
        });
      }
      const stop = session.onClose(() => ended.abort());
      waiting.set(session, (waiting.get(session) ?? 0) + 1);
      try {
        return jobView(scheduler, await scheduler.wait(jobId, timeoutMs, ended.signal));
      } finally {
        stop();
        waiting.set(session, (waiting.get(session) ?? 1) - 1);
      }
    },
    'worker.list': () => ({
      size: pool.size,
      threadsPerInstance: pool.threads,
      workers: pool.list().map((w) => ({
        id: w.id,
        pid: w.pid,
        state: w.state,
        cpuPercent: Math.round(w.cpuPercent * 10) / 10,
        rssMB: Math.round(w.rssBytes / 2 ** 20),
        tasksDone: w.tasksDone,
        blenderVersion: w.blenderVersion,
        blender: w.blender,
        openFile: w.openFile,
        warmedUp: w.warmedUp,
        pythonCache: w.pythonCache,
        current: w.current
          ? {
              jobId: w.current.jobId,
              label: w.current.label,
              frame: w.current.frame,
              startedAt: new Date(w.current.startedAt).toISOString(),
              seconds: Math.round((Date.now() - w.current.startedAt) / 100) / 10,
            }
          : undefined,
        startedAt: new Date(w.startedAt).toISOString(),
      })),
    }),
  };
}

/** Where an export job writes: its one file, or the folder its files share. */
function exportOutput(items: unknown): string | undefined {
  if (!Array.isArray(items) || items.length === 0) return undefined;
  const outputs = items.map((i) => (i as { output?: string }).output).filter((o): o is string => typeof o === 'string');
  if (outputs.length === 1) return outputs[0];
  const dirs = outputs.map((o) => o.slice(0, o.lastIndexOf('/') + 1));
  let common = dirs[0] ?? '';
  for (const d of dirs) while (!d.startsWith(common)) common = common.slice(0, common.lastIndexOf('/', common.length - 2) + 1);
  return common || undefined;
}
