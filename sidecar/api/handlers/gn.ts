/**
 * Handlers for the Geometry Nodes sync methods, and the per-connection subscriptions behind gn.changed.
 *
 * Ordering promise for a subscriber: the gn.subscribe answer covers everything up to its `revision`; gn.changed
 * then carries each later write of that channel exactly once, in revision order. The answer's revision is read and
 * the subscription registered in one synchronous step, so no write falls between them. Notifications that arise
 * before the answer has gone out (a write in the same batch, say) are held and sent on the next turn of the event
 * loop, after the answer.
 */
import { InvalidInputError } from '../../domain/errors.js';
import type { SyncEvent, SyncStore } from '../../domain/sync/store.js';
import type { Handlers } from '../../protocol/method.js';
import type { CallContext, Session } from '../session.js';
import type { gnMethods } from '../spec/gn.js';

export function gnHandlers(store: SyncStore): Handlers<typeof gnMethods, CallContext> {
  const subscriptions = new Subscriptions();
  store.onChanged((event) => subscriptions.deliver(event));
  const writer = (session: Session, clientName: string | undefined) => clientName ?? `connection-${session.connection.id}`;

  return {
    'gn.set': ({ channel, key, type, value, baseRevision, clientName }, { session }) => ({
      revision: store.set(channel, { key, type, value }, baseRevision, writer(session, clientName)).revision,
    }),
    'gn.setMany': ({ channel, changes, baseRevision, clientName }, { session }) => ({
      revision: store.setMany(channel, changes, baseRevision, writer(session, clientName)).revision,
    }),
    'gn.get': ({ channel }) => store.get(channel),
    'gn.subscribe': ({ channel, sinceRevision, epoch }, { session }) => {
      // Read and register in one synchronous step: a write can come neither between them nor be heard twice.
      const snapshot = store.get(channel);
      const { revision } = snapshot;
      subscriptions.add(session, channel, revision);
      const head = { channel, epoch: snapshot.epoch, revision };
      if (sinceRevision === undefined) return { ...head, snapshot: { revision, entries: snapshot.entries }, reason: 'requested' as const };
      const sameHistory = (epoch === undefined || epoch === snapshot.epoch) && sinceRevision <= revision;
      const changes = sameHistory ? store.changesSince(channel, sinceRevision) : undefined;
      if (changes) return { ...head, changes };
      const reason = sameHistory ? ('too-old' as const) : ('other-history' as const);
      return { ...head, snapshot: { revision, entries: snapshot.entries }, reason };
    },
    'gn.deleteChannel': ({ channel, clientName }, { session }) => {
      const deleted = store.deleteChannel(channel, writer(session, clientName));
      if (deleted) subscriptions.restart(channel, store.get(channel).epoch);
      return { deleted };
    },
    'gn.unsubscribe': ({ channel }, { session }) => ({ channels: subscriptions.remove(session, channel) }),
  };
}

/** Most channels one connection may follow at once: following costs memory even for names never written. */
const MAX_PER_SESSION = 1000;

/** Who follows which channel: per session and channel, ended when the session closes. */
class Subscriptions {
  private readonly byChannel = new Map<string, Set<Subscription>>();
  private readonly bySession = new WeakMap<Session, Map<string, Subscription>>();

  add(session: Session, channel: string, revision: number): void {
    if (session.closed) return; // Its close hooks have run already; the answer will not be sent either.
    let mine = this.bySession.get(session);
    if (!mine) {
      this.bySession.set(session, (mine = new Map()));
      session.onClose(() => this.remove(session));
    }
    if (!mine.has(channel) && mine.size >= MAX_PER_SESSION) {
      throw new InvalidInputError('channel', `this connection already follows ${MAX_PER_SESSION} channels; gn.unsubscribe from one first`, {
        limit: 'subscriptions',
        max: MAX_PER_SESSION,
      });
    }
    this.drop(mine.get(channel));
    const sub = new Subscription(session, channel, revision);
    mine.set(channel, sub);
    let subs = this.byChannel.get(channel);
    if (!subs) this.byChannel.set(channel, (subs = new Set()));
    subs.add(sub);
  }

  /** Ends one channel's subscription, or all of the session's; returns the channels it still follows. */
  remove(session: Session, channel?: string): string[] {
    const mine = this.bySession.get(session);
    if (!mine) return [];
    for (const name of channel === undefined ? [...mine.keys()] : [channel]) {
      this.drop(mine.get(name));
      mine.delete(name);
    }
    return [...mine.keys()].sort();
  }

  deliver(event: SyncEvent): void {
    const subs = this.byChannel.get(event.channel);
    if (!subs) return;
    for (const sub of subs) sub.deliver(event);
  }

  /** A channel was deleted: its followers hear so, then hear its new history from revision 1. */
  restart(channel: string, epoch: string): void {
    for (const sub of this.byChannel.get(channel) ?? []) sub.restart(epoch);
  }

  private drop(sub: Subscription | undefined) {
    if (!sub) return;
    sub.end();
    const subs = this.byChannel.get(sub.channel);
    subs?.delete(sub);
    if (subs?.size === 0) this.byChannel.delete(sub.channel);
  }
}

class Subscription {
  /** Events held until the subscribe answer has gone out; null once it has. */
  private held: SyncEvent[] | null = [];
  private ended = false;

  constructor(
    private readonly session: Session,
    readonly channel: string,
    /** The revision the subscribe answer covered: nothing at or before it is sent. */
    private after: number,
  ) {
    // The answer is sent when the dispatcher's promise settles, within the current turn (microtasks); setImmediate
    // runs after that turn.
    setImmediate(() => this.release());
  }

  deliver(event: SyncEvent): void {
    if (this.ended || event.revision <= this.after) return;
    if (this.held) this.held.push(event);
    else this.send(event);
  }

  restart(epoch: string): void {
    if (this.ended) return;
    this.after = 0;
    // Held events belong to the deleted history; the notification goes out in order with what the session hears.
    if (this.held) this.held = [];
    this.session.notify('gn.channelDeleted', { channel: this.channel, epoch });
  }

  end(): void {
    this.ended = true;
    this.held = null;
  }

  private release() {
    const held = this.held;
    this.held = null;
    if (this.ended || !held) return;
    for (const event of held) this.send(event);
  }

  private send(event: SyncEvent) {
    this.session.notify('gn.changed', { channel: event.channel, revision: event.revision, changes: event.changes });
  }
}
