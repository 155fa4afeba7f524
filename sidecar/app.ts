/**
 * The sidecar, assembled: state folder, Blender, event bus, metrics, the method table's handlers, the transport, and
 * the discovery file. `startSidecar` is what `blender-sidecar serve` runs, and what tests and the demo embed.
 */
import { join } from 'node:path';
import { coreHandlers } from './api/handlers/core.js';
import { jobHandlers } from './api/handlers/jobs.js';
import { renderHandlers } from './api/handlers/render.js';
import { exportHandlers } from './api/handlers/export.js';
import { bakeHandlers } from './api/handlers/bake.js';
import { BakeRunner } from './domain/bake/bake-runner.js';
import { SimulationBakeRunner } from './domain/bake/simulation-runner.js';
import { ExportRunner } from './domain/export/export-runner.js';
import { pipelineHandlers } from './api/handlers/pipeline.js';
import { blendHandlers } from './api/handlers/blend.js';
import { PipelineRunner } from './domain/pipeline/pipeline-runner.js';
import { gnHandlers } from './api/handlers/gn.js';
import { openSyncStore } from './domain/sync/journal-persistence.js';
import { AlertCenter } from './domain/alerts/alerts.js';
import { watchDisks } from './domain/alerts/disk-watch.js';
import { TERMINAL } from './domain/jobs/job.js';
import { FarmExecutor } from './domain/farm/farm-executor.js';
import { FlamencoFarm } from './domain/farm/flamenco/flamenco-farm.js';
import { SlurmFarm, type SlurmOptions } from './domain/farm/slurm/slurm-farm.js';
import type { Services } from './api/services.js';
import { openSession, type CallContext } from './api/session.js';
import { methods, notifications, type Methods } from './api/spec/index.js';
import { readDiscovery, removeDiscovery, writeDiscovery, newToken, type Discovery } from './discovery.js';
import { BlenderInstallations } from './domain/blender/installations.js';
import { DEFAULT_RETENTION, JobStore, type RetentionPolicy } from './domain/jobs/job-store.js';
import { pruneFinishedJobs, stateFaults } from './state-faults.js';
import { followParent, jobEndedUnwatched, raiseUnwatchedNotices, type ParentWatch } from './lifecycle.js';
import { Scheduler } from './domain/jobs/scheduler.js';
import { RenderRunner } from './domain/render/render-runner.js';
import { Placement } from './domain/workers/placement.js';
import { WorkerPool } from './domain/workers/pool.js';
import { WorkerRegistry } from './domain/workers/worker-registry.js';
import { workerDir } from './paths.js';
import { EventBus } from './events/bus.js';
import { createLogger, type Logger, type LogLevel } from './log.js';
import { Metrics } from './metrics/registry.js';
import { Dispatcher } from './protocol/dispatcher.js';
import type { Handlers } from './protocol/method.js';
import { buildOpenRpcDocument } from './protocol/openrpc.js';
import { defaultStateDir, openStateDir } from './state-dir.js';
import { takeStateLock } from './state-lock.js';
import { isLoopback } from './transport/auth.js';
import { defaultLimits, listen, type TransportLimits } from './transport/server.js';
import { PROTOCOL_VERSION, VERSION } from './version.js';

export interface SidecarOptions {
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  stateDir?: string;
  allowOrigins?: string[];
  allowHosts?: string[];
  /** The Blender(s) to use (`--blender`, repeatable): exactly these. Default: BLENDER, PATH and the usual install places. */
  blender?: string | string[];
  logLevel?: LogLevel;
  /** Log to stderr as well as to the state folder's sidecar.log (default true). */
  logToStderr?: boolean;
  limits?: Partial<TransportLimits>;
  /** Write sidecar.json (default true). An embedded sidecar for one CLI call may skip it. */
  discoverable?: boolean;
  /** Worker pool size: a number, or 'auto' (from cores and free memory; the default). */
  instances?: number | 'auto';
  /** Render threads per frame, fixed (default: they follow the work, see Placement). */
  threads?: number;
  /** Resident memory all workers together stay within (default: the machine's free memory less a margin). */
  memoryBudgetMB?: number;
  /** Start workers with factory settings instead of the user's preferences. */
  factorySettings?: boolean;
  /** Retire a worker idle this long (default 10 minutes). */
  idleRetireMs?: number;
  /** Recycle a worker after this many tasks (default 500). */
  recycleAfterTasks?: number;
  /** Start every worker at once, before any job: the first job then costs no Blender start-up. */
  warm?: boolean;
  /** Crash-loop protection: this many worker crashes within the window rest the pool (see SchedulerOptions). */
  crashLoop?: { count?: number; windowMs?: number; restMs?: number };
  /** The Flamenco manager render jobs with `farm: {kind: "flamenco"}` go to when they name no url. */
  flamencoUrl?: string;
  /** How often a farm job is polled (default 2 s). */
  farmPollMs?: number;
  /** Slurm: defaults for `farm: {kind: "slurm"}` jobs, where the commands are, and which storage the nodes share. */
  slurm?: Omit<SlurmOptions, 'log' | 'pollMs'>;
  /** Called once the sidecar has stopped on request (sidecar.stop): `serve` exits then. */
  onStopped?: (reason: string) => void;
  /** The process (Blender) this sidecar was started for: see lifecycle.ts for what its exit does. */
  parent?: ParentWatch;
  /** How long finished jobs are kept (default 30 days, at most 1,000). */
  retention?: Partial<RetentionPolicy>;
  /** Disk watch thresholds (tests lower them). */
  disk?: { minFreeShare?: number; minFreeBytes?: number; intervalMs?: number };
}

