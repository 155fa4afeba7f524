/**
 * One named channel of Geometry Nodes state, with optimistic concurrency by revision.
 *
 * The channel's revision counts accepted writes: each `set` or `setMany` that changes anything takes the next
 * revision, and every entry it changes records that revision, the writer and the time. A write names the revision its
 * author last saw (`baseRevision`); it is refused with a `RevisionConflictError` iff an entry it touches changed after
 * that (entry revision > baseRevision). Writes to other entries in between do not conflict.
 *
 * Choices a client can rely on:
 * - A `setMany` is one write: all its changes or none, at one revision (a subscriber never sees half of it).
 * - A write that leaves every value as it is changes nothing: no new revision, no record, no event; it answers with
 *   the channel's current revision. (An add-on that echoes back what it was just sent does not start a ping-pong.)
 * - Checks run in this order, and the first failure refuses the whole write: shape and type of each value
 *   (bad input), the entry's fixed type (bad input), baseRevision (bad input when ahead of the channel), conflicts
 *   (conflict).
 *
 * A bounded history of recent changes answers `changesSince`, so a client that reconnects gets only what it missed.
 */
import { DomainError, InvalidInputError } from '../errors.js';
import {
  checkTypeUnchanged,
  describeKey,
  keyId,
  parseChange,
  sameValue,
  type ChangeInput,
  type EntryKey,
  type SyncChange,
  type TypedValue,
  type ValueType,
} from './value.js';

/** An entry as it stands after the change that last wrote it; also the form a change takes in history and events. */
export type SyncEntry = { key: EntryKey } & TypedValue & {
    /** The channel revision of the write that last changed it. */
    revision: number;
    changedBy: string;
    /** ISO 8601. */
    changedAt: string;
  };

/**
 * One accepted write, as it is persisted: replaying a channel's records in order rebuilds it exactly. Every record
 * carries the channel's epoch, so a journal that was compacted (older records dropped) still names it.
 */
export interface SyncRecord {
  channel: string;
  epoch: string;
  revision: number;
  changedBy: string;
  changedAt: string;
  changes: SyncChange[];
}

export interface SyncSnapshot {
  channel: string;
  /** Names this channel's history: it differs after the sidecar's state was lost or replaced. */
  epoch: string;
  revision: number;
  entries: SyncEntry[];
}

/** What one accepted write changed; `changes` is empty when the write changed nothing. */
export interface SyncEvent {
  channel: string;
  revision: number;
  changes: SyncEntry[];
}

export interface ConflictDetail {
  key: EntryKey;
  current: { type: ValueType; value: TypedValue['value']; revision: number; changedBy: string };
}

/** A conflict: an entry the write touches changed after the write's baseRevision. Nothing of the write was applied. */
export class RevisionConflictError extends DomainError {
  override readonly name = 'RevisionConflictError';
  constructor(
    channel: string,
    baseRevision: number,
    channelRevision: number,
    conflicts: ConflictDetail[],
    /** setMany lists every conflicting entry, so a client can refresh them all before retrying. */
    listAll: boolean,
  ) {
    const first = conflicts[0]!;
    const more = conflicts.length > 1 ? ` (and ${conflicts.length - 1} more entries)` : '';
    super(
      'conflict',
      `revision conflict: ${describeKey(first.key)} in channel "${channel}" changed at revision ` +
        `${first.current.revision} by ${first.current.changedBy}, after baseRevision ${baseRevision}${more}`,
      { channel, key: first.key, current: first.current, channelRevision, ...(listAll ? { conflicts } : {}) },
    );
  }
}

