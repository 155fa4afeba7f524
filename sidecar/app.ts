/**
 * The sidecar, assembled: state folder, Blender, event bus, metrics, the method table's handlers, the transport, and
 * the discovery file. `startSidecar` is what `blender-sidecar serve` runs, and what tests and the demo embed.
 */
import { join } from 'node:path';
import { coreHandlers } from './api/handlers/core.js';
import type { Services } from './api/services.js';
import { openSession, type CallContext } from './api/session.js';
import { methods, notifications, type Methods } from './api/spec/index.js';
import { readDiscovery, removeDiscovery, writeDiscovery, newToken, type Discovery } from './discovery.js';
import { BlenderInstallation } from './domain/blender/blender.js';
import { SidecarError, ErrorCode } from './errors.js';
import { EventBus } from './events/bus.js';
import { createLogger, type Logger, type LogLevel } from './log.js';
import { Metrics } from './metrics/registry.js';
import { Dispatcher } from './protocol/dispatcher.js';
import type { Handlers } from './protocol/method.js';
import { buildOpenRpcDocument } from './protocol/openrpc.js';
import { defaultStateDir, ensurePrivateDir } from './state-dir.js';
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
  blender?: string;
  logLevel?: LogLevel;
  /** Log to stderr as well as to the state folder's sidecar.log (default true). */
  logToStderr?: boolean;
  limits?: Partial<TransportLimits>;
  /** Write sidecar.json (default true). An embedded sidecar for one CLI call may skip it. */
  discoverable?: boolean;
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

export async function startSidecar(options: SidecarOptions = {}): Promise<RunningSidecar> {
  const host = options.host ?? '127.0.0.1';
  const stateDir = options.stateDir ?? defaultStateDir();
  ensurePrivateDir(stateDir);
  const log = createLogger({
    level: options.logLevel ?? 'info',
    file: join(stateDir, 'sidecar.log'),
    stderr: options.logToStderr ?? true,
  });
  const discoverable = options.discoverable ?? true;
  if (discoverable) {
    const existing = readDiscovery(stateDir);
    if (existing.state === 'running') {
      throw new SidecarError(
        `another sidecar (pid ${existing.info.pid}) is already running with state folder ${stateDir} on port ${existing.info.port}; ` +
          'use it, stop it, or pass --state-dir to run a second one',
        ErrorCode.Unavailable,
      );
    }
    if (existing.state === 'stale') log.info(`ignoring a stale ${existing.path} left by pid ${existing.info.pid}`);
  }
  if (!isLoopback(host)) {
    log.warn(`listening on ${host}, not loopback: anyone who can reach this address and read the token can drive Blender`);
  }

  const startedAt = new Date().toISOString();
  const token = newToken();
  const bus = new EventBus();
  const metrics = new Metrics();
  const blender = new BlenderInstallation(options.blender, stateDir);
  let openRpcCache: Record<string, unknown> | undefined;

  const services: Services = {
    version: VERSION,
    protocolVersion: PROTOCOL_VERSION,
    startedAt,
    stateDir,
    log,
    bus,
    metrics,
    blender,
    capabilities: () => ['rpc', 'events', 'metrics'],
    topics: () => Object.keys(notifications),
    openRpc: () => (openRpcCache ??= openRpcDocument()),
  };

  const handlers: Handlers<Methods, CallContext> = {
    ...coreHandlers(services),
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
        log.debug(`connection ${conn.id} from ${conn.remote}`);
        const s = openSession(conn, bus, dispatcher, (err) => log.error(`dispatch failed: ${String(err)}`));
        return {
          onMessage: s.onMessage,
          onClose: () => {
            metrics.connections.dec();
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

  const urlHost = host.includes(':') ? `[${host}]` : host;
  const url = `ws://${urlHost === '0.0.0.0' ? '127.0.0.1' : urlHost}:${transport.port}/rpc`;
  let discoveryFile: string | undefined;
  if (discoverable) {
    const info: Discovery = { port: transport.port, pid: process.pid, token, version: VERSION, startedAt, host, url };
    discoveryFile = writeDiscovery(stateDir, info);
  }

  let closing: Promise<void> | undefined;
  return {
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
        if (discoverable) removeDiscovery(stateDir);
        await transport.close();
      })();
      return closing;
    },
  };
}
