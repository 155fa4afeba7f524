/**
 * Blender's own crash report. When Blender crashes it writes `<file>.crash.txt` (or `blender.crash.txt` when no file was
 * open yet, as when loading one crashes it) into its temporary folder. Each worker gets a temporary folder of its own
 * (TMPDIR), so the report a dead worker leaves is unmistakably its own. Folders with a report are kept for the user to
 * read (the newest KEEP_REPORTS), the others are removed when their worker ends.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

export interface CrashReport {
  /** The report Blender wrote. */
  path: string;
  /** Its first non-empty lines (Blender's version, the backtrace's start). */
  firstLines: string[];
}

const KEEP_REPORTS = 20;
const FIRST_LINES = 8;

/** Where workers' temporary folders go: one root per user, shared by every sidecar of that user. */
export function workerTempRoot(): string {
  let user = 'user';
  try {
    user = String(userInfo().uid >= 0 ? userInfo().uid : userInfo().username);
  } catch {
    // No user database entry: one shared name is fine.
  }
  return join(tmpdir(), `blender-sidecar-${user}`, 'workers');
}

/** Makes the temporary folder of worker `workerId` of this sidecar. */
export function makeWorkerTempDir(root: string, workerId: string): string {
  const dir = join(root, `${process.pid}-${workerId}-${Date.now().toString(36)}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

/** The newest crash report in `dir`, if Blender left one. */
export function findCrashReport(dir: string): CrashReport | undefined {
  let newest: { path: string; mtime: number } | undefined;
  try {
    for (const name of readdirSync(dir)) {
      if (!name.endsWith('.crash.txt')) continue;
      const path = join(dir, name);
      const mtime = statSync(path).mtimeMs;
      if (!newest || mtime > newest.mtime) newest = { path, mtime };
    }
  } catch {
    return undefined;
  }
  if (!newest) return undefined;
  let text = '';
  try {
    text = readFileSync(newest.path, 'utf8').slice(0, 64 * 1024);
  } catch {
    // Listed but unreadable: the path alone still helps.
  }
  return {
    path: newest.path,
    firstLines: text
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .slice(0, FIRST_LINES),
  };
}

/** A worker ended: its folder goes, unless it holds a crash report; then only the newest reports are kept. */
export function cleanWorkerTempDir(root: string, dir: string): void {
  if (!findCrashReport(dir)) {
    rmSync(dir, { recursive: true, force: true });
    return;
  }
  try {
    const kept = readdirSync(root)
      .map((name) => join(root, name))
      .filter((d) => findCrashReport(d))
      .map((d) => ({ d, mtime: statSync(d).mtimeMs }))
      .sort((a, b) => b.mtime - a.mtime);
    for (const { d } of kept.slice(KEEP_REPORTS)) rmSync(d, { recursive: true, force: true });
  } catch {
    // Pruning is housekeeping; the next crash tries again.
  }
}
