/**
 * The typed TypeScript client. `call` is typed by the method table (params checked at compile time, result typed);
 * notifications arrive through `on`. With `reconnect`, a dropped connection is reopened with backoff (re-reading the
 * discovery file, since a restarted sidecar has a new port and token) and subscriptions are renewed.
 */
import { WebSocket } from 'ws';
import type { MethodName, NotificationName, NotificationParams, Params, Result } from '../api/spec/index.js';
import { CallTimeoutError, ConnectionClosedError, RpcCallError } from './errors.js';
import { resolveEndpoint, type Endpoint, type EndpointOptions } from './endpoint.js';

export interface ClientOptions extends EndpointOptions {
  /** Reopen the connection when it drops (default false). */
  reconnect?: boolean;
  /** Default time to wait for an answer (default 30 s). */
  callTimeoutMs?: number;
  /** Time to wait for the connection to open (default 5 s). */
  connectTimeoutMs?: number;
}

interface Pending {
  method: string;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout | undefined;
}

type Listener = (params: never) => void;

/** A frame from the sidecar as it may arrive: a notification, or the answer to one of this client's calls. */
interface WireMessage {
  id?: unknown;
  method?: unknown;
  params?: unknown;
  result?: unknown;
  error?: { code: number; message: string; data?: unknown };
}

export class SidecarClient {
  private ws: WebSocket | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly listeners = new Map<string, Set<Listener>>();
  private readonly connectionListeners = new Set<(state: 'open' | 'closed') => void>();
  private readonly topics = new Set<string>();
  private closedByUser = false;
  private reconnecting: Promise<void> | undefined;
  /** Ends the reconnect loop's current wait at once (set while it waits). */
  private cancelBackoff: (() => void) | undefined;

  private constructor(
    private endpoint: Endpoint,
    private readonly options: ClientOptions,
  ) {}

  /** Connects to the sidecar named by `url` + `token`, or found through the discovery file in `stateDir`. */
  static async connect(options: ClientOptions = {}): Promise<SidecarClient> {
    const client = new SidecarClient(resolveEndpoint(options), options);
    await client.open();
    return client;
  }

  get url(): string {
    return this.endpoint.url;
  }

  get connected(): boolean {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  /** Calls a method; rejects with RpcCallError (the sidecar's answer), ConnectionClosedError or CallTimeoutError. */
  call<M extends MethodName>(method: M, params?: Params<M>, opts: { timeoutMs?: number } = {}): Promise<Result<M>> {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) {
      return Promise.reject(new ConnectionClosedError(`not connected to the sidecar (calling ${method})`));
    }
    const id = this.nextId++;
    const timeoutMs = opts.timeoutMs ?? this.options.callTimeoutMs ?? 30_000;
    return new Promise<Result<M>>((resolve, reject) => {
      const timer =
        timeoutMs > 0
          ? setTimeout(() => {
              this.pending.delete(id);
              reject(new CallTimeoutError(method, timeoutMs));
            }, timeoutMs)
          : undefined;
      this.pending.set(id, { method, resolve: resolve as (v: unknown) => void, reject, timer });
      ws.send(JSON.stringify({ jsonrpc: '2.0', id, method, params: params ?? {} }));
    });
  }

