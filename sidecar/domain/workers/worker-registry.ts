/**
 * The pids of the Blender workers this sidecar started, kept in `<state>/workers.json` with their start times. If the
 * sidecar is killed outright its workers are orphaned; the next sidecar reads this file and ends them.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../store/atomic-file.js';
import { isProcessAlive } from '../../discovery.js';
import { processCommandLine, processStartTime } from './proc-stat.js';
import { endProcessTree } from '../../platform.js';

/**
 * How long start-up waits for killed orphans to be gone. SIGKILL is delivered at once, but a large Blender takes a
 * moment to be torn down (longer on a loaded machine); until then it still holds its memory and its output files.
 */
const REAP_WAIT_MS = 5_000;

/** Waits, blocking (this runs once at start-up, before anything is served), until none of `pids` is alive. */
function waitGone(pids: number[], timeoutMs: number): void {
  const deadline = Date.now() + timeoutMs;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  while (pids.some((pid) => isProcessAlive(pid)) && Date.now() < deadline) Atomics.wait(pause, 0, 0, 20);
}

interface Entry {
  pid: number;
  startTime?: string;
  sidecarPid: number;
}

export class WorkerRegistry {
  private readonly path: string;
  private entries = new Map<number, Entry>();

  constructor(stateDir: string) {
    this.path = join(stateDir, 'workers.json');
  }

  add(pid: number): void {
    this.entries.set(pid, { pid, startTime: processStartTime(pid), sidecarPid: process.pid });
    this.flush();
  }

  remove(pid: number): void {
    if (this.entries.delete(pid)) this.flush();
  }

  /** Ends workers left by a previous sidecar that is gone. Returns the pids ended. */
  reapOrphans(): number[] {
    let old: Entry[] = [];
    try {
      old = JSON.parse(readFileSync(this.path, 'utf8')) as Entry[];
    } catch {
      return [];
    }
    const reaped: number[] = [];
    for (const e of old) {
      if (e.sidecarPid === process.pid) continue;
      // Same pid and same start time: the very process we started, not a stranger that reused the pid.
      if (e.startTime === undefined || processStartTime(e.pid) !== e.startTime) continue;
      if (!(processCommandLine(e.pid) ?? '').includes('worker_main.py')) continue;
      if (endProcessTree(e.pid)) reaped.push(e.pid);
    }
    waitGone(reaped, REAP_WAIT_MS);
    this.flush();
    return reaped;
  }

  private flush(): void {
    try {
      writeFileAtomic(this.path, JSON.stringify([...this.entries.values()]), { fsync: false });
    } catch {
      // A full or read-only state folder: orphan reaping is best effort, and the next change writes it again.
    }
  }
}
