/**
 * What the sidecar does about its own state folder while it runs: a save that fails (a full disk, a folder made
 * read-only) becomes one alert naming the folder and what to do, resolved by itself once saving works again; and
 * finished jobs are pruned by the retention policy, at start and every hour.
 */
import type { AlertCenter } from './domain/alerts/alerts.js';
import { JobStore, type JobStoreOptions, type RetentionPolicy } from './domain/jobs/job-store.js';
import type { Scheduler } from './domain/jobs/scheduler.js';
import type { SyncJournalOptions } from './domain/sync/journal-persistence.js';
import { describeError } from './domain/errors.js';
import type { Logger } from './log.js';
import { describeStateFault } from './state-dir.js';
import { JOURNAL_FILE } from './domain/sync/journal-persistence.js';
import { join } from 'node:path';

const KEY = 'state-folder-unwritable';

export interface StateFaults {
  jobs: JobStoreOptions;
  sync: SyncJournalOptions;
  /** A warning from reading the journal: logged; damage (not a torn tail, which a crash leaves) is an alert too. */
  journalWarning(message: string): void;
  /** A job file that could not be read at start. */
  damagedJob(file: string, problem: string): void;
}

export function stateFaults(alerts: AlertCenter, stateDir: string, log: Logger): StateFaults {
  const failing = new Set<'jobs' | 'sync'>();
  const fault = (who: 'jobs' | 'sync', err: unknown, what: string) => {
    failing.add(who);
    log.error(what);
    alerts.raise({
      key: KEY,
      level: 'ERROR',
      what: `the state folder cannot be written: ${what}`,
      where: stateDir,
      action:
        `${describeStateFault(stateDir, 'save', err).replace(/^.*?: /, '')}. Running jobs go on; new jobs and ` +
        'Geometry Nodes writes are refused (-32005) until saving works again',
    });
  };
  const recovered = (who: 'jobs' | 'sync') => {
    failing.delete(who);
    if (failing.size > 0) return;
    log.info(`the state folder ${stateDir} can be written again; everything kept in memory is saved`);
    alerts.resolve(KEY);
  };
  return {
    journalWarning: (message) => {
      log.warn(message);
      if (!/is damaged|was skipped|records were skipped/.test(message)) return;
      alerts.raise({
        key: 'gn-journal-damaged',
        level: 'WARN',
        what: `the Geometry Nodes journal was damaged: ${message}`,
        where: join(stateDir, JOURNAL_FILE),
        action: 'the channels hold what could be read; check them (gn.get) and write again what is missing',
      });
    },
    damagedJob: (file, problem) => {
      log.warn(`ignoring damaged job file ${file}: ${problem}`);
      alerts.raise({
        key: `job-file-damaged:${file}`,
        level: 'WARN',
        what: `a job file could not be read and was ignored (${problem})`,
        where: join(stateDir, 'jobs', file),
        action: 'that job is not listed; delete the file once you no longer need what it held',
      });
    },
    jobs: {
      onFault: (problem, err) => fault('jobs', err, problem),
      onRecovered: () => recovered('jobs'),
    },
    sync: {
      onFault: (err) => fault('sync', err, `a Geometry Nodes write could not be saved (${describeError(err)})`),
      onRecovered: () => recovered('sync'),
    },
  };
}

/** Prunes finished jobs past the retention policy now and every hour; returns the function that stops it. */
export function pruneFinishedJobs(scheduler: Scheduler, policy: RetentionPolicy, log: Logger): () => void {
  const prune = () => {
    const expired = JobStore.expired(scheduler.list(), policy);
    if (expired.length === 0) return;
    scheduler.forget(expired.map((j) => j.id));
    log.info(`pruned ${expired.length} finished job(s) past the retention (${policy.keepDays} days, at most ${policy.keepFinished} kept)`);
  };
  prune();
  const timer = setInterval(prune, 3_600_000);
  timer.unref();
  return () => clearInterval(timer);
}