export interface SyncChannelOptions {
  /** Most entry changes kept for `changesSince` (whole writes are dropped, oldest first). Default 10,000. */
  historyLimit?: number;
  /** Most bytes of changes kept for `changesSince` (measured as `entryBytes`). Default 16 MiB. */
  historyBytes?: number;
  /** Most entries the channel holds; a write adding more is refused (bad input). Default 100,000. */
  maxEntries?: number;
  /** Most bytes of values the channel holds (measured as `entryBytes`); a write past it is refused. Default 64 MiB. */
  maxBytes?: number;
  /** Called with how many bytes an accepted write adds (negative when it shrinks); throws to refuse it. */
  checkGrowth?: (deltaBytes: number, channel: string) => void;
  /** Called with each accepted write before it is applied; if it throws, nothing is applied. */
  beforeApply?: (record: SyncRecord) => void;
  now?: () => Date;
}

export const DEFAULT_HISTORY_LIMIT = 10_000;
const DEFAULT_HISTORY_BYTES = 16 * 2 ** 20;
const DEFAULT_MAX_ENTRIES = 100_000;
const DEFAULT_MAX_CHANNEL_BYTES = 64 * 2 ** 20;

/**
 * An entry's weight for the limits: about what it costs in the journal (its JSON), without serialising it. Cheap,
 * because it runs on every write.
 */
function entryBytes(c: SyncChange): number {
  const v = c.value;
  const value = typeof v === 'string' ? v.length : Array.isArray(v) ? 24 * v.length : 16;
  return 96 + c.key.object.length + c.key.modifier.length + c.key.input.length + value;
}

export const MiB = (n: number): string => `${Math.round((n / 2 ** 20) * 10) / 10} MiB`;

export class SyncChannel {
  private rev = 0;
  private readonly entries = new Map<string, SyncEntry>();
  /** history[head..] are the kept changes, in revision order; compacted now and then rather than shifted. */
  private history: SyncEntry[] = [];
  private head = 0;
  /** Every change after this revision is in history. */
  private floor = 0;
  private readonly historyLimit: number;
  private readonly historyBytesLimit: number;
  private historyBytes = 0;
  private liveBytes = 0;

  constructor(
    readonly name: string,
    readonly epoch: string,
    private readonly options: SyncChannelOptions = {},
  ) {
    this.historyLimit = Math.max(1, options.historyLimit ?? DEFAULT_HISTORY_LIMIT);
    this.historyBytesLimit = Math.max(1, options.historyBytes ?? DEFAULT_HISTORY_BYTES);
  }

  /** What the channel's values weigh, in `entryBytes`. */
  get bytes(): number {
    return this.liveBytes;
  }

  get revision(): number {
    return this.rev;
  }

  get size(): number {
    return this.entries.size;
  }

  entry(key: EntryKey): SyncEntry | undefined {
    return this.entries.get(keyId(key));
  }

  /** Writes one entry. Throws `InvalidInputError` (fields `key`, `type`, `value`, `baseRevision`) or a conflict. */
  set(change: ChangeInput, baseRevision: number, by: string): SyncEvent {
    return this.write([parseChange(change, '', this.heldType)], ['type'], baseRevision, by, false);
  }

  /** Writes several entries atomically at one revision (fields named `changes[i].type` and so on). */
  setMany(changes: readonly ChangeInput[], baseRevision: number, by: string): SyncEvent {
    if (changes.length === 0) throw new InvalidInputError('changes', 'expected at least one change');
    const parsed = changes.map((c, i) => parseChange(c, `changes[${i}]`, this.heldType));
    const seen = new Map<string, number>();
    parsed.forEach((c, i) => {
      const id = keyId(c.key);
      const j = seen.get(id);
      if (j !== undefined) throw new InvalidInputError(`changes[${i}].key`, `names the same entry as changes[${j}].key`);
      seen.set(id, i);
    });
    return this.write(
      parsed,
      parsed.map((_, i) => `changes[${i}].type`),
      baseRevision,
      by,
      true,
    );
  }

  /** The type an entry holds, for a change written without one. */
  private readonly heldType = (key: EntryKey): ValueType | undefined => this.entries.get(keyId(key))?.type;

  snapshot(): SyncSnapshot {
    return { channel: this.name, epoch: this.epoch, revision: this.rev, entries: [...this.entries.values()] };
  }

