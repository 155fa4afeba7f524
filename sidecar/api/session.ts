/**
 * One client's session: binds a transport connection to the dispatcher and carries its event subscriptions.
 * Notifications go out only for topics this session subscribed to.
 */
import type { EventBus } from '../events/bus.js';
import type { Dispatcher } from '../protocol/dispatcher.js';
import type { MethodTable } from '../protocol/method.js';
import type { Connection } from '../transport/server.js';

export interface CallContext {
  session: Session;
}

export class Session {
  private readonly subscriptions = new Map<string, () => void>();
  private readonly closeHooks = new Set<() => void>();
  closed = false;

  constructor(
    readonly connection: Connection,
    private readonly bus: EventBus,
  ) {}

  notify(method: string, params: unknown): void {
    if (this.closed) return;
    this.connection.send(JSON.stringify({ jsonrpc: '2.0', method, params }));
  }

  subscribe(topics: readonly string[]): string[] {
    for (const topic of topics) {
      if (this.subscriptions.has(topic)) continue;
      this.subscriptions.set(
        topic,
        this.bus.subscribe(topic, (t, p) => this.notify(t, p)),
      );
    }
    return this.topics();
  }

  unsubscribe(topics?: readonly string[]): string[] {
    for (const topic of topics ?? [...this.subscriptions.keys()]) {
      this.subscriptions.get(topic)?.();
      this.subscriptions.delete(topic);
    }
    return this.topics();
  }

  topics(): string[] {
    return [...this.subscriptions.keys()].sort();
  }

  /** Runs when the connection closes: per-session state elsewhere (sync subscriptions, say) is dropped there. */
  onClose(hook: () => void): () => void {
    this.closeHooks.add(hook);
    // Removable: a hook per call (job.wait) must not pile up over a long connection.
    return () => this.closeHooks.delete(hook);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe();
    const hooks = [...this.closeHooks];
    this.closeHooks.clear();
    for (const hook of hooks) {
      try {
        hook();
      } catch {
        // A failing hook must not keep the others from running.
      }
    }
  }
}

/** Wires a connection to a dispatcher: each message is answered in turn, responses may complete out of order. */
export function openSession<T extends MethodTable>(
  conn: Connection,
  bus: EventBus,
  dispatcher: Dispatcher<T, CallContext>,
  onError: (err: unknown) => void,
) {
  const session = new Session(conn, bus);
  const ctx: CallContext = { session };
  return {
    session,
    onMessage(text: string) {
      dispatcher.handleText(text, ctx).then(
        (reply) => {
          if (reply !== null && !session.closed) conn.send(reply);
        },
        // handleText maps every error itself; reaching here is a bug, and it must not become an unhandled rejection.
        onError,
      );
    },
    onClose() {
      session.close();
    },
  };
}
