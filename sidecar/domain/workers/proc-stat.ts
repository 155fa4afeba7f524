/**
 * A process's start time from /proc (Linux): with the pid it names one process for good, so a recycled pid is never
 * mistaken for an old worker when orphans are reaped. Elsewhere it is undefined and only the pid is used.
 */
import { readFileSync } from 'node:fs';

export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 2 (comm) may hold spaces and parentheses: count fields after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return rest[19]; // field 22, starttime, in clock ticks since boot
  } catch {
    return undefined;
  }
}

export function processCommandLine(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return undefined;
  }
}
