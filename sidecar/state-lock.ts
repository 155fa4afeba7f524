/**
 * One sidecar per state folder: `<state>/sidecar.lock`, taken before anything in the folder is read or a port bound.
 *
 * - Taking it is atomic: the file is created with O_EXCL (`wx`), so of any number of sidecars starting at once exactly
 *   one creates it; the others read who holds it.
 * - It names its owner by pid and process start time, so a pid reused by another process after a crash does not
 *   hold the folder (where the start time cannot be read, on macOS and Windows, the pid alone is used).
 * - A lock whose owner is gone is taken over. The check and the replace run under a second O_EXCL file
 *   (`sidecar.lock.takeover`), so two sidecars that both saw the dead owner cannot both take over; the lock is
 *   replaced by rename, never removed, so a plain `wx` create cannot slip in between.
 * - It is removed on a clean stop; after a crash the next sidecar takes it over.
 */
import { closeSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { isSameProcess, readDiscovery } from './discovery.js';
import { processStartTime } from './domain/workers/proc-stat.js';
import { writeFileAtomic } from './domain/store/atomic-file.js';
import { DomainError } from './domain/errors.js';
import { StateFolderError } from './state-dir.js';
import { PRIVATE_FILE_MODE } from './platform.js';

const LOCK_FILE = 'sidecar.lock';

export interface LockOwner {
  pid: number;
  /** /proc start time (clock ticks since boot); absent where it cannot be read. */
  startTime?: string;
  startedAt: string;
}

/** Another live sidecar holds the folder: `owner` says which. */
export class StateFolderHeldError extends DomainError {
  override readonly name = 'StateFolderHeldError';
  constructor(
    readonly stateDir: string,
    readonly owner: LockOwner,
  ) {
    const reading = readDiscovery(stateDir);
    const port = reading.state === 'running' && reading.info.pid === owner.pid ? ` on port ${reading.info.port}` : '';
    super(
      'unavailable',
      `another sidecar (pid ${owner.pid}, started ${owner.startedAt})${port} holds the state folder ${stateDir}; ` +
        'use it (blender-sidecar call ... finds it), stop it (blender-sidecar call sidecar.stop), or pass --state-dir ' +
        'to run a second one',
      { stateDir, owner },
    );
  }
}

export interface StateLock {
  readonly path: string;
  /** Removes the lock if it is still ours. Safe to call more than once. */
  release(): void;
}

/** Whether the process the lock names is still that process (not gone, not a stranger on a reused pid). */
export function ownerAlive(owner: LockOwner): boolean {
  return isSameProcess(owner.pid, owner.startTime);
}

function me(): LockOwner {
  const startTime = processStartTime(process.pid);
  return { pid: process.pid, ...(startTime ? { startTime } : {}), startedAt: new Date().toISOString() };
}

function readOwner(path: string): LockOwner | 'absent' | 'unreadable' {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'absent' : 'unreadable';
  }
  try {
    const o = JSON.parse(text) as LockOwner;
    return Number.isInteger(o.pid) && o.pid > 0 ? o : 'unreadable';
  } catch {
    // Empty or half written: its creator crashed between create and write (or is writing it right now).
    return 'unreadable';
  }
}

/**
 * Takes the folder's lock, or throws `StateFolderHeldError` naming the live owner. Other failures (a read-only or
 * full folder) are thrown as they are, for the caller to put into words.
 */
function acquireStateLock(stateDir: string): StateLock {
  const path = join(stateDir, LOCK_FILE);
  const mine = me();
  const text = `${JSON.stringify(mine)}\n`;
  for (let attempt = 0; attempt < 50; attempt++) {
    if (createExclusive(path, text)) return ownLock(path, mine);
    const owner = readOwner(path);
    if (owner === 'absent') continue; // Released between our create and our read: try again.
    if (owner !== 'unreadable' && ownerAlive(owner)) throw new StateFolderHeldError(stateDir, owner);
    if (owner === 'unreadable' && ageMs(path) < 2000) {
      // Probably being written by its creator this instant; look again shortly.
      sleepMs(20);
      continue;
    }
    if (takeOver(path, owner, text)) return ownLock(path, mine);
  }
  throw new DomainError('unavailable', `could not take the lock ${path}: it kept changing hands; try again`);
}

function createExclusive(path: string, text: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx', PRIVATE_FILE_MODE);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    writeSync(fd, text);
  } catch (err) {
    closeSync(fd);
    rmSync(path, { force: true });
    throw err;
  } finally {
    try {
      closeSync(fd);
    } catch {
      // Closed above on the error path.
    }
  }
  return true;
}

/** Replaces a dead owner's lock with ours, under the takeover file. False when someone else got there first. */
function takeOver(path: string, seen: LockOwner | 'unreadable', text: string): boolean {
  const guard = `${path}.takeover`;
  const guardOwner = `${JSON.stringify(me())}\n`;
  if (!createExclusive(guard, guardOwner)) {
    const g = readOwner(guard);
    // A takeover whose taker died mid-way would block every later one: clear it once its owner is gone.
    if (g !== 'absent' && (g === 'unreadable' ? ageMs(guard) > 5000 : !ownerAlive(g))) rmSync(guard, { force: true });
    sleepMs(10);
    return false;
  }
  try {
    const now = readOwner(path);
    const same =
      now === 'unreadable'
        ? seen === 'unreadable'
        : now !== 'absent' &&
          seen !== 'unreadable' &&
          now.pid === seen.pid &&
          now.startTime === seen.startTime &&
          now.startedAt === seen.startedAt;
    if (!same) return false; // Taken over (or released) since we looked: start again from the top.
    writeFileAtomic(path, text, { fsync: false });
    return true;
  } finally {
    rmSync(guard, { force: true });
  }
}

function ownLock(path: string, mine: LockOwner): StateLock {
  let released = false;
  return {
    path,
    release() {
      if (released) return;
      released = true;
      const now = readOwner(path);
      if (now !== 'absent' && now !== 'unreadable' && now.pid === mine.pid && now.startedAt === mine.startedAt)
        rmSync(path, { force: true });
    },
  };
}

function ageMs(path: string): number {
  try {
    return Date.now() - statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

/** A short synchronous pause (start-up only, while another process finishes writing a file). */
function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** `acquireStateLock`, with a file-system failure put into words (StateFolderError). */
export function takeStateLock(stateDir: string): StateLock {
  try {
    return acquireStateLock(stateDir);
  } catch (err) {
    if (err instanceof DomainError) throw err;
    throw new StateFolderError(stateDir, `take the lock ${LOCK_FILE}`, err);
  }
}
