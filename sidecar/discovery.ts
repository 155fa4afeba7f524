/**
 * `sidecar.json`: how clients find a running sidecar. Written atomically (temp file + rename) with mode 0600 inside
 * the 0700 state folder, removed on clean exit; a file left by a process that is gone is stale and ignored.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from './domain/store/atomic-file.js';
import { processStartTime } from './domain/workers/proc-stat.js';
import { StateFolderError, ensurePrivateDir } from './state-dir.js';
import { PRIVATE_FILE_MODE } from './platform.js';

const DISCOVERY_FILE = 'sidecar.json';

export const Discovery = z.object({
  port: z.number().int().min(1).max(65535),
  pid: z.number().int().positive(),
  token: z.string().min(16),
  version: z.string(),
  startedAt: z.string(),
  host: z.string().optional(),
  url: z.string().optional(),
  /** The sidecar process's start time (Linux /proc): with pid, tells it from a process that reused the pid later. */
  pidStartTime: z.string().optional(),
});
export type Discovery = z.infer<typeof Discovery>;

function discoveryPath(stateDir: string): string {
  return join(stateDir, DISCOVERY_FILE);
}

/**
 * 32 random bytes, base64url. One token in 64 would start with "-", which a command line reads as an option
 * (`blender-sidecar call --token -x...` fails with "argument is ambiguous"): such a draw is drawn again.
 */
export function newToken(): string {
  for (;;) {
    const token = randomBytes(32).toString('base64url');
    if (!token.startsWith('-')) return token;
  }
}

/** Writes the file atomically (no temp file is left behind on failure); a failure is a StateFolderError. */
export function writeDiscovery(stateDir: string, info: Discovery): string {
  const path = discoveryPath(stateDir);
  const pidStartTime = info.pid === process.pid ? processStartTime(process.pid) : undefined;
  try {
    ensurePrivateDir(stateDir);
    writeFileAtomic(path, `${JSON.stringify({ ...info, ...(pidStartTime ? { pidStartTime } : {}) }, null, 2)}\n`, {
      mode: PRIVATE_FILE_MODE,
    });
  } catch (err) {
    throw new StateFolderError(stateDir, `write ${DISCOVERY_FILE}`, err);
  }
  return path;
}

export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM: it exists but belongs to someone else, which is still "alive" for our purposes.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A zombie (dead, not yet reaped: orphans under a container's init often stay so) answers signal 0 too.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

export type DiscoveryReading =
  | { state: 'running'; info: Discovery; path: string }
  | { state: 'absent'; path: string }
  | { state: 'stale'; info: Discovery; path: string }
  | { state: 'unreadable'; path: string; problem: string };

export function readDiscovery(stateDir: string): DiscoveryReading {
  const path = discoveryPath(stateDir);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { state: 'absent', path };
    return { state: 'unreadable', path, problem: (err as Error).message };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { state: 'unreadable', path, problem: `${path} is not valid JSON` };
  }
  const info = Discovery.safeParse(parsed);
  if (!info.success) return { state: 'unreadable', path, problem: `${path} does not look like a sidecar discovery file` };
  return isSameProcess(info.data.pid, info.data.pidStartTime)
    ? { state: 'running', info: info.data, path }
    : { state: 'stale', info: info.data, path };
}

/** Alive and, where the start time was recorded and can be read, the very process that wrote it (not a reused pid). */
export function isSameProcess(pid: number, startTime: string | undefined): boolean {
  if (!isProcessAlive(pid)) return false;
  if (startTime === undefined) return true;
  const now = processStartTime(pid);
  return now === undefined || now === startTime;
}

/** Removes the file only if it is still ours: a newer sidecar may have replaced it. */
export function removeDiscovery(stateDir: string, pid = process.pid): void {
  const reading = readDiscovery(stateDir);
  if ((reading.state === 'running' || reading.state === 'stale') && reading.info.pid === pid) {
    rmSync(reading.path, { force: true });
  }
}
