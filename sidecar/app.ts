/**
 * The sidecar, assembled: state folder, Blender, event bus, metrics, the method table's handlers, the transport, and
 * the discovery file. `startSidecar` is what `blender-sidecar serve` runs, and what tests and the demo embed.
 *
 * This file only puts parts together, in the order they depend on each other: the options with their defaults
 * (options.ts), the log and alerts, the work (work.ts: workers, jobs, farms, sync state, and what feeds the metrics and
 * the event bus from them), the method handlers (api/handlers/) and the transport.
 */
import { join } from 'node:path';
import { allHandlers } from './api/handlers/index.js';
import type { Services } from './api/services.js';
import { openSession, type CallContext } from './api/session.js';
import { methods, notifications, type Methods } from './api/spec/index.js';
import { readDiscovery, removeDiscovery, writeDiscovery, newToken, type Discovery } from './discovery.js';
import { AlertCenter } from './domain/alerts/alerts.js';
import type { BlenderInstallation } from './domain/blender/blender.js';
import { BlenderInstallations } from './domain/blender/installations.js';
import { TERMINAL } from './domain/jobs/job.js';
import { EventBus } from './events/bus.js';
import { followParent, raiseUnwatchedNotices } from './lifecycle.js';
import { createLogger, type Logger } from './log.js';
import { Metrics } from './metrics/registry.js';
import { rpcMetrics } from './metrics/wiring.js';
import { resolveOptions, type Settings, type SidecarOptions } from './options.js';
import { Dispatcher } from './protocol/dispatcher.js';
import type { Handlers } from './protocol/method.js';
import { buildOpenRpcDocument } from './protocol/openrpc.js';
import { openStateDir } from './state-dir.js';
import { takeStateLock } from './state-lock.js';
import { isLoopback } from './transport/auth.js';
import { listen } from './transport/server.js';
import { PROTOCOL_VERSION, VERSION } from './version.js';
import { openWork, type Work, type WorkParts } from './work.js';

export type { SidecarOptions } from './options.js';

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
 * Starts a sidecar. The options are checked first (InvalidInputError names a bad one), then the state folder's lock is
 * taken, before anything in it is read or a port bound; if the start fails after that, what was started is stopped
 * again (port, workers, files) and the lock released, so a failed start never leaves a process listening without a
 * discovery file.
 */
export async function startSidecar(options: SidecarOptions = {}): Promise<RunningSidecar> {
  const settings = resolveOptions(options);
  openStateDir(settings.stateDir);
  const lock = takeStateLock(settings.stateDir);
  const undo: Array<() => unknown> = [];
  try {
    const running = await assemble(settings, (fn) => undo.unshift(fn));
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

/** The parts the transport shares with the work: `connections` counts the clients connected now. */
interface Core extends Omit<WorkParts, 'clients'> {
  connections: { open: number };
}

async function assemble(settings: Settings, onFailure: (undo: () => unknown) => void): Promise<RunningSidecar> {
  const { stateDir, host, options } = settings;
  const log = openLog(settings);
  const startedAt = new Date().toISOString();
  const token = newToken();
  const bus = new EventBus();
  const blenders = new BlenderInstallations(settings.blenders, stateDir);
  const alerts = new AlertCenter((alert) => bus.publish('alert', alert));
  const missed = raiseUnwatchedNotices(stateDir, alerts);
  if (missed > 0) log.info(`${missed} job(s) ended while no Blender was connected: see alert.list`);
  alertIfNoBlender(blenders.primary, alerts);
  const core: Core = { settings, log, bus, metrics: new Metrics(), alerts, blender: blenders.primary, connections: { open: 0 }, onFailure };
  const work = openWork({ ...core, clients: () => core.connections.open });
  // After the answer has been written: the caller hears "stopping" before the connection closes.
  const stop = (reason: string) => setTimeout(() => void running.close(reason).then(() => options.onStopped?.(reason)), 50);
  const services = servicesOf(core, { startedAt, blenders, work, stop });
  const transport = await listenForClients(core, token, allHandlers(services, { ...work, alerts }));
  onFailure(() => transport.close());

  const urlHost = host.includes(':') ? `[${host}]` : host;
  const url = `ws://${urlHost === '0.0.0.0' ? '127.0.0.1' : urlHost}:${transport.port}/rpc`;
  let discoveryFile: string | undefined;
  if (settings.discoverable) {
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
        stopFollowing();
        await work.close();
        if (settings.discoverable) removeDiscovery(stateDir);
        await transport.close();
        work.sync.close();
      })();
      return closing;
    },
  };
  const stopFollowing = options.parent
    ? followParent(options.parent, {
        clients: () => core.connections.open,
        unfinishedJobs: () => work.scheduler.list().filter((j) => !TERMINAL.has(j.state)).length,
        stop: (reason) => void running.close(reason).then(() => options.onStopped?.(reason)),
        log,
      })
    : () => {};
  return running;
}

