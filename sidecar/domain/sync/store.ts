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
import { DomainError, InvalidInputError, describeError } from '../errors.js';
import { DEFAULT_HISTORY_LIMIT, SyncChannel, MiB, type SyncEntry, type SyncEvent, type SyncRecord, type SyncSnapshot } from './channel.js';
import { ChangeSchema, type ChangeInput } from './value.js';

export { RevisionConflictError, type SyncEntry, type SyncEvent, type SyncRecord, type SyncSnapshot } from './channel.js';

export const DEFAULT_CHANNEL = 'default';

export const ChannelName = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,64}$/, '1 to 64 letters, digits, "-", "_" or "."')
  .describe('The channel: 1 to 64 letters, digits, "-", "_" or ".".');

/** A persisted record, as read back from a journal: checked before it is replayed. */
const SyncRecordSchema = z.strictObject({
  channel: ChannelName,
  epoch: z.string().min(1),
  revision: z.int().min(1),
  changedBy: z.string(),
  changedAt: z.string(),
  changes: z.array(ChangeSchema).min(1),
});

/** A channel deleted with gn.deleteChannel, as persisted: replaying it drops the channel of that epoch. */
export const SyncDeletionSchema = z.strictObject({
  channel: ChannelName,
  epoch: z.string().min(1),
  deleted: z.literal(true),
  deletedBy: z.string(),
  deletedAt: z.string(),
});
export type SyncDeletion = z.infer<typeof SyncDeletionSchema>;

/**
 * Where accepted writes go to survive a crash.
 *
 * `persist` is called synchronously with each accepted write, before it is applied and before the caller is answered.
 * It must return only once the record is durable (appended and fsync'd); records of one channel arrive in revision
 * order, and `SyncStore.restore` must get them back in that order (records of different channels may interleave).
 * If it throws, the write is refused and not applied; since a failed append may still have left the record (or part
 * of it) on disk, the store then refuses every later write (unavailable) until the sidecar restarts and restores.
 * A journal reader should drop a torn last line: that write was never acknowledged.
 */
export interface SyncPersistence {
  persist(record: SyncRecord): void;
  /** The same, for a deleted channel (gn.deleteChannel). Without it a deletion lasts until the next restart. */
  persistDeletion?(deletion: SyncDeletion): void;
}

export interface SyncStoreOptions {
  /** Entry changes kept per channel for `changesSince`. Default 10,000. */
  historyLimit?: number;
  /** Most bytes of changes kept per channel for `changesSince`. Default 16 MiB. */
  historyBytes?: number;
  /** Most channels one sidecar holds; writing to another is refused (bad input). Default 1,000. */
  maxChannels?: number;
  /** Most entries per channel. Default 100,000. */
  maxEntries?: number;
  /** Most bytes of values per channel. Default 64 MiB. */
  maxChannelBytes?: number;
  /** Most bytes of values in all channels together. Default 256 MiB. */
  maxTotalBytes?: number;
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
  /** The epoch an unwritten channel reports; the channel keeps it when first written. Renewed by a deletion. */
  private unwrittenEpoch: string;
  private totalBytes = 0;

  constructor(
    private readonly persistence: SyncPersistence,
    private readonly options: SyncStoreOptions = {},
  ) {
    this.unwrittenEpoch = this.newEpoch();
  }

  /**
   * Rebuilds a store from the records its persistence received (or `toRecords()` gave), revisions, epochs, authors
   * and times included. Records are checked; a bad or out-of-order one throws, naming it, rather than restoring a
   * state no client saw. `persistence` receives the writes made from then on.
   */
  static restore(records: Iterable<SyncRecord>, persistence: SyncPersistence, options: SyncStoreOptions = {}): SyncStore {
    const store = new SyncStore(persistence, options);
    let index = 0;
    for (const raw of records) store.replay(raw, index++);
    return store;
  }

