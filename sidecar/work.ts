/**
 * The sidecar's work, opened together: the worker pool, the scheduler with a runner per job kind, the farms, the sync
 * store, and what watches them (disk space, retention, metrics, worker.stats). app.ts opens it once and closes it on
 * shutdown; each part that started registers its undo with `onFailure`, for a start that fails later on.
 */
import { join } from 'node:path';
import { watchDisks } from './domain/alerts/disk-watch.js';
import type { AlertCenter } from './domain/alerts/alerts.js';
import { BakeRunner } from './domain/bake/bake-runner.js';
import { SimulationBakeRunner } from './domain/bake/simulation-runner.js';
import type { BlenderInstallation } from './domain/blender/blender.js';
import { ExportRunner } from './domain/export/export-runner.js';
import { FarmExecutor } from './domain/farm/farm-executor.js';
import { FlamencoFarm } from './domain/farm/flamenco/flamenco-farm.js';
import { SlurmFarm } from './domain/farm/slurm/slurm-farm.js';
import { TERMINAL } from './domain/jobs/job.js';
import { JobStore } from './domain/jobs/job-store.js';
import { Scheduler } from './domain/jobs/scheduler.js';
import { PipelineRunner } from './domain/pipeline/pipeline-runner.js';
import { RenderRunner } from './domain/render/render-runner.js';
import { openSyncStore } from './domain/sync/journal-persistence.js';
import { Placement } from './domain/workers/placement.js';
import { WorkerPool } from './domain/workers/pool.js';
import { WorkerRegistry } from './domain/workers/worker-registry.js';
import type { EventBus } from './events/bus.js';
import { jobEvents, workerStatsEvents } from './events/wiring.js';
import { jobEndedUnwatched } from './lifecycle.js';
import type { Logger } from './log.js';
import type { Metrics } from './metrics/registry.js';
import { jobMetrics, schedulerGauges, workerMetrics } from './metrics/wiring.js';
import type { Settings } from './options.js';
import { workerDir } from './paths.js';
import { SceneSyncMemory } from './domain/render/scene-sync-memory.js';
import { pruneFinishedJobs, stateFaults } from './state-faults.js';

/** What the work is made with. */
export interface WorkParts {
  settings: Settings;
  log: Logger;
  bus: EventBus;
  metrics: Metrics;
  alerts: AlertCenter;
  /** The default Blender (the first one found). */
  blender: BlenderInstallation;
  /** Clients connected now: a job that ends with none is noted for the next one (lifecycle.ts). */
  clients: () => number;
  onFailure: (undo: () => unknown) => void;
}

export type Work = ReturnType<typeof openWork>;

/**
 * The workers and the jobs: the pool, the scheduler with a runner per job kind, the farms, the sync store, and what
 * watches them (disk space, retention, metrics). `close` stops them in order; the sync store is closed apart, last.
 */
