/**
 * Jobs on disk, under `<state>/jobs/`: `<id>.json`, the whole job, replaced atomically and fsync'd when the job is
 * created and when its state changes; and `<id>.progress.jsonl`, the units that changed since, appended one line per
 * change. A rendered frame so costs one short line, not a rewrite of the whole job file (which grows with its
 * frames); the log is folded back into the job file at the next state change, or once it outgrows the file.
 * After a crash, the files say which jobs were unfinished; frames are checked against the disk anyway, so a progress
 * line that was lost costs nothing but a look at the output folder.
 *
 * A failing disk (full, read-only) never ends the process: a new job that cannot be saved is refused as unavailable (and
 * is not listed), and a save of a known job that fails is kept in memory, reported through `onFault`, and retried
 * until it succeeds (`onRecovered`). Finished jobs are kept for a retention period and then pruned. A sidecar started
 * for one CLI command leaves them unread (`skipFinished`): its start then costs the unfinished jobs, not the history.
 */
import { appendFileSync, closeSync, fstatSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describeError } from '../errors.js';
import { StateFolderError } from '../../state-dir.js';
import { removeQuietly, writeFileAtomic } from '../store/atomic-file.js';
import { TERMINAL, type JobRecord } from './job.js';
import { PRIVATE_FILE_MODE } from '../../platform.js';

export interface JobStoreOptions {
  /** A save failed; the job stays in memory and is saved again later. */
  onFault?: (problem: string, err: unknown) => void;
  /** Every job that could not be saved has been saved since. */
  onRecovered?: () => void;
}

export interface RetentionPolicy {
  /** Finished jobs older than this are pruned (default 30 days). */
  keepDays: number;
  /** At most this many finished jobs are kept, newest first (default 1,000). */
  keepFinished: number;
}

export const DEFAULT_RETENTION: RetentionPolicy = { keepDays: 30, keepFinished: 1000 };

export interface LoadOptions {
  /**
   * Leave finished jobs on disk unread, applying this retention to them by their files' times: what a sidecar started
   * for one CLI command does. Reading a thousand finished jobs of a few hundred frames each is over 100 MB of JSON
   * (0.7 s here) before the command's own job could start, for jobs the command never looks at.
   */
  skipFinished?: RetentionPolicy;
}

