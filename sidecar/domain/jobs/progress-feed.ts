/**
 * The job.progress notifications of running jobs: at most one per job per turn of the event loop however many
 * units end in it, and a rendering frame's samples at most twice a second (Blender prints them many times a second).
 */
import type { FarmExecutor } from '../farm/farm-executor.js';
import { parseSamples } from '../render/render-stats.js';
import type { JobRecord } from './job.js';
import type { LiveJob, Task } from './live-job.js';
import { jobProgress, type JobProgress } from './progress.js';
import type { JobRunner } from './runner.js';

const SAMPLES_EMIT_MS = 500;

export class ProgressFeed {
  constructor(
    private readonly send: (job: JobRecord, progress: JobProgress) => void,
    private readonly runnerOf: (kind: JobRecord['kind']) => JobRunner | undefined,
    private readonly farm: FarmExecutor | undefined,
    /** A task's scene is synced (its first sample): its runner may now allow the job another worker, or fewer. */
    private readonly synced: () => void,
  ) {}

  /** Sends the job's progress once this turn of the event loop is over (many changes, one notification). */
  queue(job: LiveJob): void {
    if (job.progressQueued) return;
    job.progressQueued = true;
    setImmediate(() => {
      job.progressQueued = false;
      this.send(job.record, this.of(job.record, job));
    });
  }

  /** Sends the job's progress now (the last one, before its state changes). */
  sendNow(job: LiveJob): void {
    this.send(job.record, this.of(job.record, job));
  }

  /**
   * A long frame shows its samples moving (job.progress running[].samples), so it never looks hung; the first sample
   * also marks how long the attempt took to open the file and sync the scene (attempt.syncSeconds).
   */
  watchSamples(job: LiveJob, task: Task): void {
    const onOutput = (line: string) => {
      const samples = parseSamples(line);
      if (!samples) return;
      task.samples = samples;
      if (task.attempt && task.attempt.syncSeconds === undefined) {
        // The scene is synced: what the job's runner may size its workers by (see render/scene-sync.ts).
        task.attempt.syncSeconds = Math.round(Date.now() - Date.parse(task.attempt.startedAt)) / 1000;
        if (job.runner.workerCap) queueMicrotask(() => this.synced());
      }
      const now = Date.now();
      if (now - (job.samplesEmittedAt ?? 0) < SAMPLES_EMIT_MS) return;
      job.samplesEmittedAt = now;
      this.queue(job);
    };
    task.worker.on('output', onOutput);
    task.stopWatching = () => task.worker.off('output', onOutput);
  }

  /** Where a job stands: with what only its running tasks know while it runs (`job`), from the record alone after. */
  of(record: JobRecord, job: LiveJob | undefined): JobProgress {
    const runner = this.runnerOf(record.kind);
    // A farm job has no local workers: what it knows of its progress (rates, running tasks) comes from its farm.
    if (!job && record.plan?.farm) return jobProgress(record, runner, this.farm?.live(record));
    return jobProgress(
      record,
      runner,
      job && {
        finishTimes: job.finishTimes,
        last: job.last,
        placement: job.memoryNote,
        running: [...job.tasks.values()].map((t) => ({
          worker: t.worker.id,
          pid: t.worker.pid,
          key: t.unit?.key ?? null,
          label: t.request.label,
          startedAt: t.worker.current ? new Date(t.worker.current.startedAt).toISOString() : new Date().toISOString(),
          ...(t.samples && { samples: t.samples }),
        })),
      },
    );
  }
}
