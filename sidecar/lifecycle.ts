/**
 * When the sidecar stops by itself, and what it tells people about jobs nobody watched end.
 *
 * Started for a Blender (`serve --parent-pid`), the sidecar outlives it: when that Blender exits, queued and running
 * jobs go on, and the sidecar stops once it has had no unfinished job and no client for a grace period. With
 * `stopWithParent` it stops at once instead, as it used to (jobs then resume at the next start).
 *
 * A job that ends while no client is connected raises a desktop notification and is written to
 * `<state>/unwatched-jobs.json`; the next sidecar on that folder turns those into alerts, which the add-on's panel
 * shows on its next connect.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { AlertCenter } from './domain/alerts/alerts.js';
import { notifyDesktop } from './domain/alerts/desktop-notify.js';
import type { JobRecord } from './domain/jobs/job.js';
import { writeFileAtomic } from './domain/store/atomic-file.js';
import { isProcessAlive } from './discovery.js';
import type { Logger } from './log.js';

export interface ParentWatch {
  parentPid: number;
  /** Stop as soon as the parent exits, interrupting jobs (the old behaviour). */
  stopWithParent?: boolean;
  /** After the parent exited: stop once there have been no unfinished jobs and no clients this long (default 60 s). */
  graceMs?: number;
}

export interface Activity {
  clients(): number;
  unfinishedJobs(): number;
  stop(reason: string): void;
  log: Logger;
}

/** Follows the parent process; returns the function that stops following it. */
export function followParent(watch: ParentWatch, activity: Activity): () => void {
  const grace = watch.graceMs ?? 60_000;
  let orphanedAt: number | undefined;
  let idleSince: number | undefined;
  const timer = setInterval(() => {
    if (orphanedAt === undefined) {
      if (isProcessAlive(watch.parentPid)) return;
      orphanedAt = Date.now();
      if (watch.stopWithParent) {
        clearInterval(timer);
        activity.stop(`parent process ${watch.parentPid} exited`);
        return;
      }
      activity.log.info(
        `parent process ${watch.parentPid} exited; finishing ${activity.unfinishedJobs()} job(s), then stopping after ` +
          `${Math.round(grace / 1000)} s with no jobs and no clients`,
      );
    }
    if (activity.clients() > 0 || activity.unfinishedJobs() > 0) {
      idleSince = undefined;
      return;
    }
    idleSince ??= Date.now();
    if (Date.now() - idleSince >= grace) {
      clearInterval(timer);
      activity.stop(`parent process ${watch.parentPid} exited and no jobs or clients were left for ${Math.round(grace / 1000)} s`);
    }
  }, 500);
  timer.unref();
  return () => clearInterval(timer);
}

const UNWATCHED_FILE = 'unwatched-jobs.json';
/** The most notices kept for the next Blender: older ones are dropped. */
const KEEP = 50;

interface Notice {
  jobId: string;
  kind: string;
  state: string;
  what: string;
  where: string;
  at: string;
}

/** Tells the desktop, and the next Blender, that a job ended with nobody watching. */
export function jobEndedUnwatched(stateDir: string, job: JobRecord, log: Logger): void {
  const notice = describeEnd(job);
  notifyDesktop(`Blender Sidecar: ${job.kind} ${job.state}`, `${notice.what} (${notice.where})`, (m) => log.info(m));
  const notices = [...readNotices(stateDir), notice].slice(-KEEP);
  try {
    writeFileAtomic(join(stateDir, UNWATCHED_FILE), JSON.stringify(notices), { fsync: false });
  } catch (err) {
    log.warn(`could not keep the notice of job ${job.id} for the next Blender: ${(err as Error).message}`);
  }
}

/** Turns the notices a previous sidecar left into alerts (shown by the add-on on connect), and clears them. */
export function raiseUnwatchedNotices(stateDir: string, alerts: AlertCenter): number {
  const notices = readNotices(stateDir);
  for (const n of notices) {
    alerts.raise({
      key: `job-ended-unwatched:${n.jobId}`,
      level: n.state === 'completed' ? 'INFO' : 'WARN',
      what: `${n.what}, at ${n.at}, while Blender was closed`,
      where: n.where,
      action:
        n.state === 'completed' ? 'nothing to do: the outputs are in place' : 'job.get shows what went wrong; fix it and submit again',
    });
  }
  rmSync(join(stateDir, UNWATCHED_FILE), { force: true });
  return notices.length;
}

function describeEnd(job: JobRecord): Notice {
  const done = job.units.filter((u) => u.state === 'done').length;
  const count = job.units.length > 0 ? `: ${done} of ${job.units.length} ${job.kind === 'render' ? 'frames' : 'items'} done` : '';
  const error = job.error ? ` (${job.error.split('\n')[0]})` : '';
  const where =
    typeof job.params.output === 'string' ? job.params.output : typeof job.params.blendFile === 'string' ? job.params.blendFile : job.id;
  return {
    jobId: job.id,
    kind: job.kind,
    state: job.state,
    what: `${job.kind} job ${job.id} ${job.state}${count}${error}`,
    where,
    at: job.finishedAt ?? new Date().toISOString(),
  };
}

function readNotices(stateDir: string): Notice[] {
  try {
    const parsed = JSON.parse(readFileSync(join(stateDir, UNWATCHED_FILE), 'utf8')) as unknown;
    return Array.isArray(parsed) ? (parsed as Notice[]).filter((n) => n && typeof n.jobId === 'string') : [];
  } catch {
    return [];
  }
}
