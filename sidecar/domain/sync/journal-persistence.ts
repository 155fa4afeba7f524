/**
 * Sync channels on disk: every accepted write appended to `<state>/gn-journal.jsonl` and fsync'd before it is
 * acknowledged. At start the journal is replayed, then compacted (one record per channel with its current values),
 * so it does not grow without end across restarts.
 */
import { join } from 'node:path';
import { Journal } from '../store/journal.js';
import { SyncRecordSchema, SyncStore, type SyncRecord } from './store.js';

export function openSyncStore(stateDir: string, warn: (message: string) => void): SyncStore {
  const journal = new Journal(join(stateDir, 'gn-journal.jsonl'));
  const records: SyncRecord[] = [];
  journal.read().forEach((raw, i) => {
    const parsed = SyncRecordSchema.safeParse(raw);
    if (parsed.success) records.push(parsed.data as SyncRecord);
    else warn(`gn-journal.jsonl record ${i + 1} is not a sync record; skipped`);
  });
  const persistence = { persist: (record: SyncRecord) => journal.append(record) };
  const store = SyncStore.restore(records, persistence);
  if (journal.appendedSinceOpen === 0 && records.length > store.channelNames().length) journal.compact(store.toRecords());
  return store;
}