export function openWork(core: WorkParts) {
  const { settings, log, bus, metrics, alerts, onFailure } = core;
  const { stateDir, options } = settings;
  const pool = openPool(core);
  const placement = new Placement(settings.placement);
  // A frame starting while others render gets its share of the cores; one rendering alone gets all of them.
  const threads = () => placement.threads(pool.list().filter((w) => w.state === 'busy').length);
  const faults = stateFaults(alerts, stateDir, log);
  const jobStore = new JobStore(stateDir, faults.jobs);
  const farmLog = (level: 'info' | 'warn', message: string) => log[level](message);
  const farm = new FarmExecutor([
    new FlamencoFarm({ defaultUrl: options.flamencoUrl, pollMs: options.farmPollMs, log: farmLog }),
    new SlurmFarm({ ...options.slurm, pollMs: options.farmPollMs, log: farmLog }),
  ]);
  const sync = openSyncStore(stateDir, faults.journalWarning, faults.sync);
  onFailure(() => sync.close());
  const events = jobEvents(bus);
  const feed = jobMetrics(metrics, () => scheduler.list());
  const scheduler = new Scheduler({
    pool,
    store: jobStore,
    events: {
      state: (job, previous) => {
        events.stateChanged(job, previous);
        feed.stateChanged(job);
        log.info(`job ${job.id} ${job.state}${job.error ? `: ${job.error.split('\n')[0]}` : ''}`);
        if (TERMINAL.has(job.state) && core.clients() === 0) jobEndedUnwatched(stateDir, job, log);
      },
      progress: events.progress,
      unitFinished: (job, _unit, outcome, seconds) => feed.unitFinished(job, outcome, seconds),
    },
    log: (level, message) => log[level](message),
    runners: [
      new RenderRunner(() => pool.size, threads, new SceneSyncMemory(stateDir)),
      new ExportRunner(() => pool.size),
      new BakeRunner(() => pool.size),
      new SimulationBakeRunner(() => pool.size),
      new PipelineRunner(stateDir, () => pool.size, threads),
    ],
    alerts,
    crashLoop: options.crashLoop,
    farm,
    placement,
  });
  onFailure(() => scheduler.close());
  const stopDiskWatch = watchDisks(alerts, () => outputsOfUnfinishedJobs(scheduler), options.disk);
  onFailure(stopDiskWatch);
  schedulerGauges(metrics, scheduler);
  workerMetrics(metrics, pool);
  workerStatsEvents(bus, pool);
  if (options.warm) warmUp(pool, core);
  const resumed = scheduler.restore(
    jobStore.loadAll(faults.damagedJob, options.skipFinishedJobs ? { skipFinished: settings.retention } : {}),
  );
  if (resumed > 0) log.info(`resuming ${resumed} unfinished job(s)`);
  const stopPruning = pruneFinishedJobs(scheduler, settings.retention, log);
  onFailure(stopPruning);
  const close = async () => {
    stopDiskWatch();
    stopPruning();
    await scheduler.close();
    jobStore.close();
    await pool.close();
  };
  return { pool, scheduler, farm, sync, close };
}

/** The worker pool, after ending any Blender worker a previous sidecar on this folder left running. */
function openPool({ settings, log, blender, onFailure }: WorkParts): WorkerPool {
  const registry = new WorkerRegistry(settings.stateDir);
  const reaped = registry.reapOrphans();
  if (reaped.length > 0) log.warn(`ended ${reaped.length} Blender worker(s) left by a previous sidecar: pids ${reaped.join(', ')}`);
  const { options } = settings;
  const pool = new WorkerPool({
    blender: () => blender.path(),
    workerDir: workerDir(),
    instances: settings.instances,
    threads: options.threads,
    factorySettings: options.factorySettings,
    idleRetireMs: options.idleRetireMs,
    recycleAfterTasks: options.recycleAfterTasks,
    registry,
    pythonCache: join(settings.stateDir, 'python-cache'),
    log: (level, message) => log[level](message),
  });
  onFailure(() => pool.close());
  return pool;
}

/** `warm`: every worker started now, so the first job costs no Blender start-up. */
function warmUp(pool: WorkerPool, { blender, log }: WorkParts): void {
  try {
    blender.path();
  } catch {
    return; // No Blender: the blender-missing alert says so.
  }
  for (let i = 0; i < pool.size; i++) pool.grow().catch((err: unknown) => log.warn(`a worker could not start: ${(err as Error).message}`));
}

/** The folders unfinished jobs write to: the disk watch warns when one runs low. */
function outputsOfUnfinishedJobs(scheduler: Scheduler): string[] {
  return scheduler
    .list()
    .filter((j) => !TERMINAL.has(j.state))
    .flatMap((j) => [j.params.output, ...((j.params.items as Array<{ output: string }> | undefined) ?? []).map((i) => i.output)])
    .filter((o): o is string => typeof o === 'string' && o.startsWith('/'));
}