/** How a job file starts: JSON.stringify of a record made by newJob() puts id, kind and state first. */
const HEAD = /^\{"id":"([^"]*)","kind":"[^"]*","state":"([a-z]+)"/;

/**
 * The file's modification time when its first bytes say the job with this id has finished; undefined when it has not,
 * or when the start is not the usual one (then the whole file is read, as before).
 */
function finishedOnDisk(path: string, id: string): { mtimeMs: number } | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const buf = Buffer.alloc(256);
    const head = HEAD.exec(buf.toString('utf8', 0, readSync(fd, buf, 0, buf.length, 0)));
    if (!head || head[1] !== id || !TERMINAL.has(head[2] as JobRecord['state'])) return undefined;
    return { mtimeMs: fstatSync(fd).mtimeMs };
  } catch {
    return undefined; // Read it whole, and let that say what is wrong.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

interface Saved {
  /** Per unit, the JSON last written for it (in the job file or the progress log). */
  units: string[];
  /** The job without its units, as last written. */
  head: string;
  fileBytes: number;
  logBytes: number;
}

export class JobStore {
  private readonly dir: string;
  private readonly saved = new Map<string, Saved>();
  /** Jobs whose last save failed: saved again on the next chance. */
  private readonly unsaved = new Map<string, JobRecord>();
  private retry: NodeJS.Timeout | undefined;

  constructor(
    private readonly stateDir: string,
    private readonly options: JobStoreOptions = {},
  ) {
    this.dir = join(stateDir, 'jobs');
    try {
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    } catch (err) {
      throw new StateFolderError(stateDir, 'create the jobs folder', err);
    }
  }

  /** Saves a new job durably, or throws a StateFolderError (unavailable) saying why (nothing is left on disk then). */
  create(job: JobRecord): void {
    try {
      this.writeWhole(job, true);
    } catch (err) {
      this.forget(job.id);
      throw new StateFolderError(this.stateDir, `save the new job ${job.id} (it was not started)`, err);
    }
  }

  /**
   * Saves a job's changes: the whole file when `durable` (a state change), else only the units that changed, as a
   * line of the progress log. Never throws: a failure is reported and retried.
   */
  save(job: JobRecord, options: { durable?: boolean } = {}): void {
    try {
      const saved = this.saved.get(job.id);
      if (options.durable || !saved || this.unsaved.has(job.id)) this.writeWhole(job, options.durable ?? false);
      else this.appendProgress(job, saved);
      if (this.unsaved.delete(job.id) && this.unsaved.size === 0) this.recovered();
    } catch (err) {
      this.failed(job, err);
    }
  }

  loadAll(onDamaged: (file: string, problem: string) => void, options: LoadOptions = {}): JobRecord[] {
    const jobs: JobRecord[] = [];
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch (err) {
      throw new StateFolderError(this.stateDir, 'list the jobs folder', err);
    }
    const finished: Array<{ id: string; mtimeMs: number }> = [];
    for (const name of names) {
      if (!name.endsWith('.json')) {
        if (name.endsWith('.tmp')) removeQuietly(join(this.dir, name));
        continue;
      }
      if (options.skipFinished) {
        const id = name.slice(0, -'.json'.length);
        const ended = finishedOnDisk(join(this.dir, name), id);
        if (ended) {
          finished.push({ id, mtimeMs: ended.mtimeMs });
          continue;
        }
      }
      try {
        const job = JSON.parse(readFileSync(join(this.dir, name), 'utf8')) as JobRecord;
        this.applyProgress(job);
        jobs.push(job);
        this.remember(job, statSync(join(this.dir, name)).size);
      } catch (err) {
        onDamaged(name, (err as Error).message);
      }
    }
    if (options.skipFinished) this.pruneUnread(finished, options.skipFinished);
    return jobs.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  /**
   * Retention for finished jobs that were not read (skipFinished): by their files' modification time, which is when
   * they finished (a finished job's file is not written again). Same rule as `expired`.
   */
  private pruneUnread(finished: Array<{ id: string; mtimeMs: number }>, policy: RetentionPolicy, now = Date.now()): void {
    const cutoff = now - policy.keepDays * 86_400_000;
    const newestFirst = finished.sort((a, b) => b.mtimeMs - a.mtimeMs);
    for (const [i, f] of newestFirst.entries()) if (i >= policy.keepFinished || f.mtimeMs < cutoff) this.remove(f.id);
  }

  /** The finished jobs `policy` says to prune from `jobs`: older than keepDays, or past the newest keepFinished. */
  static expired(jobs: readonly JobRecord[], policy: RetentionPolicy, now = Date.now()): JobRecord[] {
    const finished = jobs
      .filter((j) => TERMINAL.has(j.state))
      .sort((a, b) => (b.finishedAt ?? b.createdAt).localeCompare(a.finishedAt ?? a.createdAt));
    const cutoff = now - policy.keepDays * 86_400_000;
    return finished.filter((j, i) => i >= policy.keepFinished || Date.parse(j.finishedAt ?? j.createdAt) < cutoff);
  }

  remove(id: string): void {
    this.forget(id);
    rmSync(join(this.dir, `${id}.json`), { force: true });
    rmSync(join(this.dir, `${id}.progress.jsonl`), { force: true });
  }

  close(): void {
    if (this.retry) clearInterval(this.retry);
    this.retry = undefined;
  }

  private writeWhole(job: JobRecord, durable: boolean) {
    const text = JSON.stringify(job);
    writeFileAtomic(join(this.dir, `${job.id}.json`), text, { fsync: durable });
    // The whole file now holds every unit: a log left from before (this run's or a previous one's) is folded in.
    rmSync(join(this.dir, `${job.id}.progress.jsonl`), { force: true });
    this.remember(job, text.length);
  }

  /** Appends the units that changed; folds the log into the job file once it outgrows it. */
  private appendProgress(job: JobRecord, saved: Saved) {
    const { units, ...rest } = job;
    const head = JSON.stringify(rest);
    const lines: string[] = [];
    const now = units.map((u) => JSON.stringify(u));
    if (head !== saved.head || now.length !== saved.units.length) {
      this.writeWhole(job, false);
      return;
    }
    now.forEach((u, i) => {
      if (u !== saved.units[i]) lines.push(`{"unit":${i},"value":${u}}\n`);
    });
    if (lines.length === 0) return;
    const text = lines.join('');
    if (saved.logBytes + text.length > Math.max(64 * 1024, saved.fileBytes)) {
      this.writeWhole(job, false);
      return;
    }
    appendFileSync(join(this.dir, `${job.id}.progress.jsonl`), text, { mode: PRIVATE_FILE_MODE });
    for (const [i, u] of now.entries()) saved.units[i] = u;
    saved.logBytes += text.length;
  }

  /** Applies a job's progress log (a torn last line, from a crash mid-append, is ignored). */
  private applyProgress(job: JobRecord) {
    let text: string;
    try {
      text = readFileSync(join(this.dir, `${job.id}.progress.jsonl`), 'utf8');
    } catch {
      return;
    }
    for (const line of text.split('\n')) {
      if (!line) continue;
      try {
        const { unit, value } = JSON.parse(line) as { unit: number; value: JobRecord['units'][number] };
        if (Number.isInteger(unit) && unit >= 0 && unit < job.units.length) job.units[unit] = value;
      } catch {
        break;
      }
    }
  }

  private remember(job: JobRecord, fileBytes: number) {
    const { units, ...rest } = job;
    this.saved.set(job.id, { units: units.map((u) => JSON.stringify(u)), head: JSON.stringify(rest), fileBytes, logBytes: 0 });
  }

  private forget(id: string) {
    this.saved.delete(id);
    this.unsaved.delete(id);
  }

  private failed(job: JobRecord, err: unknown) {
    const first = this.unsaved.size === 0;
    this.unsaved.set(job.id, job);
    this.saved.delete(job.id);
    if (first) {
      this.options.onFault?.(
        `job ${job.id} could not be saved (${describeError(err)}); it goes on in memory and is saved once there is room`,
        err,
      );
    }
    this.retry ??= setInterval(() => this.retryUnsaved(), 2000);
    this.retry.unref();
  }

  private retryUnsaved() {
    for (const job of [...this.unsaved.values()]) this.save(job, { durable: true });
  }

  private recovered() {
    if (this.retry) clearInterval(this.retry);
    this.retry = undefined;
    this.options.onRecovered?.();
  }
}
