/**
 * Render jobs: open the file once to learn its scene (the planning task), then one unit per frame. A frame is written
 * to a hidden partial file, checked to be a complete image, and only then renamed to its final name, so a crash can
 * never leave a broken frame that a resumed job would take for finished.
 */
import { readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { DomainError, InvalidInputError } from '../errors.js';
import type { JobRecord, WorkUnit } from '../jobs/job.js';
import { type JobLimits, type JobRunner, type TaskRequest, type UnitVerdict, limitsOf } from '../jobs/runner.js';
import { checkImage, imageExtension } from '../verify/image.js';
import type { TaskOutcome } from '../workers/blender-worker.js';
import { parseFrames } from './frame-range.js';
import { acceptMovie, discardMovie, isMovieUnit, MOVIE_KEY, movieTask, movieUnit, planMovie, type MoviePlan } from './movie.js';
import { framePath, partialPath, resolveOutputPattern } from './output-path.js';
import { discardPreview, partialPreviewPath, placePreview, PREVIEW_SIZE, previewPath, removePartialPreviews } from './preview.js';
import type { RenderParams } from './render-request.js';
import { measureSync, syncCap, type SyncMeasure } from './scene-sync.js';
import { SceneSyncMemory } from './scene-sync-memory.js';

interface InspectedScene {
  name: string;
  frameStart: number;
  frameEnd: number;
  frameStep: number;
  fileFormat: string;
  engine: string;
  resolution: [number, number, number];
  camera: string | null;
  fps?: number;
}

interface Inspection {
  activeScene: string;
  scenes: InspectedScene[];
  cameras: string[];
}

export interface RenderPlan {
  scene: string;
  camera: string | null;
  format: string;
  extension: string;
  outputPattern: string;
  engine: string;
  resolution: [number, number, number];
  /** The preview movie, when asked for. */
  movie?: MoviePlan;
  [key: string]: unknown;
}

const VIDEO = new Set(['FFMPEG', 'AVI_JPEG', 'AVI_RAW']);

/** The scene, camera and image format the job asks for, checked against what the planning task found in the file. */
function checkAgainstFile(p: RenderParams, info: Inspection) {
  const sceneName = p.scene ?? info.activeScene;
  const scene = info.scenes.find((s) => s.name === sceneName);
  if (!scene) {
    throw new InvalidInputError(
      'scene',
      `the file has no scene named "${sceneName}"; its scenes: ${info.scenes.map((s) => s.name).join(', ')}`,
    );
  }
  if (p.camera && !info.cameras.includes(p.camera)) {
    throw new InvalidInputError('camera', `the file has no camera named "${p.camera}"; its cameras: ${info.cameras.join(', ') || 'none'}`);
  }
  if (!p.camera && !scene.camera) {
    throw new InvalidInputError('camera', `scene "${scene.name}" has no active camera; name one with camera`);
  }
  const format = p.format ?? scene.fileFormat;
  if (VIDEO.has(format)) {
    throw new InvalidInputError(
      'format',
      `scene "${scene.name}" renders to video (${format}); frames must be images: pass format, e.g. "PNG"`,
    );
  }
  try {
    return { scene, format, extension: imageExtension(format) };
  } catch {
    throw new InvalidInputError('format', `the scene's format ${format} is not an image format the sidecar knows; pass format, e.g. "PNG"`);
  }
}

export class RenderRunner implements JobRunner {
  readonly kind = 'render' as const;
  readonly unitNoun = 'frames';

  constructor(
    private readonly poolSize: () => number,
    private readonly threads: () => number,
    /** What syncing a file's scene cost in earlier jobs (no state folder: nothing remembered). */
    private readonly syncMemory = new SceneSyncMemory(undefined),
  ) {}

  private params(job: JobRecord): RenderParams {
    return job.params as RenderParams;
  }

  limits(job: JobRecord): JobLimits {
    return limitsOf(this.params(job), this.poolSize());
  }

  fileOf(job: JobRecord) {
    return { blendFile: this.params(job).blendFile, jobKey: job.id, gn: job.params.gnValues };
  }

  planTask(): TaskRequest {
    return { payload: { kind: 'inspect' }, label: 'opening the file' };
  }

  async plan(job: JobRecord, inspection: Record<string, unknown> | undefined): Promise<WorkUnit[]> {
    const p = this.params(job);
    const { scene, format, extension } = checkAgainstFile(p, inspection as unknown as Inspection);
    const frames = p.frames ? parseFrames(p.frames) : rangeFrames(scene.frameStart, scene.frameEnd, Math.max(1, scene.frameStep));
    const outputPattern = resolveOutputPattern(p.output, p.blendFile);
    const plan: RenderPlan = {
      scene: scene.name,
      camera: p.camera ?? scene.camera,
      format,
      extension,
      outputPattern,
      engine: p.engine ?? scene.engine,
      resolution: scene.resolution,
      ...(p.movie ? { movie: planMovie(p.movie, p.blendFile, scene.resolution, p.resolutionPercent, scene.fps) } : {}),
    };
    job.plan = plan;

    const previous = new Map(job.units.map((u) => [u.key, u]));
    const resumedAfter = job.units.length > 0 && job.startedAt ? Date.parse(job.startedAt) : undefined;
    const units: WorkUnit[] = [];
    for (const frame of frames) {
      const output = framePath(outputPattern, frame, extension);
      const before = previous.get(frame);
      if (before && (before.state === 'done' || before.state === 'skipped') && before.output === output) {
        units.push(before);
        continue;
      }
      const unit: WorkUnit = before ?? { key: frame, label: `frame ${frame}`, state: 'pending', attempts: [] };
      unit.state = 'pending';
      unit.output = output;
      const onDisk = existingFrame(output);
      // Skip frames already there, unless asked to overwrite; a resumed overwrite job still keeps the frames it
      // wrote itself before the restart (newer than its start).
      if (onDisk && (!p.overwrite || (resumedAfter !== undefined && onDisk.mtimeMs >= resumedAfter))) {
        unit.state = before ? 'done' : 'skipped';
        // A frame from an earlier job keeps the preview that job made, if there is one.
        if (!before && existingFrame(previewPath(output))) unit.result = { preview: { path: previewPath(output) } };
      }
      units.push(unit);
    }
    if (plan.movie) {
      // Waits for the frames this job renders; frames already on disk are in the movie without waiting.
      const waitFor = units.filter((u) => u.state === 'pending').map((u) => u.key);
      const before = previous.get(MOVIE_KEY);
      if (before && before.state === 'done' && before.output === plan.movie.output && waitFor.length === 0) units.push(before);
      else units.push(movieUnit(waitFor, before, plan.movie.output));
    }
    removePartials(outputPattern);
    if (units[0]?.output) removePartialPreviews(units[0].output);
    return units;
  }

  task(job: JobRecord, unit: WorkUnit, workerId: string): TaskRequest {
    const p = this.params(job);
    const plan = job.plan as RenderPlan;
    if (isMovieUnit(unit)) return movieTask(job, plan.movie!, plan.scene, plan.format, workerId);
    return {
      payload: {
        kind: 'render',
        scene: plan.scene,
        camera: p.camera,
        frame: unit.key,
        path: partialPath(unit.output!, workerId),
        format: plan.format,
        engine: p.engine,
        samples: p.samples,
        resolutionPercent: p.resolutionPercent,
        threads: this.threadsFor(job, workerId),
        device: unit.forceCpu ? 'CPU' : undefined,
        preRenderScript: p.preRenderScript,
        persistentData: p.persistentData,
        ...(p.previews !== false ? { previewPath: partialPreviewPath(unit.output!, workerId), previewSize: PREVIEW_SIZE } : {}),
      },
      label: unit.label,
      frame: unit.key,
    };
  }

  /** Whether this job's frames keep Cycles' synced scene between them on a worker. */
  private persistent(job: JobRecord): boolean {
    const plan = job.plan as RenderPlan | undefined;
    return this.params(job).persistentData !== false && plan?.engine === 'CYCLES';
  }

  workerCap(job: JobRecord, wanted: number) {
    return syncCap(job, this.persistent(job), wanted, this.recalledSync(job));
  }

  /** An earlier job's measure of this file's scene sync, looked up once per job (it reads a file and stats another). */
  private recalledSync(job: JobRecord): SyncMeasure | undefined {
    if (!this.recalled.has(job.id)) this.recalled.set(job.id, this.syncMemory.recall(job));
    return this.recalled.get(job.id);
  }

  private readonly recalled = new Map<string, SyncMeasure | undefined>();

  /**
   * Threads follow the work, except on a worker that holds this job's synced scene when the sync is dear: Cycles would
   * sync the whole scene again for a new thread count.
   */
  private threadsFor(job: JobRecord, workerId: string): number {
    if (this.persistent(job) && syncCap(job, true, 2, this.recalledSync(job))?.stickyThreads) {
      const mine = job.units.filter(
        (u) => !isMovieUnit(u) && u.attempts.at(-1)?.worker === workerId && typeof u.result?.threads === 'number',
      );
      const last = mine.at(-1);
      if (last) return last.result!.threads as number;
    }
    return this.threads();
  }

  async accept(job: JobRecord, unit: WorkUnit, outcome: Extract<TaskOutcome, { ok: true }>, workerId: string): Promise<UnitVerdict> {
    if (isMovieUnit(unit))
      return acceptMovie(job.units.filter((u) => !isMovieUnit(u)).length, (job.plan as RenderPlan).movie!, outcome.result, workerId);
    const partial = partialPath(unit.output!, workerId);
    const check = await checkImage(partial);
    if (!check.ok) {
      discardPreview(unit.output!, workerId);
      return {
        ok: false,
        retryable: true,
        outcome: 'bad-output',
        reason: `${unit.label}: Blender reported success, but ${check.reason.replace(basename(partial), basename(unit.output!))}`,
      };
    }
    renameSync(partial, unit.output!);
    const persistentData = outcome.result.persistentData === true;
    const shown = this.params(job).previews !== false ? await placePreview(unit.output!, workerId, outcome.result.previewError) : {};
    const previewSeconds =
      typeof outcome.result.previewSeconds === 'number' ? Math.round(outcome.result.previewSeconds * 1000) / 1000 : undefined;
    const threads = typeof outcome.result.threads === 'number' ? outcome.result.threads : undefined;
    return {
      ok: true,
      output: unit.output!,
      preview: shown.preview?.path,
      result: {
        width: check.width,
        height: check.height,
        bytes: check.bytes,
        persistentData,
        threads,
        ...shown,
        ...(previewSeconds !== undefined ? { previewSeconds } : {}),
      },
    };
  }

  discard(job: JobRecord, unit: WorkUnit, workerId: string): void {
    if (isMovieUnit(unit)) {
      discardMovie((job.plan as RenderPlan | undefined)?.movie, workerId);
      return;
    }
    if (!unit.output) return;
    rmSync(partialPath(unit.output, workerId), { force: true });
    discardPreview(unit.output, workerId);
  }

  summarize(job: JobRecord): Record<string, unknown> {
    const plan = job.plan as RenderPlan | undefined;
    const frames = job.units.filter((u) => !isMovieUnit(u));
    const movie = job.units.find(isMovieUnit);
    const done = frames.filter((u) => u.state === 'done');
    const times = done.map((u) => u.seconds ?? 0);
    const previewTimes = done.map((u) => u.result?.previewSeconds).filter((t): t is number => typeof t === 'number');
    return {
      frames: frames.length,
      rendered: done.length,
      skipped: frames.filter((u) => u.state === 'skipped').length,
      failed: frames.filter((u) => u.state === 'failed').length,
      outputPattern: plan?.outputPattern,
      firstOutput: frames.find((u) => u.output)?.output,
      averageFrameSeconds: average(times),
      averagePreviewSeconds: average(previewTimes),
      ...(movie
        ? {
            movie:
              movie.state === 'done'
                ? { path: movie.output, seconds: movie.seconds, ...movie.result }
                : { path: movie.output, state: movie.state, error: movie.error },
          }
        : {}),
    };
  }

  finished(job: JobRecord): void {
    const p = this.params(job);
    this.recalled.delete(job.id);
    // What this job measured is the next job's first guess (a temporary copy is never rendered again).
    const measured = this.persistent(job) && !p.temporaryBlendFile ? measureSync(job.units.filter((u) => !isMovieUnit(u))) : undefined;
    if (measured?.frameS !== undefined) this.syncMemory.remember(job, measured);
    if (p.temporaryBlendFile) {
      rmSync(p.blendFile, { force: true });
      rmSync(`${p.blendFile}1`, { force: true });
    }
  }
}

function average(times: number[]): number | undefined {
  return times.length ? Math.round((times.reduce((a, b) => a + b, 0) / times.length) * 1000) / 1000 : undefined;
}

function rangeFrames(start: number, end: number, step: number): number[] {
  if (end < start) throw new DomainError('bad-input', `the scene's frame range ${start}-${end} is empty`);
  const out: number[] = [];
  for (let f = start; f <= end; f += step) out.push(f);
  return out;
}

function existingFrame(path: string) {
  try {
    const st = statSync(path);
    return st.isFile() && st.size > 0 ? st : undefined;
  } catch {
    return undefined;
  }
}

/** Partial frames left by a crash (ours only: the `.name.sidecar-wN.partial` pattern). */
function removePartials(outputPattern: string) {
  const dir = dirname(outputPattern);
  try {
    for (const name of readdirSync(dir)) {
      if (name.startsWith('.') && /\.sidecar-w\d+\.partial$/.test(name)) rmSync(join(dir, name), { force: true });
    }
  } catch {
    // The folder does not exist yet.
  }
}
