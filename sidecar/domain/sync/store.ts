/**
 * Every sync channel, by name, with the two hooks the rest of the sidecar needs: persistence (an acknowledged write
 * survives a crash) and change events (subscribers hear every accepted write, in revision order).
 *
 * Order of one accepted write, all synchronous, before `set`/`setMany` return:
 *   checks (type, baseRevision, conflicts) -> `persist(record)` -> applied in memory -> `onChanged` listeners.
 * So memory never shows, and no subscriber ever hears of, a write that is not yet durable; and a write whose persist
 * failed is neither applied nor acknowledged.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { ErrorCode, InvalidInputError, SidecarError, describeError } from '../../errors.js';
import {
  DEFAULT_HISTORY_LIMIT,
  SyncChannel,
  type SyncEntry,
  type SyncEvent,
  type SyncRecord,
  type SyncSnapshot,
} from './channel.js';
import { ChangeSchema, type ChangeInput } from './value.js';

export { RevisionConflictError, type SyncEntry, type SyncEvent, type SyncRecord, type SyncSnapshot } from './channel.js';

export const DEFAULT_CHANNEL = 'default';

export const ChannelName = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,64}$/, '1 to 64 letters, digits, "-", "_" or "."')
  .describe('The channel: 1 to 64 letters, digits, "-", "_" or ".".');

/** A persisted record, as read back from a journal: checked before it is replayed. */
export const SyncRecordSchema = z.strictObject({
  channel: ChannelName,
  epoch: z.string().min(1),
  revision: z.int().min(1),
  changedBy: z.string(),
  changedAt: z.string(),
  changes: z.array(ChangeSchema).min(1),
});

/**
 * Where accepted writes go to survive a crash.
 *
 * `persist` is called synchronously with each accepted write, before it is applied and before the caller is answered.
 * It must return only once the record is durable (appended and fsync'd); records of one channel arrive in revision
 * order, and `SyncStore.restore` must get them back in that order (records of different channels may interleave).
 * If it throws, the write is refused and not applied; since a failed append may still have left the record (or part
 * of it) on disk, the store then refuses every later write (-32005) until the sidecar restarts and restores.
 * A journal reader should drop a torn last line: that write was never acknowledged.
 */
export interface SyncPersistence {
  persist(record: SyncRecord): void;
}

export interface SyncStoreOptions {
  /** Entry changes kept per channel for `changesSince`. Default 10,000. */
  historyLimit?: number;
  /** Most channels one sidecar holds; asking for another is refused with -32602. Default 1,000. */
  maxChannels?: number;
  now?: () => Date;
  /** A new channel's epoch. Default: a random UUID. */
  newEpoch?: () => string;
}

export type ChangeListener = (event: SyncEvent) => void;

export class SyncStore {
  private readonly channels = new Map<string, SyncChannel>();
  private readonly listeners = new Set<ChangeListener>();
  private readonly queue: SyncEvent[] = [];
  private emitting = false;
  private failure: unknown;

  constructor(
    private readonly persistence: SyncPersistence,
    private readonly options: SyncStoreOptions = {},
  ) {}