  /**
   * Applies one persisted record (a write or a deletion) while restoring, before any new write. Throws, naming the
   * record by `index`, when it is malformed or does not follow what came before; the store is unchanged then.
   */
  replay(raw: unknown, index: number): void {
    if (raw !== null && typeof raw === 'object' && 'deleted' in raw) {
      const parsed = SyncDeletionSchema.safeParse(raw);
      if (!parsed.success) throw new Error(`sync record ${index}: ${describeIssue(parsed.error.issues[0]!)}`);
      const held = this.channels.get(parsed.data.channel);
      if (held?.epoch === parsed.data.epoch) this.drop(parsed.data.channel);
      return;
    }
    const parsed = SyncRecordSchema.safeParse(raw);
    if (!parsed.success) throw new Error(`sync record ${index}: ${describeIssue(parsed.error.issues[0]!)}`);
    const record = parsed.data as SyncRecord;
    const existing = this.channels.get(record.channel);
    const channel = existing ?? this.create(record.channel, record.epoch);
    try {
      const before = channel.bytes;
      channel.replay(record);
      this.totalBytes += channel.bytes - before;
    } catch (err) {
      if (!existing) this.channels.delete(record.channel);
      throw new Error(`sync record ${index}: ${describeError(err)}`);
    }
  }

  /**
   * Channels that exist, in order of creation. Only a write creates a channel: reading or following a name never
   * written takes no slot (it reads as empty, at revision 0).
   */
  channelNames(): string[] {
    return [...this.channels.keys()];
  }

  revision(channel: string): number {
    return this.existing(channel)?.revision ?? 0;
  }

  get(channel: string): SyncSnapshot {
    return this.existing(channel)?.snapshot() ?? { channel, epoch: this.unwrittenEpoch, revision: 0, entries: [] };
  }

  entry(channel: string, key: ChangeInput['key']): SyncEntry | undefined {
    return this.existing(channel)?.entry(key);
  }

  /** See `SyncChannel.changesSince`: undefined means "take a snapshot". */
  changesSince(channel: string, revision: number): SyncEntry[] | undefined {
    const held = this.existing(channel);
    if (held) return held.changesSince(revision);
    return revision === 0 ? [] : undefined;
  }

  /** What the values of every channel weigh together (see `entryBytes`). */
  get bytes(): number {
    return this.totalBytes;
  }

  /**
   * Deletes a channel and its history, durably (a deletion record), freeing its slot. Returns whether it existed.
   * Written again, it starts over at revision 0 under a new epoch, so a client holding the old one resyncs.
   * Throws an unavailable DomainError as a write does when the deletion cannot be saved.
   */
  deleteChannel(channel: string, deletedBy: string): boolean {
    this.checkWritable();
    const held = this.existing(channel);
    if (!held) return false;
    const deletion: SyncDeletion = {
      channel,
      epoch: held.epoch,
      deleted: true,
      deletedBy,
      deletedAt: (this.options.now?.() ?? new Date()).toISOString(),
    };
    this.persist(deletion);
    this.drop(channel);
    return true;
  }

  /**
   * Writes one entry; returns what changed and at which revision (the current one, with no changes, when the value
   * was already there). Throws `InvalidInputError`, `RevisionConflictError` or, when persistence
   * failed, an unavailable `DomainError`.
   */
  set(channel: string, change: ChangeInput, baseRevision: number, changedBy: string): SyncEvent {
    this.checkWritable();
    return this.accepted(this.weighed(this.channel(channel), (c) => c.set(change, baseRevision, changedBy)));
  }

  /** Writes several entries at one revision, all or none. Throws as `set` does. */
  setMany(channel: string, changes: readonly ChangeInput[], baseRevision: number, changedBy: string): SyncEvent {
    this.checkWritable();
    return this.accepted(this.weighed(this.channel(channel), (c) => c.setMany(changes, baseRevision, changedBy)));
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
    return [...this.records()];
  }

  /** `toRecords`, one channel at a time: a compaction need not hold them all at once. */
  *records(): Generator<SyncRecord> {
    for (const c of [...this.channels.values()]) yield* c.toRecords();
  }

  private existing(name: string): SyncChannel | undefined {
    const held = this.channels.get(name);
    if (held) return held;
    checkChannelName(name);
    return undefined;
  }

