/**
 * An append-only journal of JSON lines, fsync'd per append: what is acknowledged is on disk.
 *
 * Crash safety, at any byte of a write:
 * - A record counts only once its closing newline is on disk (the append is acknowledged after the fsync that covers
 *   it). `open` cuts the file back to the end of the last whole record, so a torn tail (a crash, or a full disk
 *   mid-append) never glues itself to the next record, and says so through `warn`.
 * - An append that fails part-way is cut back at once (ftruncate to the size before it), for the same reason.
 * - A record that is whole but unreadable in the middle of the file is damage, not a crash: the file is copied aside
 *   (`<name>.damaged-<time>`), the journal keeps what came before it, and `warn` says where the copy is. The sidecar
 *   starts either way.
 *
 * Reading is streamed (chunks, one line at a time), so a journal far larger than a JavaScript string still opens.
 * `compact` replaces the journal atomically with a shorter list of records that rebuilds the same state.
 */
import { closeSync, copyFileSync, fstatSync, fsyncSync, ftruncateSync, openSync, readSync, writeSync } from 'node:fs';
import { basename } from 'node:path';
import { writeFileAtomic } from './atomic-file.js';
import { PRIVATE_FILE_MODE } from '../../platform.js';

const CHUNK = 1 << 20;
const NEWLINE = 0x0a;

export interface JournalOpening {
  /** Whole records read. */
  records: number;
  /** Bytes kept (the file's size after any cut). */
  bytes: number;
}

/** An append's error; `journalIntact` when the partial record was cut off again, so appending may go on. */
export type JournalError = Error & { journalIntact?: boolean };

export class Journal {
  private fd: number | undefined;
  private bytes = 0;
  /** Why the journal could only be opened for reading (a read-only folder, say); appends throw it. */
  private readOnly: Error | undefined;

  constructor(
    readonly path: string,
    private readonly warn: (message: string) => void = () => {},
  ) {}

  /**
   * Reads every whole record in order, handing each to `onRecord` as it is parsed, then cuts off a torn tail (and
   * anything after damage) and leaves the journal open for `append`. Call once, before appending.
   */
  open(onRecord: (record: unknown, line: number) => void): JournalOpening {
    try {
      this.fd = openSync(this.path, 'a+', PRIVATE_FILE_MODE);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EACCES' && code !== 'EROFS' && code !== 'EPERM') throw err;
      // Read what there is; writes are refused with this reason.
      this.readOnly = err as Error;
      try {
        this.fd = openSync(this.path, 'r');
      } catch (readErr) {
        if ((readErr as NodeJS.ErrnoException).code === 'ENOENT') return { records: 0, bytes: 0 };
        throw readErr;
      }
    }
    const size = fstatSync(this.fd).size;
    let kept = 0; // Offset just after the last whole, readable record.
    let line = 0;
    let records = 0;
    let pending: Buffer[] = [];
    let damage: string | undefined;
    const chunk = Buffer.allocUnsafe(CHUNK);
    for (let pos = 0; pos < size && damage === undefined; ) {
      const n = readSync(this.fd, chunk, 0, Math.min(CHUNK, size - pos), pos);
      if (n <= 0) break;
      let start = 0;
      for (let nl = chunk.indexOf(NEWLINE, 0); nl !== -1 && nl < n; nl = chunk.indexOf(NEWLINE, start)) {
        pending.push(chunk.subarray(start, nl));
        const text = Buffer.concat(pending).toString('utf8');
        pending = [];
        line += 1;
        const lineEnd = pos + nl + 1;
        start = nl + 1;
        if (text.length === 0) {
          kept = lineEnd;
          continue;
        }
        let record: unknown;
        try {
          record = JSON.parse(text);
        } catch (err) {
          damage = `line ${line} is damaged (${(err as Error).message})`;
          break;
        }
        onRecord(record, line);
        records += 1;
        kept = lineEnd;
      }
      if (damage === undefined && start < n) pending.push(Buffer.from(chunk.subarray(start, n)));
      pos += n;
    }
    const name = basename(this.path);
    if (damage !== undefined) {
      const copy = `${this.path}.damaged-${new Date().toISOString().replace(/[:.]/g, '-')}`;
      copyFileSync(this.path, copy);
      this.warn(
        `${name} ${damage}: kept the ${records} record(s) before it and set the file aside as ${copy}; ` +
          'what came after that line is in the copy only',
      );
    } else if (kept < size) {
      this.warn(
        `${name} ended in a torn record (${size - kept} bytes of a write that was never acknowledged: a crash or a ` +
          'full disk mid-write); cut back to the last whole record',
      );
    }
    if (kept < size && !this.readOnly) {
      ftruncateSync(this.fd, kept);
      fsyncSync(this.fd);
    }
    this.bytes = kept;
    return { records, bytes: kept };
  }

  /** Appends one record durably. If it fails, nothing of it stays in the file (best effort: the cut may fail too). */
  append(record: unknown): void {
    if (this.readOnly) throw this.readOnly;
    if (this.fd === undefined) throw new Error(`${this.path} is not open`);
    const buf = Buffer.from(`${JSON.stringify(record)}\n`);
    const before = this.bytes;
    try {
      let off = 0;
      while (off < buf.length) off += writeSync(this.fd, buf, off);
      fsyncSync(this.fd);
    } catch (err) {
      try {
        ftruncateSync(this.fd, before);
        // The file is as it was before this append: later appends are safe (a full disk may have room again).
        (err as JournalError).journalIntact = true;
      } catch {
        // Then the next open cuts it: a torn tail is never acknowledged.
      }
      throw err;
    }
    this.bytes = before + buf.length;
  }

  /** Set when the journal could be read but not written: why. */
  get readOnlyReason(): Error | undefined {
    return this.readOnly;
  }

  /** The journal's size in bytes, as far as this process wrote it. */
  get size(): number {
    return this.bytes;
  }

  /**
   * Replaces the journal with `records`, atomically (a crash leaves the old file or the new one), and keeps it open
   * for appending. Records are written as they come, so the list need not fit in one string.
   */
  compact(records: Iterable<unknown>): void {
    let written = 0;
    writeFileAtomic(this.path, (write) => {
      for (const r of records) written += write(`${JSON.stringify(r)}\n`);
    });
    this.close();
    this.fd = openSync(this.path, 'a+', PRIVATE_FILE_MODE);
    this.bytes = written;
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
