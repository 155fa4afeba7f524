/**
 * Writing a file so that a crash leaves either the old content or the new, never half: write a temp file beside it,
 * fsync it, rename it over the old one, fsync the folder (so the rename itself is on disk). If anything fails (a full
 * disk, a read-only folder), the temp file is removed and the old file stays as it was; the error is rethrown.
 */
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { PRIVATE_FILE_MODE } from '../../platform.js';

/** Writes one piece of the new content; returns its size in bytes. */
export type WritePiece = (data: string | Buffer) => number;

let tmpCounter = 0;

export function writeFileAtomic(
  path: string,
  data: string | Buffer | ((write: WritePiece) => void),
  options: { fsync?: boolean; mode?: number } = {},
): void {
  const tmp = `${path}.${process.pid}-${++tmpCounter}.tmp`;
  try {
    const fd = openSync(tmp, 'w', options.mode ?? PRIVATE_FILE_MODE);
    try {
      const write: WritePiece = (piece) => {
        const buf = typeof piece === 'string' ? Buffer.from(piece) : piece;
        let off = 0;
        while (off < buf.length) off += writeSync(fd, buf, off);
        return buf.length;
      };
      if (typeof data === 'function') data(write);
      else write(data);
      if (options.fsync !== false) fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    removeQuietly(tmp);
    throw err;
  }
  if (options.fsync !== false) fsyncDir(dirname(path));
}

/** Removes a file if it is there; a failure to remove is not worth a second error. */
export function removeQuietly(path: string): void {
  try {
    rmSync(path, { force: true });
  } catch {
    // Nothing more to do: start-up sweeps leftover temp files.
  }
}

function fsyncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Some platforms (Windows) cannot open a folder for fsync; the rename is still atomic there.
  }
}
