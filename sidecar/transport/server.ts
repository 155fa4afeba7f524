/**
 * HTTP and WebSocket on one port. JSON-RPC lives on `/rpc` (WebSocket only); `GET /healthz` and `GET /metrics` are
 * plain HTTP. This layer moves text frames and enforces access, sizes and liveness; it knows nothing of JSON-RPC.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { checkHostAndOrigin, checkUpgrade, type AccessPolicy } from './auth.js';

export interface TransportLimits {
  /** Largest incoming message in bytes; a larger one closes the connection with 1009. */
  maxMessageBytes: number;
  /** Most bytes one client may leave unread before it is disconnected as too slow. */
  maxBufferedBytes: number;
  /** How often to ping; a client that has not answered the previous ping by then is dropped. */
  pingIntervalMs: number;
}

export const defaultLimits: TransportLimits = {
  maxMessageBytes: 16 * 1024 * 1024,
  maxBufferedBytes: 32 * 1024 * 1024,
  pingIntervalMs: 30_000,
};

/** One client connection, as the layers above see it. */
export interface Connection {
  readonly id: number;
  readonly remote: string;
  /** Sends a text frame. Returns false (and closes the connection) when the client is too slow to keep up. */
  send(text: string): boolean;
  close(code?: number, reason?: string): void;
}

export type HttpRoute = (req: IncomingMessage) => Promise<{ status: number; contentType: string; body: string }>;

export interface TransportHandlers {
  onOpen(conn: Connection): { onMessage(text: string): void; onClose(): void };
  routes: Record<string, HttpRoute>;
  log: (level: 'info' | 'warn' | 'debug', message: string) => void;
}

export interface ListeningTransport {
  port: number;
  host: string;
  connectionCount(): number;
  /** Stops accepting, closes every connection (1001 going away) and the listening socket. */
  close(): Promise<void>;
}

let nextConnectionId = 1;

export async function listen(
  host: string,
  port: number,
  policyOf: (port: number) => AccessPolicy,
  handlers: TransportHandlers,
  limits: TransportLimits = defaultLimits,
): Promise<ListeningTransport> {
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: limits.maxMessageBytes,
    perMessageDeflate: false,
    clientTracking: true,
  });
  let policy: AccessPolicy;
  const server: Server = createServer((req, res) => void serveHttp(req, res, policy, handlers));
  server.on('upgrade', (req, socket, head) => upgrade(req, socket, head, wss, policy, handlers, limits));
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const boundPort = typeof address === 'object' && address ? address.port : port;
  policy = policyOf(boundPort);

  const alive = new WeakMap<WebSocket, boolean>();
  const pinger = setInterval(() => {
    for (const ws of wss.clients) {
      if (alive.get(ws) === false) {
        handlers.log('info', 'dropping a client that did not answer the last ping');
        ws.terminate();
        continue;
      }
      alive.set(ws, false);
      ws.ping();
    }
  }, limits.pingIntervalMs);
  pinger.unref();
  wss.on('connection', (ws: WebSocket) => {
    alive.set(ws, true);
    ws.on('pong', () => alive.set(ws, true));
  });

  return {
    port: boundPort,
    host,
    connectionCount: () => wss.clients.size,
    close: async () => {
      clearInterval(pinger);
      for (const ws of wss.clients) ws.close(1001, 'sidecar shutting down');
      await new Promise<void>((resolve) => server.close(() => resolve()));
      // Clients that ignore the close frame would hold server.close() open: give them a moment, then cut them.
      setTimeout(() => {
        for (const ws of wss.clients) ws.terminate();
      }, 500).unref();
      server.closeAllConnections?.();
      wss.close();
    },
  };
}

async function serveHttp(req: IncomingMessage, res: ServerResponse, policy: AccessPolicy, handlers: TransportHandlers) {
  const access = checkHostAndOrigin(req, policy);
  if (!access.ok) return reply(res, access.status, 'application/json', JSON.stringify({ error: access.reason }));
  const path = new URL(req.url ?? '/', 'http://x').pathname;
  if (path === '/rpc') {
    return reply(res, 426, 'application/json', JSON.stringify({ error: 'JSON-RPC is spoken over WebSocket on /rpc' }));
  }
  const route = handlers.routes[path];
  if (!route || req.method !== 'GET') {
    return reply(res, 404, 'application/json', JSON.stringify({ error: `no such endpoint: ${req.method} ${path}` }));
  }
  try {
    const out = await route(req);
    reply(res, out.status, out.contentType, out.body);
  } catch (err) {
    handlers.log('warn', `GET ${path} failed: ${(err as Error).stack ?? String(err)}`);
    reply(res, 500, 'application/json', JSON.stringify({ error: 'internal error' }));
  }
}

function reply(res: ServerResponse, status: number, contentType: string, body: string) {
  res.writeHead(status, { 'Content-Type': contentType, 'Cache-Control': 'no-store' });
  res.end(body);
}

function upgrade(
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  wss: WebSocketServer,
  policy: AccessPolicy,
  handlers: TransportHandlers,
  limits: TransportLimits,
) {
  socket.on('error', () => socket.destroy());
  const path = new URL(req.url ?? '/', 'http://x').pathname;
  const refuse = (status: number, text: string, reason: string) => {
    handlers.log('info', `refused a connection: ${reason}`);
    const body = JSON.stringify({ error: reason });
    socket.end(
      `HTTP/1.1 ${status} ${text}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  };
  if (path !== '/rpc') return refuse(404, 'Not Found', `no WebSocket endpoint at ${path}; use /rpc`);
  const access = checkUpgrade(req, policy);
  if (!access.ok) return refuse(access.status, access.status === 401 ? 'Unauthorized' : 'Forbidden', access.reason);

  wss.handleUpgrade(req, socket, head, (ws) => {
    wss.emit('connection', ws, req);
    const conn: Connection = {
      id: nextConnectionId++,
      remote: `${req.socket.remoteAddress}:${req.socket.remotePort}`,
      send(text) {
        if (ws.readyState !== ws.OPEN) return false;
        if (ws.bufferedAmount > limits.maxBufferedBytes) {
          handlers.log('warn', `connection ${conn.id} left over ${limits.maxBufferedBytes} bytes unread; closing it`);
          ws.close(1008, 'client too slow: too much unread data');
          setTimeout(() => ws.terminate(), 1000).unref();
          return false;
        }
        ws.send(text);
        return true;
      },
      close(code = 1000, reason = '') {
        ws.close(code, reason);
      },
    };
    const session = handlers.onOpen(conn);
    ws.on('message', (data) => {
      // Binary frames are read as UTF-8 too: a client that sends JSON in them gets an answer, not silence.
      const buf = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
      session.onMessage(buf.toString('utf8'));
    });
    ws.on('error', (err) => handlers.log('debug', `connection ${conn.id}: ${err.message}`));
    ws.on('close', () => session.onClose());
  });
}
