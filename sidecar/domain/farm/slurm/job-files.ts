/**
 * What the nodes of a Slurm cluster need to render a job, written where they can read it: a copy of the sidecar's
 * worker scripts, the job's spec (the frames of each chunk, where each frame goes, the render settings) and the batch
 * script each array task runs. It all lives in one folder per job, next to the job's output (`.sidecar-farm/JOB/`)
 * or under serve's `--farm-dir`, so it is on the storage the nodes share, and goes away with the job's folder.
 */
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { workerDir } from '../../../paths.js';
import { partialPath } from '../../render/output-path.js';

/** The name every farm task writes under; the local pool's workers use w1, w2, ... */
const FARM_WORKER = 'farm';

export interface FrameFiles {
  final: string;
  /** Blender writes here while it renders. */
  partial: string;
  /** The task renames the partial file to this once Blender finished it; the sidecar checks it and renames it to final. */
  rendered: string;
  /** What the worker's render task returned for the frame (JSON), written before `rendered`; the sidecar reads and removes it. */
  result: string;
}

export function frameFiles(final: string): FrameFiles {
  const partial = partialPath(final, FARM_WORKER);
  const rendered = partial.replace(/\.partial$/, '.rendered');
  return { final, partial, rendered, result: `${rendered}.json` };
}

/** The worker's result for a rendered frame (renderSeconds, persistentData, ...), or undefined; removes the file. */
export function takeFrameResult(files: FrameFiles): Record<string, unknown> | undefined {
  try {
    const result = JSON.parse(readFileSync(files.result, 'utf8')) as Record<string, unknown>;
    return result && typeof result === 'object' ? result : undefined;
  } catch {
    return undefined;
  } finally {
    rmSync(files.result, { force: true });
  }
}

export interface JobSpec {
  jobId: string;
  /** The frames of each chunk; chunk N is array task N. */
  chunks: number[][];
  files: Record<string, FrameFiles>;
  /** The render task every frame runs (sidecar_worker.loop.run_task), less `frame`, `path` and `threads`. */
  task: Record<string, unknown>;
  /**
   * When the job was submitted (seconds since the epoch): a final frame older than this is from before the job (an
   * overwrite renders it again); a newer one is this job's own (a retried or requeued task skips it).
   */
  notBefore: number;
}

/** The folder for a job's node files: under `farmDir` when given, else beside the frames. */
export function jobFolder(jobId: string, outputPattern: string, farmDir: string | undefined): string {
  return farmDir ? join(farmDir, jobId) : join(dirname(outputPattern), '.sidecar-farm', jobId);
}

/** Writes the worker scripts, the spec and the batch script into `folder`; returns the batch script's path. */
export function writeJobFiles(folder: string, spec: JobSpec, blender: string): string {
  mkdirSync(join(folder, 'logs'), { recursive: true });
  cpSync(workerDir(), join(folder, 'worker'), { recursive: true, filter: (src) => !src.includes('__pycache__') });
  writeFileSync(join(folder, 'job.json'), JSON.stringify(spec, null, 1));
  const script = join(folder, 'render.sh');
  writeFileSync(
    script,
    [
      '#!/bin/sh',
      `# Written by blender-sidecar for job ${spec.jobId}: array task N renders chunk N of the job's frames (job.json)`,
      "# with the sidecar's own worker code, each frame to a partial file that the sidecar checks and renames.",
      `exec ${shellQuote(blender)} -b -noaudio --python-exit-code 1 --python ${shellQuote(join(folder, 'worker', 'farm_task.py'))} -- --spec ${shellQuote(join(folder, 'job.json'))} --chunk "$SLURM_ARRAY_TASK_ID"`,
      '',
    ].join('\n'),
    { mode: 0o755 },
  );
  return script;
}

export function logPath(folder: string, arrayJobId: string, chunk: number): string {
  return join(folder, 'logs', `task-${chunk}-${arrayJobId}.log`);
}

/** sbatch's -o pattern that gives `logPath` (%a: the array index, %A: the array's job id). */
export function logPattern(folder: string): string {
  return join(folder, 'logs', 'task-%a-%A.log');
}

/** The last lines of a task's log that say something, for a failed frame's sentence; empty when there is no log. */
export function logTail(path: string, lines = 6): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8').slice(-16_384);
  } catch {
    return '';
  }
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !/^(Blender quit|Fra:\d+ .*\| (Sample|Rendering) )/.test(l))
    .slice(-lines)
    .join(' | ');
}

/** The worker copy is only needed while tasks run; job.json, render.sh and the logs stay as the frames' record. */
export function removeWorkerCopy(folder: string): void {
  rmSync(join(folder, 'worker'), { recursive: true, force: true });
}

export function removeJobFolder(folder: string): void {
  rmSync(folder, { recursive: true, force: true });
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