export interface RunningSidecar {
  url: string;
  port: number;
  host: string;
  token: string;
  stateDir: string;
  discoveryFile: string | undefined;
  log: Logger;
  /** Stops cleanly: connections closed, workers ended, discovery file removed. Safe to call more than once. */
  close(reason?: string): Promise<void>;
}

export function openRpcDocument() {
  return buildOpenRpcDocument(
    {
      title: 'Blender Sidecar',
      version: VERSION,
      description: 'JSON-RPC 2.0 over WebSocket (path /rpc) for background Blender renders, exports and Geometry Nodes sync.',
    },
    methods,
    notifications,
  );
}

/**
 * Starts a sidecar. The state folder's lock is taken first, before anything in it is read or a port bound; if the start
 * fails after that, what was started is stopped again (port, workers, files) and the lock released, so a failed start
 * never leaves a process listening without a discovery file.
 */
export async function startSidecar(options: SidecarOptions = {}): Promise<RunningSidecar> {
  const stateDir = options.stateDir ?? defaultStateDir();
  openStateDir(stateDir);
  const lock = takeStateLock(stateDir);
  const undo: Array<() => unknown> = [];
  try {
    const running = await assemble(options, stateDir, (fn) => undo.unshift(fn));
    const close = running.close;
    running.close = (reason) => close(reason).finally(() => lock.release());
    return running;
  } catch (err) {
    for (const fn of undo) {
      try {
        await fn();
      } catch {
        // Undo what can be undone; the start's own error is what the user needs to read.
      }
    }
    lock.release();
    throw err;
  }
}