  /** Listens for a notification; returns the function that stops listening. */
  on<N extends NotificationName>(name: N, listener: (params: NotificationParams<N>) => void): () => void;
  // biome-ignore lint/suspicious/noExplicitAny: a name outside the spec has no known params; the caller reads them as JSON.
  on(name: string, listener: (params: any) => void): () => void;
  on(name: string, listener: Listener): () => void {
    let set = this.listeners.get(name);
    if (!set) this.listeners.set(name, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  /** Subscribes to notification topics, and again after every reconnect. */
  async subscribe(topics: string[]): Promise<string[]> {
    for (const t of topics) this.topics.add(t);
    return (await this.call('events.subscribe', { topics })).topics;
  }

  /** Hears about the connection dropping ('closed') and coming back ('open'). */
  onConnection(listener: (state: 'open' | 'closed') => void): () => void {
    this.connectionListeners.add(listener);
    return () => this.connectionListeners.delete(listener);
  }

  async close(): Promise<void> {
    this.closedByUser = true;
    this.cancelBackoff?.();
    const ws = this.ws;
    if (!ws || ws.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      ws.once('close', () => resolve());
      ws.close(1000);
      setTimeout(() => {
        ws.terminate();
        resolve();
      }, 1000).unref();
    });
  }

  private open(): Promise<void> {
    const { url, token } = this.endpoint;
    return new Promise<void>((resolve, reject) => {
      const ws = new WebSocket(url, {
        headers: { Authorization: `Bearer ${token}` },
        handshakeTimeout: this.options.connectTimeoutMs ?? 5000,
        maxPayload: 256 * 1024 * 1024,
      });
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => {
          let reason = body;
          try {
            reason = (JSON.parse(body) as { error?: string }).error ?? body;
          } catch {
            // Not JSON: show it as it came.
          }
          reject(new ConnectionClosedError(`the sidecar at ${url} refused the connection (HTTP ${res.statusCode}): ${reason}`));
        });
      });
      ws.once('open', () => {
        this.ws = ws;
        ws.on('message', (data) => this.receive(data.toString()));
        ws.on('close', () => this.dropped(ws));
        for (const l of this.connectionListeners) l('open');
        resolve();
      });
      ws.once('error', (err) => {
        if (ws.readyState !== WebSocket.OPEN) reject(new ConnectionClosedError(`cannot reach the sidecar at ${url}: ${err.message}`));
      });
    });
  }

  private receive(text: string) {
    let msg: unknown;
    try {
      msg = JSON.parse(text);
    } catch {
      return;
    }
    for (const m of (Array.isArray(msg) ? msg : [msg]) as (WireMessage | null)[]) {
      if (m && typeof m.method === 'string' && m.id === undefined) {
        for (const l of this.listeners.get(m.method) ?? []) l(m.params as never);
        continue;
      }
      const id = m?.id;
      const p = typeof id === 'number' ? this.pending.get(id) : undefined;
      if (!m || !p) continue;
      this.pending.delete(id as number);
      if (p.timer) clearTimeout(p.timer);
      if (m.error) p.reject(new RpcCallError(p.method, m.error.code, m.error.message, m.error.data));
      else p.resolve(m.result);
    }
  }

  private dropped(ws: WebSocket) {
    if (this.ws !== ws) return;
    this.ws = undefined;
    for (const [id, p] of this.pending) {
      if (p.timer) clearTimeout(p.timer);
      p.reject(new ConnectionClosedError(`the connection to the sidecar closed before ${p.method} was answered`));
      this.pending.delete(id);
    }
    for (const l of this.connectionListeners) l('closed');
    if (this.options.reconnect && !this.closedByUser) this.reconnecting ??= this.reconnectLoop();
  }

  private async reconnectLoop() {
    let delay = 100;
    for (;;) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        this.cancelBackoff = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.cancelBackoff = undefined;
      // close() during the wait: do not open a connection nobody will close.
      if (this.closedByUser) break;
      try {
        // A restarted sidecar has a new port and token: read the discovery file again unless a URL was pinned.
        if (!this.options.url) this.endpoint = resolveEndpoint(this.options);
        await this.open();
        break;
      } catch {
        delay = Math.min(delay * 2, 5000);
      }
    }
    this.reconnecting = undefined;
    if (this.closedByUser) {
      // close() while the connection was being opened found no connection to close.
      this.ws?.close(1000);
      return;
    }
    // Renewed outside the loop: a refusal (a topic the new sidecar does not know) must not make the loop open a
    // second connection beside this one; a drop meanwhile starts a new loop through dropped().
    if (this.topics.size > 0) await this.call('events.subscribe', { topics: [...this.topics] }).catch(() => undefined);
  }
}
