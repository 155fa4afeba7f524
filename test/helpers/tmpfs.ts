/**
 * A tiny tmpfs for tests of a full or read-only state folder (the tests run as root, as in CI's container). Each mount
 * is unmounted by `unmountAll`, which the test calls in an `after` hook.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, openSync, closeSync, writeSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './sidecar.js';

const mounted: string[] = [];

/** Mounts a tmpfs of `sizeKiB` on a new folder and returns it. */
export function mountTmpfs(sizeKiB: number): string {
  const dir = tempDir('tmpfs-');
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeKiB}k,mode=0700`, 'tmpfs', dir]);
  mounted.push(dir);
  return dir;
}

export function remountReadOnly(dir: string): void {
  execFileSync('mount', ['-o', 'remount,ro', dir]);
}

/** Fills the file system holding `dir` with one file, until it is full; returns the file (remove it to free space). */
export function fill(dir: string): string {
  const path = join(dir, 'filler');
  const fd = openSync(path, 'w');
  const block = Buffer.alloc(64 * 1024, 1);
  try {
    for (;;) writeSync(fd, block);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  }
  // Smaller pieces for the last bytes: the file system must be truly full.
  const byte = Buffer.alloc(512, 1);
  try {
    for (;;) writeSync(fd, byte);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    closeSync(fd);
  }
  return path;
}

export function unmountAll(): void {
  for (const dir of mounted.splice(0)) {
    try {
      execFileSync('umount', ['-l', dir]);
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // Best effort: a leftover mount of a few KiB in /tmp harms nothing.
    }
  }
}

export function subdir(dir: string, name: string): string {
  const path = join(dir, name);
  mkdirSync(path, { recursive: true, mode: 0o700 });
  return path;
}