  /**
   * The changes after `revision`, in revision order (the writes of a setMany are adjacent and share a revision).
   * Undefined when they cannot be given: older than the kept history, or ahead of this channel (a client whose view
   * comes from another history). Then the client needs a snapshot.
   */
  changesSince(revision: number): SyncEntry[] | undefined {
    if (!Number.isInteger(revision) || revision < this.floor || revision > this.rev) return undefined;
    if (revision === this.rev) return [];
    let lo = this.head;
    let hi = this.history.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.history[mid]!.revision > revision) hi = mid;
      else lo = mid + 1;
    }
    return this.history.slice(lo);
  }

  /**
   * Applies a record read back from persistence (`SyncStore.restore`). Records must come in increasing revision
   * order; a gap (a compacted journal) is allowed, and history then starts after it.
   */
  replay(record: SyncRecord): SyncEvent {
    const where = `sync record for channel "${record.channel}" at revision ${record.revision}`;
    if (record.channel !== this.name || record.epoch !== this.epoch) {
      throw new Error(`${where}: belongs to another channel or epoch (${record.epoch}, expected ${this.epoch})`);
    }
    if (!Number.isInteger(record.revision) || record.revision <= this.rev) {
      throw new Error(`${where}: out of order, the channel is already at revision ${this.rev}`);
    }
    if (record.changes.length === 0) throw new Error(`${where}: has no changes`);
    const changes = record.changes.map((c, i) => parseChange(c, `changes[${i}]`));
    for (const c of changes) {
      const held = this.entries.get(keyId(c.key));
      if (held) checkTypeUnchanged(c.key, held.type, c.type);
    }
    if (record.revision > this.rev + 1) {
      this.head = this.history.length;
      this.historyBytes = 0;
      this.floor = record.revision - 1;
    }
    return this.apply({ ...record, changes });
  }

  /**
   * The fewest records that rebuild this channel's current state and revisions (one per revision still visible in an
   * entry), for compacting a journal. History before the last of them is not kept by a restore from these.
   */
  toRecords(): SyncRecord[] {
    const byRevision = new Map<number, SyncRecord>();
    for (const e of this.entries.values()) {
      let record = byRevision.get(e.revision);
      if (!record) {
        record = {
          channel: this.name,
          epoch: this.epoch,
          revision: e.revision,
          changedBy: e.changedBy,
          changedAt: e.changedAt,
          changes: [],
        };
        byRevision.set(e.revision, record);
      }
      record.changes.push({ key: e.key, type: e.type, value: e.value } as SyncChange);
    }
    return [...byRevision.values()].sort((a, b) => a.revision - b.revision);
  }

  private write(changes: SyncChange[], typeFields: string[], baseRevision: number, by: string, listAll: boolean): SyncEvent {
    changes.forEach((c, i) => {
      const held = this.entries.get(keyId(c.key));
      if (held) checkTypeUnchanged(c.key, held.type, c.type, typeFields[i]);
    });
    this.checkBaseRevision(baseRevision);
    const conflicts: ConflictDetail[] = [];
    const changed: SyncChange[] = [];
    for (const c of changes) {
      const held = this.entries.get(keyId(c.key));
      if (held && held.revision > baseRevision) {
        conflicts.push({
          key: held.key,
          current: { type: held.type, value: held.value, revision: held.revision, changedBy: held.changedBy },
        });
      } else if (!held || !sameValue(held.value, c.value)) {
        changed.push(c);
      }
    }
    if (conflicts.length > 0) throw new RevisionConflictError(this.name, baseRevision, this.rev, conflicts, listAll);
    if (changed.length === 0) return { channel: this.name, revision: this.rev, changes: [] };
    this.checkLimits(changed, listAll ? 'changes' : 'value');
    const record: SyncRecord = {
      channel: this.name,
      epoch: this.epoch,
      revision: this.rev + 1,
      changedBy: by,
      changedAt: (this.options.now?.() ?? new Date()).toISOString(),
      changes: changed,
    };
    this.options.beforeApply?.(record);
    return this.apply(record);
  }

  private checkBaseRevision(baseRevision: number) {
    if (!Number.isInteger(baseRevision) || baseRevision < 0) {
      throw new InvalidInputError('baseRevision', 'expected an integer >= 0 (the channel revision this write is based on)');
    }
    if (baseRevision > this.rev) {
      throw new InvalidInputError(
        'baseRevision',
        `${baseRevision} is ahead of channel "${this.name}", which is at revision ${this.rev}: this client's view comes ` +
          "from another history (was the sidecar's state reset?); resync with gn.get or gn.subscribe",
        { channelRevision: this.rev, epoch: this.epoch },
      );
    }
  }

  /** Refuses a write that would take the channel past its entry or byte limit, saying what to do instead. */
  private checkLimits(changed: SyncChange[], field: string) {
    let added = 0;
    let delta = 0;
    for (const c of changed) {
      const held = this.entries.get(keyId(c.key));
      if (!held) added += 1;
      delta += entryBytes(c) - (held ? entryBytes(held) : 0);
    }
    const maxEntries = this.options.maxEntries ?? DEFAULT_MAX_ENTRIES;
    if (this.entries.size + added > maxEntries) {
      throw new InvalidInputError(
        field,
        `channel "${this.name}" holds ${this.entries.size} entries and may hold at most ${maxEntries}; ` +
          'write to another channel, or delete this one with gn.deleteChannel',
        { limit: 'entries', max: maxEntries },
      );
    }
    const maxBytes = this.options.maxBytes ?? DEFAULT_MAX_CHANNEL_BYTES;
    if (delta > 0 && this.liveBytes + delta > maxBytes) {
      throw new InvalidInputError(
        field,
        `this write would take channel "${this.name}" to ${MiB(this.liveBytes + delta)} of values, over its ` +
          `${MiB(maxBytes)} limit; write smaller values, use another channel, or delete this one with gn.deleteChannel`,
        { limit: 'channelBytes', max: maxBytes },
      );
    }
    this.options.checkGrowth?.(delta, this.name);
  }

  /** Applies a record already checked (and persisted): nothing here may fail half-way. */
  private apply(record: SyncRecord): SyncEvent {
    const out: SyncEntry[] = [];
    for (const c of record.changes) {
      const entry = Object.freeze({
        key: Object.freeze(c.key),
        type: c.type,
        value: Array.isArray(c.value) ? Object.freeze(c.value) : c.value,
        revision: record.revision,
        changedBy: record.changedBy,
        changedAt: record.changedAt,
      }) as SyncEntry;
      // Delete first: an entry moves to the end, so the map stays in order of last change (snapshots read that way).
      const id = keyId(c.key);
      const held = this.entries.get(id);
      const size = entryBytes(entry);
      this.liveBytes += size - (held ? entryBytes(held) : 0);
      this.entries.delete(id);
      this.entries.set(id, entry);
      this.history.push(entry);
      this.historyBytes += size;
      out.push(entry);
    }
    this.rev = record.revision;
    this.trimHistory();
    return { channel: this.name, revision: record.revision, changes: out };
  }

  private trimHistory() {
    while (this.history.length - this.head > this.historyLimit || this.historyBytes > this.historyBytesLimit) {
      const oldest = this.history[this.head]!.revision;
      if (oldest === this.rev) break; // The latest write stays whole, even when it alone is over the limit.
      while (this.head < this.history.length && this.history[this.head]!.revision === oldest) {
        this.historyBytes -= entryBytes(this.history[this.head]!);
        this.head++;
      }
      this.floor = oldest;
    }
    if (this.head > 1024 && this.head * 2 > this.history.length) {
      this.history = this.history.slice(this.head);
      this.head = 0;
    }
  }
}