async function assemble(options: SidecarOptions, stateDir: string, onFailure: (undo: () => unknown) => void): Promise<RunningSidecar> {
  const host = options.host ?? '127.0.0.1';
  const log = createLogger({
    level: options.logLevel ?? 'info',
    file: join(stateDir, 'sidecar.log'),
    stderr: options.logToStderr ?? true,
  });
  const discoverable = options.discoverable ?? true;
  // The lock says no other sidecar runs on this folder: a discovery file still there is a crashed one's.
  const existing = readDiscovery(stateDir);
  if (existing.state === 'running' || existing.state === 'stale') log.info(`replacing ${existing.path} left by pid ${existing.info.pid}, which is gone`);
  if (!isLoopback(host)) {
    log.warn(`listening on ${host}, not loopback: anyone who can reach this address and read the token can drive Blender`);
  }

  const startedAt = new Date().toISOString();
  const token = newToken();
  const bus = new EventBus();
  const metrics = new Metrics();
  const blenders = new BlenderInstallations(
    (Array.isArray(options.blender) ? options.blender : [options.blender]).filter((b): b is string => !!b),
    stateDir,
  );
  const blender = blenders.primary;
  let openRpcCache: Record<string, unknown> | undefined;

  const alerts = new AlertCenter((alert) => bus.publish('alert', alert));
  const missed = raiseUnwatchedNotices(stateDir, alerts);
  if (missed > 0) log.info(`${missed} job(s) ended while no Blender was connected: see alert.list`);
  let clients = 0;
  try {
    blender.path();
  } catch (err) {
    alerts.raise({
      key: 'blender-missing',
      level: 'ERROR',
      what: 'no Blender was found, so nothing can render or export',
      where: 'this machine',
      action: (err as Error).message.replace(/^Blender was not found \([^)]*\)\. /, ''),
    });
  }
  const registry = new WorkerRegistry(stateDir);
  const reaped = registry.reapOrphans();
  if (reaped.length > 0) log.warn(`ended ${reaped.length} Blender worker(s) left by a previous sidecar: pids ${reaped.join(', ')}`);
  const pool = new WorkerPool({
    blender: () => blender.path(),
    workerDir: workerDir(),
    instances: options.instances ?? 'auto',
    threads: options.threads,
    factorySettings: options.factorySettings,
    idleRetireMs: options.idleRetireMs,
    recycleAfterTasks: options.recycleAfterTasks,
    registry,
    log: (level, message) => log[level](message),
  });
  onFailure(() => pool.close());
  const placement = new Placement({ fixedThreads: options.threads, memoryBudgetBytes: options.memoryBudgetMB && options.memoryBudgetMB * 1024 ** 2 });
  // A frame starting while others render gets its share of the cores; one rendering alone gets all of them.
  const threads = () => placement.threads(pool.list().filter((w) => w.state === 'busy').length);
  const faults = stateFaults(alerts, stateDir, log);
  const jobStore = new JobStore(stateDir, faults.jobs);
  const farmLog = (level: 'info' | 'warn', message: string) => log[level](message);
  const farm = new FarmExecutor([
    new FlamencoFarm({ defaultUrl: options.flamencoUrl, pollMs: options.farmPollMs, log: farmLog }),
    new SlurmFarm({ ...options.slurm, pollMs: options.farmPollMs, log: farmLog }),
  ]);
  const syncState = openSyncStore(stateDir, faults.journalWarning, faults.sync);
  const sync = syncState.store;
  onFailure(() => syncState.close());
  const scheduler = new Scheduler({
    pool,
    store: jobStore,
    events: {
      state: (job, previous) => {
        bus.publish('job.state', { jobId: job.id, kind: job.kind, state: job.state, previous, error: job.error, result: job.result, blender: job.blender });
        metrics.jobsByState.reset();
        const counts = new Map<string, number>();
        for (const j of scheduler.list()) counts.set(`${j.kind}|${j.state}`, (counts.get(`${j.kind}|${j.state}`) ?? 0) + 1);
        for (const [k, n] of counts) {
          const [kind, state] = k.split('|') as [string, string];
          metrics.jobsByState.set({ kind, state }, n);
        }
        log.info(`job ${job.id} ${job.state}${job.error ? `: ${job.error.split('\n')[0]}` : ''}`);
        if (TERMINAL.has(job.state) && job.startedAt) {
          metrics.jobSeconds.observe({ kind: job.kind, state: job.state }, (Date.parse(job.finishedAt ?? '') - Date.parse(job.startedAt)) / 1000 || 0);
        }
        if (job.state === 'failed') metrics.jobFailures.inc({ kind: job.kind, reason: failureReason(job) });
        if (TERMINAL.has(job.state) && clients === 0) jobEndedUnwatched(stateDir, job, log);
      },
      progress: (_job, progress) => bus.publish('job.progress', progress),
      unitFinished: (job, _unit, outcome, seconds) => {
        metrics.unitAttempts.inc({ kind: job.kind, outcome });
        if (job.kind === 'render' && outcome === 'done') {
          metrics.framesRendered.inc();
          metrics.frameSeconds.observe(seconds);
        }
      },
    },
    log: (level, message) => log[level](message),
    runners: [
      new RenderRunner(() => pool.size, threads),
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
  const stopDiskWatch = watchDisks(
    alerts,
    () =>
      scheduler
        .list()
        .filter((j) => !TERMINAL.has(j.state))
        .flatMap((j) => [j.params.output, ...((j.params.items as Array<{ output: string }> | undefined) ?? []).map((i) => i.output)])
        .filter((o): o is string => typeof o === 'string' && o.startsWith('/')),
    options.disk,
  );
  onFailure(stopDiskWatch);
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
  pool.on('exit', (_w, info: { reason: string }) => metrics.workerRestarts.inc({ reason: info.reason }));
  pool.on('sampled', (workers: Array<{ id: string; pid: number; state: string; cpuPercent: number; rssBytes: number; current?: { label: string } }>) => {
    metrics.workerCpu.reset();
    metrics.workerRss.reset();
    for (const w of workers) {
      metrics.workerCpu.set({ worker: w.id }, w.cpuPercent);
      metrics.workerRss.set({ worker: w.id }, w.rssBytes);
    }
    if (bus.listenerCount('worker.stats') > 0) {
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
    }
  });
  if (options.warm) {
    try {
      blender.path();
      for (let i = 0; i < pool.size; i++) pool.grow().catch((err: unknown) => log.warn(`a worker could not start: ${(err as Error).message}`));
    } catch {
      // No Blender: the alert above says so.
    }
  }
  const resumed = scheduler.restore(jobStore.loadAll(faults.damagedJob));
  if (resumed > 0) log.info(`resuming ${resumed} unfinished job(s)`);
  const stopPruning = pruneFinishedJobs(scheduler, { ...DEFAULT_RETENTION, ...options.retention }, log);
  onFailure(stopPruning);

  const services: Services = {
    version: VERSION,
    protocolVersion: PROTOCOL_VERSION,
    startedAt,
    stateDir,
    log,
    bus,
    metrics,
    blender,
    blenders,
    sync,
    capabilities: () => ['rpc', 'events', 'metrics', 'render', 'export', 'bake', 'gn-sync', 'pipeline', 'alerts', 'flamenco'],
    // gn.changed is per channel: it comes through gn.subscribe, not events.subscribe.
    topics: () => Object.keys(notifications).filter((t) => t !== 'gn.changed'),
    openRpc: () => (openRpcCache ??= openRpcDocument()),
    poolShape: () => ({ instances: pool.size, threadsPerInstance: pool.threads }),
    // After the answer has been written: the caller hears "stopping" before the connection closes.
    stop: (reason) => setTimeout(() => void running.close(reason).then(() => options.onStopped?.(reason)), 50),
  };

  const handlers: Handlers<Methods, CallContext> = {
    ...coreHandlers(services),
    ...jobHandlers(scheduler, pool),
    ...renderHandlers(services, scheduler, farm),
    ...exportHandlers(services, scheduler),
    ...bakeHandlers(services, scheduler),
    ...pipelineHandlers(services, scheduler),
    ...blendHandlers(services),
    ...gnHandlers(sync),
    'alert.list': ({ levels, includeResolved, limit }) => ({ alerts: alerts.list({ levels, includeResolved, limit }) }),
  };
  const dispatcher = new Dispatcher<Methods, CallContext>(methods, handlers, {
    maxBatch: 100,
    onCall: (method, outcome, seconds) => {
      metrics.rpcRequests.inc({ method, outcome });
      metrics.rpcDuration.observe({ method }, seconds);
    },
    logInternalError: (_method, err, ref) => log.error(`internal error ${ref}: ${(err as Error)?.stack ?? String(err)}`),
  });

  const transport = await listen(
    host,
    options.port ?? 0,
    (port) => ({ token, port, bindHost: host, allowOrigins: options.allowOrigins ?? [], allowHosts: options.allowHosts ?? [] }),
    {
      onOpen: (conn) => {
        metrics.connections.inc();
        clients += 1;
        log.debug(`connection ${conn.id} from ${conn.remote}`);
        const s = openSession(conn, bus, dispatcher, (err) => log.error(`dispatch failed: ${String(err)}`));
        return {
          onMessage: s.onMessage,
          onClose: () => {
            metrics.connections.dec();
            clients -= 1;
            s.onClose();
          },
        };
      },
      routes: {
        '/healthz': async () => ({
          status: 200,
          contentType: 'application/json',
          body: JSON.stringify({ ok: true, version: VERSION, pid: process.pid, uptimeS: Math.round(process.uptime()) }),
        }),
        '/metrics': async () => ({ status: 200, ...(await metrics.text()) }),
      },
      log: (level, message) => log[level](message),
    },
    { ...defaultLimits, ...options.limits },
  );
  onFailure(() => transport.close());

  const urlHost = host.includes(':') ? `[${host}]` : host;
  const url = `ws://${urlHost === '0.0.0.0' ? '127.0.0.1' : urlHost}:${transport.port}/rpc`;
  let discoveryFile: string | undefined;
  if (discoverable) {
    const info: Discovery = { port: transport.port, pid: process.pid, token, version: VERSION, startedAt, host, url };
    discoveryFile = writeDiscovery(stateDir, info);
  }

  let closing: Promise<void> | undefined;
  const running: RunningSidecar = {
    url,
    port: transport.port,
    host,
    token,
    stateDir,
    discoveryFile,
    log,
    close(reason = 'stopped') {
      closing ??= (async () => {
        log.info(`shutting down (${reason})`);
        bus.publish('sidecar.shutdown', { reason });
        stopDiskWatch();
        stopPruning();
        stopFollowing();
        await scheduler.close();
        jobStore.close();
        await pool.close();
        if (discoverable) removeDiscovery(stateDir);
        await transport.close();
        syncState.close();
      })();
      return closing;
    },
  };
  const stopFollowing = options.parent
    ? followParent(options.parent, {
        clients: () => clients,
        unfinishedJobs: () => scheduler.list().filter((j) => !TERMINAL.has(j.state)).length,
        stop: (reason) => void running.close(reason).then(() => options.onStopped?.(reason)),
        log,
      })
    : () => {};
  return running;
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