  /**
   * Rebuilds a store from the records its persistence received (or `toRecords()` gave), revisions, epochs, authors
   * and times included. Records are checked; a bad or out-of-order one throws, naming it, rather than restoring a
   * state no client saw. `persistence` receives the writes made from then on.
   */
  static restore(records: Iterable<SyncRecord>, persistence: SyncPersistence, options: SyncStoreOptions = {}): SyncStore {
    const store = new SyncStore(persistence, options);
    let index = 0;
    for (const raw of records) {
      const parsed = SyncRecordSchema.safeParse(raw);
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        throw new Error(`sync record ${index}: ${issue.path.join('.') || '(record)'}: ${issue.message}`);
      }
      const record = parsed.data as SyncRecord;
      const channel = store.channels.get(record.channel) ?? store.create(record.channel, record.epoch);
      try {
        channel.replay(record);
      } catch (err) {
        throw new Error(`sync record ${index}: ${describeError(err)}`);
      }
      index++;
    }
    return store;
  }

  /** Channels that exist (written to, or asked about), in order of creation. */
  channelNames(): string[] {
    return [...this.channels.keys()];
  }

  revision(channel: string): number {
    return this.channel(channel).revision;
  }

  get(channel: string): SyncSnapshot {
    return this.channel(channel).snapshot();
  }

  entry(channel: string, key: ChangeInput['key']): SyncEntry | undefined {
    return this.channel(channel).entry(key);
  }

  /** See `SyncChannel.changesSince`: undefined means "take a snapshot". */
  changesSince(channel: string, revision: number): SyncEntry[] | undefined {
    return this.channel(channel).changesSince(revision);
  }

  /**
   * Writes one entry; returns what changed and at which revision (the current one, with no changes, when the value
   * was already there). Throws `InvalidInputError` (-32602), `RevisionConflictError` (-32010) or, when persistence
   * failed, a -32005 `SidecarError`.
   */
  set(channel: string, change: ChangeInput, baseRevision: number, changedBy: string): SyncEvent {
    this.checkWritable();
    return this.accepted(this.channel(channel).set(change, baseRevision, changedBy));
  }

  /** Writes several entries at one revision, all or none. Throws as `set` does. */
  setMany(channel: string, changes: readonly ChangeInput[], baseRevision: number, changedBy: string): SyncEvent {
    this.checkWritable();
    return this.accepted(this.channel(channel).setMany(changes, baseRevision, changedBy));
  }

  /**
   * Calls `listener` with each accepted write of every channel, after it is persisted and applied, in revision order
   * per channel (a listener that writes does not reorder what the others hear: events queue until it returns).
   * A throwing listener is ignored: the write is already acknowledged. Returns the function that removes it.
   */
  onChanged(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The fewest records rebuilding every channel's current state; for compacting a journal. */
  toRecords(): SyncRecord[] {
    return [...this.channels.values()].flatMap((c) => c.toRecords());
  }

  /** The channel by name, created (empty, revision 0, a new epoch) on first use. */
  private channel(name: string): SyncChannel {
    const existing = this.channels.get(name);
    if (existing) return existing;
    if (!ChannelName.safeParse(name).success) {
      throw new InvalidInputError('channel', `${JSON.stringify(name)} is not a channel name: use 1 to 64 letters, digits, "-", "_" or "."`);
    }
    const max = this.options.maxChannels ?? 1000;
    if (this.channels.size >= max) {
      throw new InvalidInputError('channel', `this sidecar already holds ${max} channels; use one of them`);
    }
    return this.create(name, this.options.newEpoch?.() ?? randomUUID());
  }

  private create(name: string, epoch: string): SyncChannel {
    const channel = new SyncChannel(name, epoch, {
      historyLimit: this.options.historyLimit ?? DEFAULT_HISTORY_LIMIT,
      ...(this.options.now ? { now: this.options.now } : {}),
      beforeApply: (record) => this.persist(record),
    });
    this.channels.set(name, channel);
    return channel;
  }

  private persist(record: SyncRecord) {
    try {
      this.persistence.persist(record);
    } catch (err) {
      this.failure = err;
      throw new SidecarError(
        `the Geometry Nodes state could not be saved (${describeError(err)}); this write was not applied, and ` +
          'later writes are refused until the sidecar restarts',
        ErrorCode.Unavailable,
        { channel: record.channel, revision: record.revision },
      );
    }
  }

  private checkWritable() {
    if (this.failure === undefined) return;
    throw new SidecarError(
      `the Geometry Nodes state is read-only since saving it failed (${describeError(this.failure)}); restart the sidecar`,
      ErrorCode.Unavailable,
    );
  }

  private accepted(event: SyncEvent): SyncEvent {
    if (event.changes.length === 0) return event;
    this.queue.push(event);
    if (this.emitting) return event;
    this.emitting = true;
    try {
      for (let next = this.queue.shift(); next; next = this.queue.shift()) {
        for (const listener of [...this.listeners]) {
          try {
            listener(next);
          } catch {
            // The write is durable and acknowledged whatever a listener does.
          }
        }
      }
    } finally {
      this.emitting = false;
    }
    return event;
  }
}