/** The log (the state folder's sidecar.log, and stderr unless told not to), with what is worth noting at a start. */
function openLog({ stateDir, host, logLevel, logToStderr }: Settings): Logger {
  const log = createLogger({ level: logLevel, file: join(stateDir, 'sidecar.log'), stderr: logToStderr });
  // The lock says no other sidecar runs on this folder: a discovery file still there is a crashed one's.
  const existing = readDiscovery(stateDir);
  if (existing.state === 'running' || existing.state === 'stale')
    log.info(`replacing ${existing.path} left by pid ${existing.info.pid}, which is gone`);
  if (!isLoopback(host)) {
    log.warn(`listening on ${host}, not loopback: anyone who can reach this address and read the token can drive Blender`);
  }
  return log;
}

function servicesOf(
  { settings, log, bus, metrics }: Core,
  { startedAt, blenders, work, stop }: { startedAt: string; blenders: BlenderInstallations; work: Work; stop: (reason: string) => void },
): Services {
  let openRpcCache: Record<string, unknown> | undefined;
  return {
    version: VERSION,
    protocolVersion: PROTOCOL_VERSION,
    startedAt,
    stateDir: settings.stateDir,
    log,
    bus,
    metrics,
    blender: blenders.primary,
    blenders,
    sync: work.sync.store,
    capabilities: () => ['rpc', 'events', 'metrics', 'render', 'export', 'bake', 'gn-sync', 'pipeline', 'alerts', 'flamenco'],
    // gn.changed is per channel: it comes through gn.subscribe, not events.subscribe.
    topics: () => Object.keys(notifications).filter((t) => t !== 'gn.changed'),
    openRpc: () => (openRpcCache ??= openRpcDocument()),
    poolShape: () => ({ instances: work.pool.size, threadsPerInstance: work.pool.threads }),
    stop,
  };
}

function alertIfNoBlender(blender: BlenderInstallation, alerts: AlertCenter): void {
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
}

/** The JSON-RPC dispatcher behind the WebSocket transport, with /healthz and /metrics on the same port. */
async function listenForClients(core: Core, token: string, handlers: Handlers<Methods, CallContext>) {
  const { settings, log, bus, metrics, connections } = core;
  const rpc = rpcMetrics(metrics);
  const dispatcher = new Dispatcher<Methods, CallContext>(methods, handlers, {
    maxBatch: 100,
    onCall: rpc.call,
    logInternalError: (_method, err, ref) => log.error(`internal error ${ref}: ${(err as Error)?.stack ?? String(err)}`),
  });
  const { host, allowOrigins, allowHosts } = settings;
  return listen(
    host,
    settings.port,
    (port) => ({ token, port, bindHost: host, allowOrigins, allowHosts }),
    {
      onOpen: (conn) => {
        rpc.connectionOpened();
        connections.open += 1;
        log.debug(`connection ${conn.id} from ${conn.remote}`);
        const s = openSession(conn, bus, dispatcher, (err) => log.error(`dispatch failed: ${String(err)}`));
        return {
          onMessage: s.onMessage,
          onClose: () => {
            rpc.connectionClosed();
            connections.open -= 1;
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
    settings.limits,
  );
}
