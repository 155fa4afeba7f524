/**
 * The sentences a failed attempt leaves on its unit and job: what happened, on which worker and Blender, and what to
 * do. The worker's id comes from the worker itself, never read back out of a message.
 */
import { describeError } from '../errors.js';
import { blendVersionNumber } from '../blender/blend-header.js';
import { WorkerDiedError, type BlenderWorker, type TaskOutcome } from '../workers/blender-worker.js';
import type { Classification } from './classify.js';
import type { WorkUnit } from './job.js';
import type { LiveJob } from './live-job.js';

export type FailedOutcome = Extract<TaskOutcome, { ok: false }>;

/** Why a unit's worker died under it: hung, over its memory, canceled, or crashed with its last lines of output. */
export function deathSentence(
  job: LiveJob,
  unit: WorkUnit,
  worker: BlenderWorker,
  err: WorkerDiedError,
  seconds: number,
  cls: Classification,
): string {
  switch (err.reason) {
    case 'hung':
      return `${unit.label} hung: Blender printed nothing for ${job.limits.timeoutS} s, so worker ${worker.id} was killed`;
    case 'memory':
      // The supervisor wrote the measured memory into the worker's output as it killed it: that line says it best.
      return (
        err.outputTail.findLast((l) => l.startsWith('[sidecar] '))?.slice(10) ??
        `${unit.label} exceeded memoryLimitMB ${job.limits.memoryLimitMB}`
      );
    case 'canceled':
      return `${unit.label} was canceled`;
    default: {
      const tail = err.outputTail
        .filter((l) => !/^(render \| )?Fra:/.test(l) && !/^\s*$/.test(l))
        .slice(-3)
        .join(' | ');
      return `${unit.label}: ${cls.label}: ${err.message} after ${seconds.toFixed(1)} s${tail ? `; last output: ${tail}` : ''}`;
    }
  }
}

/**
 * A file that killed Blender on several workers: names the file, the Blender, how it died, and Blender's own crash
 * report (its path and first lines), plus the newer-file hint when the header explains the crash.
 */
export function fileKillsBlenderSentence(
  job: LiveJob,
  worker: BlenderWorker,
  err: WorkerDiedError,
  workers: string[],
  doing: string,
  hint: string,
): string {
  const file = job.runner.fileOf(job.record).blendFile;
  const how = err.exit.signal ? `killed by ${err.exit.signal}` : `exit status ${err.exit.code}`;
  const report = err.crashReport
    ? `Blender's crash report: ${err.crashReport.path}${err.crashReport.firstLines.length ? ` (${err.crashReport.firstLines.join(' | ')})` : ''}`
    : 'Blender wrote no crash report';
  return (
    `${file} kills Blender ${versionOf(job, worker)} (${worker.blender}): it crashed on ${workers.length} workers (${workers.join(', ')}) while ${doing}, ${how}; ` +
    `not retried. ${report}.${hint}`
  );
}

/** The Blender version a worker runs, as best known. */
export function versionOf(job: LiveJob, worker: BlenderWorker): string {
  return worker.blenderVersion ?? job.record.blender?.version ?? 'unknown version';
}

/** "cannot open" with Blender's reason, and what the header says when the file is newer than the Blender that tried. */
export function cannotOpenSentence(job: LiveJob, worker: BlenderWorker, o: FailedOutcome): string {
  const file = job.runner.fileOf(job.record).blendFile;
  const why = o.message.replace(/^Blender could not open [^:]*: /, '');
  return `cannot open ${file} with Blender ${worker.blenderVersion ?? ''} (${worker.blender}): ${why}.${newerFileHint(job, worker.blenderVersion)}`;
}

/** A sentence when the file was saved by a newer Blender than `blenderVersion` (which explains a crash by itself), else ''. */
export function newerFileHint(job: LiveJob, blenderVersion: string | undefined): string {
  const saved = job.record.blend?.version;
  const a = saved ? blendVersionNumber(saved) : undefined;
  const b = blenderVersion ? blendVersionNumber(blenderVersion) : undefined;
  if (a === undefined || b === undefined || a <= b) return '';
  return ` The file was saved by Blender ${saved}, newer than this Blender: run it on Blender ${saved} or newer.`;
}

/** A task Blender answered with an error: the message, and the end of the traceback for a Python error. */
export function taskErrorSentence(o: FailedOutcome): string {
  if (o.errorKind === 'input' || !o.traceback) return o.message;
  const lines = o.traceback.trim().split('\n');
  return `Python error in Blender: ${o.message}\n${lines.slice(-6).join('\n')}`;
}

/** A worker that died (or a task that failed unexpectedly) while `doing` something, with its last lines of output. */
export function diedSentence(result: unknown, doing: string): string {
  if (result instanceof WorkerDiedError) {
    const tail = result.outputTail.slice(-3).join(' | ');
    return `${result.message} while ${doing}${tail ? `; last output: ${tail}` : ''}`;
  }
  return describeError(result);
}
