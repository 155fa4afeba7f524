/**
 * Follows one Slurm job array until every chunk has ended: asks squeue where each task stands, takes the frames the
 * tasks finished from disk (checked as the local pool checks a frame, then renamed to their final names), resubmits
 * the missing frames of failed tasks up to `maxRetries`, and reports it all to the job's host. Everything it needs is
 * in the job's plan and on disk, so a restarted sidecar picks the job up where it was.
 *
 * squeue is asked first, the disk second: a task that squeue says ended has written all it will write.
 */
import { existsSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { describeError } from '../../errors.js';
import type { Attempt, AttemptOutcome, JobRecord, WorkUnit } from '../../jobs/job.js';
import type { LiveProgress, RunningUnit } from '../../jobs/progress.js';
import { checkImage } from '../../verify/image.js';
import type { ExternalJobHost } from '../farm.js';
import { frameFiles, logPath, logTail, takeFrameResult } from './job-files.js';
import type { SlurmCommands, TaskState } from './slurm-commands.js';
import { arraySpec, taskName, type SlurmChunk, type SlurmPlan } from './slurm-plan.js';
import { endOf, phaseOf, waitingWords } from './slurm-states.js';

export interface FollowerOptions {
  pollMs: number;
  log: (level: 'info' | 'warn', message: string) => void;
}

/** Polls in a row that may fail (slurmctld restarting, say) before the job fails with the reason. */
const MAX_MISSED_POLLS = 10;
/**
 * How long frames of a task that Slurm says completed may take to show up here. On NFS, a file renamed on a node can
 * stay invisible to another client for its attribute cache time (acregmin, 3 s by default), and a retry for nothing
 * would spend one of the frame's tries.
 */
const SHARED_STORAGE_GRACE_MS = 10_000;

export class SlurmFollower {
  private stopped = false;
  private wake: (() => void) | undefined;
  private readonly plan: SlurmPlan;
  private readonly units: Map<number, WorkUnit>;

  constructor(
    private readonly record: JobRecord,
    private readonly host: ExternalJobHost,
    private readonly commands: SlurmCommands,
    private readonly options: FollowerOptions,
  ) {
    this.plan = record.plan as SlurmPlan;
    this.units = new Map(record.units.map((u) => [u.key, u]));
  }

  /** Polls until the job ends (and reports how) or `stop()` is called. Never rejects. */
  async run(): Promise<void> {
    let missed = 0;
    while (!this.stopped) {
      try {
        const ended = await this.poll();
        missed = 0;
        if (ended) return;
      } catch (err) {
        if (this.stopped) return;
        if (++missed > MAX_MISSED_POLLS) {
          this.host.finish(
            'failed',
            `the sidecar lost track of Slurm job ${this.plan.farmJobId}: ${describeError(err)}; the job may still run on the cluster`,
          );
          return;
        }
        this.options.log('warn', `job ${this.record.id}: ${describeError(err)}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.options.pollMs);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  stop(): void {
    this.stopped = true;
    this.wake?.();
  }

  live(): LiveProgress {
    const finishTimes = this.record.units.flatMap((u) =>
      u.attempts.filter((a) => a.outcome === 'done' && a.endedAt).map((a) => Date.parse(a.endedAt!)),
    );
    const running: RunningUnit[] = this.plan.chunks
      .filter((c) => c.state === 'running')
      .map((c) => {
        const unit = c.frames.map((f) => this.units.get(f)!).find((u) => u.state === 'running' || u.state === 'pending');
        const open = unit?.attempts.at(-1);
        return {
          worker: `slurm ${taskName(c.jobIds.at(-1)!, c.index)}`,
          pid: 0,
          key: unit?.key ?? null,
          label: unit?.label ?? `chunk ${c.index}`,
          startedAt: open?.startedAt ?? new Date().toISOString(),
        };
      });
    return { finishTimes: finishTimes.sort((a, b) => a - b), running };
  }

  /** One round; true when the job has ended (and was reported). */
  private async poll(): Promise<boolean> {
    const active = this.plan.chunks.filter((c) => c.state !== 'ended');
    const states = new Map<string, TaskState[] | undefined>();
    for (const id of new Set(active.map((c) => c.jobIds.at(-1)!))) states.set(id, await this.commands.tasks(id));
    if (this.stopped) return true;
    let changed = await this.collectFrames();
    const retry: SlurmChunk[] = [];
    for (const chunk of active) {
      const jobId = chunk.jobIds.at(-1)!;
      const tasks = states.get(jobId);
      const task = tasks?.find((t) => t.taskId === chunk.index);
      changed = this.advance(chunk, jobId, tasks === undefined ? undefined : task, retry) || changed;
      if (this.plan.canceled) return true;
    }
    if (this.stopped) return true; // canceled meanwhile: submit nothing more
    if (retry.length > 0) {
      await this.resubmit(retry);
      changed = true;
    }
    if (this.record.units.some((u) => u.state === 'running')) this.host.started();
    if (changed) this.host.progress(undefined, this.activity());
    if (this.plan.chunks.every((c) => c.state === 'ended')) {
      const failed = this.record.units.find((u) => u.state === 'failed');
      this.host.finish(failed ? 'failed' : 'completed', failed ? failed.error : undefined);
      return true;
    }
    return false;
  }

  /**
   * Moves one chunk on from what squeue says of its task (undefined task: Slurm does not know the job any more, or
   * lists no such task). Returns whether anything changed.
   */
  private advance(chunk: SlurmChunk, jobId: string, task: TaskState | undefined, retry: SlurmChunk[]): boolean {
    const name = taskName(jobId, chunk.index);
    const open = chunk.frames.map((f) => this.units.get(f)!).filter((u) => u.state === 'pending' || u.state === 'running');
    const phase = task ? phaseOf(task.state) : 'ended';
    if (phase === 'waiting') {
      const words = waitingWords(task!.state, task!.reason);
      const was = chunk.waiting;
      chunk.state = 'waiting';
      chunk.waiting = words;
      return was !== words;
    }
    if (phase === 'running') {
      // A task renders its chunk in order: the first frame not yet done is the one on the node now.
      const current = open[0];
      const changed = chunk.state !== 'running' || (current !== undefined && current.state !== 'running');
      chunk.state = 'running';
      chunk.waiting = undefined;
      if (current) {
        attemptOf(current, name, this.frameStart(chunk, current));
        current.state = 'running';
      }
      return changed;
    }
    // Ended (or gone): its frames are on disk by now, or they never will be from this task.
    const end = task
      ? endOf(task.state)
      : {
          kind: 'failed' as const,
          outcome: 'lost' as AttemptOutcome,
          words: 'is no longer known to Slurm (it ended while nobody watched, or the cluster was restarted)',
        };
    if (open.length > 0 && end.kind === 'completed') {
      chunk.missingSince ??= new Date().toISOString();
      if (Date.now() - Date.parse(chunk.missingSince) < SHARED_STORAGE_GRACE_MS) return false;
    }
    chunk.state = 'ended';
    chunk.waiting = undefined;
    chunk.missingSince = undefined;
    if (open.length === 0) return true;
    if (end.kind === 'canceled' && !this.plan.canceled) {
      this.plan.canceled = true;
      for (const u of open)
        if (u.state === 'running') closeAttempt(u, name, 'canceled', `the Slurm task ${name} ${end.words}`, this.frameStart(chunk, u));
      this.host.finish('canceled', `the Slurm job ${jobId} ${end.words}`);
      return true;
    }
    const log = logPath(this.plan.farmDir, jobId, chunk.index);
    const tail = logTail(log);
    const why =
      end.kind === 'completed'
        ? `the Slurm task ${name} ended without writing it`
        : `the Slurm task ${name} ${end.words}${tail ? `; its log (${log}) ends: ${tail}` : ''}`;
    const outcome: AttemptOutcome = end.kind === 'completed' ? 'bad-output' : /Traceback|Error:/.test(tail) ? 'python-error' : end.outcome;
    const retriesLeft = chunk.jobIds.length - 1 < this.plan.maxRetries;
    const tries = chunk.jobIds.length;
    for (const [i, u] of open.entries()) {
      // The frame the task was on (the first not done) failed; the ones after it were never started.
      if (i === 0) closeAttempt(u, name, outcome, `${u.label}: ${why}`, this.frameStart(chunk, u));
      if (retriesLeft) u.state = 'pending';
      else {
        u.state = 'failed';
        u.error = `${u.label} failed after ${tries} ${tries === 1 ? 'try' : 'tries'}: ${why}`;
      }
    }
    if (retriesLeft) retry.push(chunk);
    return true;
  }

  /** Takes the frames the tasks have finished: checked like a local frame, then renamed into place. */
  private async collectFrames(): Promise<boolean> {
    let changed = false;
    for (const chunk of this.plan.chunks) {
      for (const frame of chunk.frames) {
        const unit = this.units.get(frame)!;
        if (unit.state === 'done' || unit.state === 'failed' || unit.state === 'skipped') continue;
        const files = frameFiles(unit.output!);
        const name = taskName(chunk.jobIds.at(-1) ?? '?', chunk.index);
        const inPlace = !existsSync(files.rendered);
        // Renamed before a restart, but not yet saved as done (a frame from before the job does not count).
        if (inPlace && !this.writtenByJob(files.final)) continue;
        const check = await checkImage(inPlace ? files.final : files.rendered);
        if (check.ok) {
          if (!inPlace) renameSync(files.rendered, files.final);
          const rendered = takeFrameResult(files); // after the rename: a restart in between still finds it
          // The same result as a frame of the local pool (render-runner.ts accept()).
          unit.result = { width: check.width, height: check.height, bytes: check.bytes, persistentData: rendered?.persistentData === true };
          this.frameDone(chunk, unit, name, files.final, rendered);
        } else if (inPlace) {
          continue; // not this job's frame after all; the task renders it
        } else {
          takeFrameResult(files);
          rmSync(files.rendered, { force: true });
          closeAttempt(
            unit,
            name,
            'bad-output',
            `${unit.label}: Blender reported success, but ${check.reason.replace(basename(files.rendered), basename(files.final))}`,
            this.frameStart(chunk, unit),
          );
          unit.state = 'pending';
        }
        changed = true;
      }
    }
    return changed;
  }

  private writtenByJob(path: string): boolean {
    try {
      return statSync(path).mtimeMs >= Date.parse(this.record.createdAt);
    } catch {
      return false;
    }
  }

  /**
   * When the task began this frame, as near as the disk tells: when it wrote the chunk's frame before (the file's
   * time), else now (the first frame of a task, seen running at this poll).
   */
  private frameStart(chunk: SlurmChunk, unit: WorkUnit): string {
    const before = chunk.frames.indexOf(unit.key) - 1;
    const previous = before >= 0 ? this.units.get(chunk.frames[before]!)!.attempts.at(-1) : undefined;
    return previous?.outcome === 'done' && previous.endedAt ? previous.endedAt : new Date().toISOString();
  }

  /** The frame is checked and in place; its attempt ends when the node wrote it (the file keeps that time through the rename). */
  private frameDone(chunk: SlurmChunk, unit: WorkUnit, name: string, final: string, rendered?: Record<string, unknown>): boolean {
    const attempt = closeAttempt(unit, name, 'done', undefined, this.frameStart(chunk, unit), writtenAt(final));
    unit.state = 'done';
    unit.error = undefined;
    // The node's own render time when it sent one; else the time between this frame and the chunk's previous one.
    const measured = typeof rendered?.renderSeconds === 'number' ? rendered.renderSeconds : undefined;
    unit.seconds = measured ?? Math.max(0, (Date.parse(attempt.endedAt!) - Date.parse(attempt.startedAt)) / 1000);
    return true;
  }

  /** One new array for every chunk that needs another try; its tasks skip the frames already on disk. */
  private async resubmit(chunks: SlurmChunk[]): Promise<void> {
    const indices = chunks.map((c) => c.index);
    const args = [...this.plan.sbatchArgs, `--array=${arraySpec(indices, this.plan.maxParallel)}`, this.plan.script];
    const jobId = await this.commands.sbatch(args);
    for (const c of chunks) {
      c.jobIds.push(jobId);
      c.state = 'waiting';
      c.missingSince = undefined;
    }
    this.options.log('info', `job ${this.record.id}: chunks ${indices.join(', ')} resubmitted as Slurm job ${jobId}`);
  }

  private activity(): string {
    const waiting = this.plan.chunks.filter((c) => c.state === 'waiting' && c.waiting).map((c) => c.waiting!);
    const running = this.plan.chunks.filter((c) => c.state === 'running').length;
    return running > 0 ? `${running} Slurm tasks running` : waiting[0] ? `Slurm tasks ${waiting[0]}` : '';
  }
}

/** The unit's attempt on this task, opened now if the sidecar had not seen it run (it ran while nobody watched). */
function attemptOf(unit: WorkUnit, worker: string, startedAt: string): Attempt {
  const last = unit.attempts.at(-1);
  if (last && !last.outcome && last.worker === `slurm ${worker}`) return last;
  const attempt: Attempt = { worker: `slurm ${worker}`, pid: 0, startedAt };
  unit.attempts.push(attempt);
  return attempt;
}

function closeAttempt(
  unit: WorkUnit,
  worker: string,
  outcome: AttemptOutcome,
  reason: string | undefined,
  startedAt: string,
  endedAt = new Date().toISOString(),
): Attempt {
  const attempt = attemptOf(unit, worker, startedAt);
  // Never before it started: a frame seen done at the poll that first saw its task run.
  // biome-ignore lint/complexity/useMathMinMax: ISO timestamps are strings; Math.max would turn them into NaN.
  Object.assign(attempt, { outcome, endedAt: endedAt < attempt.startedAt ? attempt.startedAt : endedAt, ...(reason ? { reason } : {}) });
  return attempt;
}

function writtenAt(path: string): string {
  try {
    return statSync(path).mtime.toISOString();
  } catch {
    return new Date().toISOString();
  }
}
