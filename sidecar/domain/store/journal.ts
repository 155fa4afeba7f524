/**
 * An append-only journal of JSON lines, fsync'd per append: what is acknowledged is on disk. Reading tolerates a torn
 * last line (a crash mid-append: that record was never acknowledged). `compact` replaces the journal atomically with
 * a shorter list of records that rebuilds the same state.
 */
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, writeSync } from 'node:fs';
import { writeFileAtomic } from './atomic-file.js';

export class Journal {
  private fd: number | undefined;
  private appended = 0;

  constructor(readonly path: string) {}

  /** Every complete record in the file, in order. */
  read(): unknown[] {
    if (!existsSync(this.path)) return [];
    const text = readFileSync(this.path, 'utf8');
    const lines = text.split('\n');
    const records: unknown[] = [];
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!;
      if (!line) continue;
      try {
        records.push(JSON.parse(line));
      } catch (err) {
        // Only the very last line may be torn; anything else is damage worth stopping for.
        if (i >= lines.length - 2) break;
        throw new Error(`${this.path} line ${i + 1} is damaged: ${(err as Error).message}`);
      }
    }
    return records;
  }

  append(record: unknown): void {
    this.fd ??= openSync(this.path, 'a', 0o600);
    const buf = Buffer.from(`${JSON.stringify(record)}\n`);
    let off = 0;
    while (off < buf.length) off += writeSync(this.fd, buf, off);
    fsyncSync(this.fd);
    this.appended += 1;
  }

  get appendedSinceOpen(): number {
    return this.appended;
  }

  compact(records: readonly unknown[]): void {
    this.close();
    writeFileAtomic(this.path, records.map((r) => `${JSON.stringify(r)}\n`).join(''));
    this.appended = 0;
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