  /** The channel a write goes to, created (empty, revision 0) on the first write. */
  private channel(name: string): SyncChannel {
    const existing = this.existing(name);
    if (existing) return existing;
    const max = this.options.maxChannels ?? 1000;
    if (this.channels.size >= max) {
      throw new InvalidInputError(
        'channel',
        `this sidecar already holds ${max} channels; write to one of them, or delete one with gn.deleteChannel`,
        { limit: 'channels', max },
      );
    }
    const created = this.create(name, this.unwrittenEpoch);
    // Each channel gets its own epoch; a client that read this name unwritten keeps the one it saw.
    this.unwrittenEpoch = this.newEpoch();
    return created;
  }

  private create(name: string, epoch: string): SyncChannel {
    const o = this.options;
    const channel = new SyncChannel(name, epoch, {
      historyLimit: o.historyLimit ?? DEFAULT_HISTORY_LIMIT,
      ...(o.historyBytes !== undefined ? { historyBytes: o.historyBytes } : {}),
      ...(o.maxEntries !== undefined ? { maxEntries: o.maxEntries } : {}),
      ...(o.maxChannelBytes !== undefined ? { maxBytes: o.maxChannelBytes } : {}),
      ...(o.now ? { now: o.now } : {}),
      checkGrowth: (delta, channelName) => this.checkGrowth(delta, channelName),
      beforeApply: (record) => this.persist(record),
    });
    this.channels.set(name, channel);
    return channel;
  }

  /** Runs a write on a channel and keeps the store's total weight up to date. */
  private weighed(channel: SyncChannel, write: (c: SyncChannel) => SyncEvent): SyncEvent {
    const before = channel.bytes;
    try {
      return write(channel);
    } finally {
      this.totalBytes += channel.bytes - before;
      // A refused first write leaves no empty channel behind to hold a slot.
      if (channel.revision === 0) this.channels.delete(channel.name);
    }
  }

  private checkGrowth(delta: number, channel: string) {
    const max = this.options.maxTotalBytes ?? 256 * 2 ** 20;
    if (delta <= 0 || this.totalBytes + delta <= max) return;
    throw new InvalidInputError(
      'changes',
      `this write would take the Geometry Nodes state to ${MiB(this.totalBytes + delta)}, over ` +
        `the sidecar's ${MiB(max)} limit; delete channels you no longer need (gn.deleteChannel)`,
      { limit: 'totalBytes', max, channel },
    );
  }

  private drop(name: string) {
    const held = this.channels.get(name);
    if (!held) return;
    this.totalBytes -= held.bytes;
    this.channels.delete(name);
    this.unwrittenEpoch = this.newEpoch();
  }

  private newEpoch(): string {
    return this.options.newEpoch?.() ?? randomUUID();
  }

  private persist(record: SyncRecord | SyncDeletion) {
    try {
      if ('deleted' in record) this.persistence.persistDeletion?.(record);
      else this.persistence.persist(record);
    } catch (err) {
      // A persistence that cut the failed record off again (`journalIntact`) can take later writes (a full disk that
      // has room again); otherwise what is on disk is uncertain until a restart reads it back.
      const intact = (err as { journalIntact?: boolean } | undefined)?.journalIntact === true;
      if (!intact) this.failure = err;
      throw new DomainError(
        'unavailable',
        `the Geometry Nodes state could not be saved (${describeError(err)}); this write was not applied` +
          (intact ? '; try again once the state folder has room' : ', and later writes are refused until the sidecar restarts'),
        { channel: record.channel, ...('revision' in record ? { revision: record.revision } : {}) },
      );
    }
  }

  /** From now on, writes are refused as unavailable, naming `reason` (a state folder that cannot be written). */
  refuseWrites(reason: unknown): void {
    this.failure ??= reason;
  }

  private checkWritable() {
    if (this.failure === undefined) return;
    throw new DomainError(
      'unavailable',
      `the Geometry Nodes state is read-only since saving it failed (${describeError(this.failure)}); restart the sidecar`,
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

function checkChannelName(name: string) {
  if (!ChannelName.safeParse(name).success) {
    throw new InvalidInputError('channel', `${JSON.stringify(name)} is not a channel name: use 1 to 64 letters, digits, "-", "_" or "."`);
  }
}

function describeIssue(issue: { path: PropertyKey[]; message: string }): string {
  return `${issue.path.map(String).join('.') || '(record)'}: ${issue.message}`;
}
