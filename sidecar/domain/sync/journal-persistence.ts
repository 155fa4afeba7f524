/**
 * Sync channels on disk: every accepted write appended to `<state>/gn-journal.jsonl` and fsync'd before it is
 * acknowledged. At start the journal is streamed in and replayed; a torn tail is cut (see Journal).
 *
 * Compaction happens while running, not only at start: before an append, once the journal has grown past twice
 * what the live state weighs (and past `compactFloorBytes`), it is rewritten atomically as one record per kept
 * revision. Each byte is so rewritten a bounded number of times, and the file stays within a small multiple of the
 * state it holds, so a restart reads little whatever was written before.
 */
import { join } from 'node:path';
import { describeError } from '../errors.js';
import { StateFolderError } from '../../state-dir.js';
import { Journal } from '../store/journal.js';
import { SyncStore, type SyncDeletion, type SyncRecord, type SyncStoreOptions } from './store.js';

export const JOURNAL_FILE = 'gn-journal.jsonl';

export interface SyncJournalOptions extends SyncStoreOptions {
  /** No compaction below this size (default 4 MiB): small journals are cheap to read. */
  compactFloorBytes?: number;
  /** An append failed (the write was refused as unavailable). */
  onFault?: (err: unknown) => void;
  /** An append succeeded after one had failed. */
  onRecovered?: () => void;
}

export interface PersistentSyncStore {
  store: SyncStore;
  /** Why writes are refused from the start (a read-only state folder), if they are. */
  readOnly: Error | undefined;
  close(): void;
}

export function openSyncStore(stateDir: string, warn: (message: string) => void, options: SyncJournalOptions = {}): PersistentSyncStore {
  const journal = new Journal(join(stateDir, JOURNAL_FILE), warn);
  const floor = options.compactFloorBytes ?? 4 * 2 ** 20;
  // After a failed compaction (a full disk), the next try waits until the journal has grown by `floor` again.
  let retryAt = 0;
  const compactIfDue = () => {
    const due = Math.max(floor, 2 * store.bytes, retryAt);
    if (journal.size <= due || journal.readOnlyReason) return;
    try {
      journal.compact(store.records());
      retryAt = 0;
    } catch (err) {
      retryAt = journal.size + floor;
      warn(`${JOURNAL_FILE} could not be compacted (${describeError(err)}); it keeps growing until there is room`);
    }
  };
  const write = (record: SyncRecord | SyncDeletion) => {
    // Before the append: the store does not hold this record yet, so a compaction now plus the append is exact.
    compactIfDue();
    try {
      journal.append(record);
    } catch (err) {
      faulted = true;
      options.onFault?.(err);
      throw err;
    }
    if (faulted) {
      faulted = false;
      options.onRecovered?.();
    }
  };
  let faulted = false;
  const store = new SyncStore({ persist: write, persistDeletion: write }, options);
  let skipped = 0;
  try {
    journal.open((raw, line) => {
      try {
        store.replay(raw, line);
      } catch (err) {
        // One bad record must not keep the sidecar from starting; the rest of its channel still replays.
        skipped += 1;
        if (skipped <= 5) warn(`${JOURNAL_FILE} line ${line} was skipped: ${describeError(err)}`);
      }
    });
  } catch (err) {
    journal.close();
    throw new StateFolderError(stateDir, `read ${JOURNAL_FILE}`, err);
  }
  if (skipped > 5) warn(`${JOURNAL_FILE}: ${skipped} records were skipped in all`);
  if (journal.readOnlyReason) store.refuseWrites(journal.readOnlyReason);
  else compactIfDue();
  return { store, readOnly: journal.readOnlyReason, close: () => journal.close() };
}
