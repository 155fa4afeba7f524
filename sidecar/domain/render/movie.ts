/**
 * The preview movie of a render job (`render.submit`'s `movie`): one more unit after the frames, which waits for every
 * frame the job renders (frames already on disk are in it without waiting; a failed frame skips it, saying which), and
 * counts in the job's progress like a frame. A worker encodes the frames with Blender's own FFmpeg into a hidden
 * partial file and reads the movie back; the sidecar checks that it holds every frame at the frames' size, and only
 * then puts it in place, before the job completes.
 */
import { renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { z } from 'zod';
import { InvalidInputError } from '../errors.js';
import type { JobRecord, WorkUnit } from '../jobs/job.js';
import type { TaskRequest, UnitVerdict } from '../jobs/runner.js';
import { resolveOutputPattern } from './output-path.js';

/** The movie unit's key: outside Blender's frame range (±1048574), so it never meets a frame's. */
export const MOVIE_KEY = 2_000_000;
/** The codecs a preview movie may use: the one table of them (the worker sets `ffmpeg` as Blender's ffmpeg.codec; the
 * pipeline editor shows `label`), written for the Python side by `npm run tables`. */
export const MOVIE_CODEC_TABLE = [
  { codec: 'h264', label: 'H.264', description: 'Small files, plays everywhere', ffmpeg: 'H264' },
  { codec: 'mpeg4', label: 'MPEG-4', description: 'MPEG-4 Part 2', ffmpeg: 'MPEG4' },
] as const;
export const MOVIE_CODECS = MOVIE_CODEC_TABLE.map((c) => c.codec) as [MovieCodec, ...MovieCodec[]];
type MovieCodec = (typeof MOVIE_CODEC_TABLE)[number]['codec'];
/** The containers, by the output's extension, and Blender's ffmpeg.format for each. */
export const MOVIE_CONTAINER_TABLE = [
  { extension: '.mp4', ffmpeg: 'MPEG4' },
  { extension: '.mov', ffmpeg: 'QUICKTIME' },
  { extension: '.mkv', ffmpeg: 'MKV' },
] as const;
const MOVIE_CONTAINERS = MOVIE_CONTAINER_TABLE.map((c) => c.extension);

export const movieParam = z
  .strictObject({
    output: z.string().min(1).describe("The movie file: .mp4, .mov or .mkv (absolute, or // for the blend file's folder)."),
    fps: z.number().positive().max(240).optional().describe("Frames per second (default: the scene's frame rate)."),
    codec: z.enum(MOVIE_CODECS).default('h264').describe("h264 (default) or mpeg4, encoded by Blender's own FFmpeg."),
  })
  .describe('When the frames are done, encode them into a preview movie, checked (frame count and size) before the job completes.');
export type MovieParam = z.output<typeof movieParam>;

export interface MoviePlan {
  output: string;
  fps: number;
  codec: (typeof MOVIE_CODECS)[number];
  width: number;
  height: number;
}

/** The movie's absolute path, or why `movie.output` cannot be used. */
export function resolveMovieOutput(output: string, blendFile: string): string {
  const ext = extname(output).toLowerCase();
  if (!(MOVIE_CONTAINERS as readonly string[]).includes(ext)) {
    throw new InvalidInputError(
      'movie.output',
      `"${output}" must end in ${MOVIE_CONTAINERS.join(', ')} (the container follows the extension)`,
    );
  }
  if (output.includes('#')) throw new InvalidInputError('movie.output', `"${output}" is one movie file: leave out the # frame marks`);
  const path = resolveOutputPattern(output, blendFile, 'movie.output');
  try {
    if (statSync(path).isDirectory())
      throw new InvalidInputError('movie.output', `${path} is a folder; name the movie file, e.g. ${join(path, 'preview.mp4')}`);
  } catch (err) {
    if (err instanceof InvalidInputError) throw err;
  }
  return path;
}

/**
 * The movie's plan, once the scene is known. The frame size is Blender's (resolution × percentage / 100, rounded
 * down); H.264 and MPEG-4 encode 4:2:0 pictures, which need an even width and height.
 */
export function planMovie(
  movie: MovieParam,
  blendFile: string,
  resolution: [number, number, number],
  percent: number | undefined,
  sceneFps: number | undefined,
): MoviePlan {
  const pct = percent ?? resolution[2];
  const width = Math.floor((resolution[0] * pct) / 100);
  const height = Math.floor((resolution[1] * pct) / 100);
  if (width % 2 || height % 2) {
    throw new InvalidInputError(
      'movie',
      `the frames are ${width}x${height}; ${movie.codec} needs an even width and height: change the resolution (or resolutionPercent)`,
    );
  }
  return { output: resolveMovieOutput(movie.output, blendFile), fps: movie.fps ?? sceneFps ?? 24, codec: movie.codec, width, height };
}

export function movieUnit(frames: number[], before: WorkUnit | undefined, output: string): WorkUnit {
  const unit: WorkUnit = before ?? { key: MOVIE_KEY, label: 'preview movie', state: 'pending', attempts: [] };
  unit.state = 'pending';
  unit.output = output;
  unit.dependsOn = frames;
  return unit;
}

export function isMovieUnit(unit: WorkUnit): boolean {
  return unit.key === MOVIE_KEY;
}

export function partialMoviePath(output: string, workerId: string): string {
  return join(dirname(output), `.${basename(output)}.sidecar-${workerId}.partial`);
}

export function movieTask(job: JobRecord, movie: MoviePlan, scene: string, fileFormat: string, workerId: string): TaskRequest {
  const frames = job.units.filter((u) => !isMovieUnit(u) && u.output).map((u) => u.output!);
  return {
    payload: {
      kind: 'movie',
      scene,
      frames,
      fileFormat,
      output: movie.output,
      path: partialMoviePath(movie.output, workerId),
      fps: movie.fps,
      codec: movie.codec,
    },
    label: 'preview movie',
  };
}

/** The movie must hold `expected` frames at the frames' size; then it is renamed into place. */
export function acceptMovie(
  expected: number,
  movie: Omit<MoviePlan, 'fps' | 'codec'> & Partial<MoviePlan>,
  result: Record<string, unknown>,
  workerId: string,
): UnitVerdict {
  const partial = partialMoviePath(movie.output, workerId);
  const frames = Number(result.frames);
  const width = Number(result.width);
  const height = Number(result.height);
  const wrong =
    frames !== expected
      ? `it holds ${frames} frames, not ${expected}`
      : width !== movie.width || height !== movie.height
        ? `it is ${width}x${height}, not the frames' ${movie.width}x${movie.height}`
        : undefined;
  if (wrong) {
    rmSync(partial, { force: true });
    return {
      ok: false,
      retryable: true,
      outcome: 'bad-output',
      reason: `preview movie: Blender wrote ${basename(movie.output)}, but read back ${wrong}`,
    };
  }
  renameSync(partial, movie.output);
  return {
    ok: true,
    output: movie.output,
    result: { frames, width, height, fps: movie.fps, codec: movie.codec, bytes: statSync(movie.output).size },
  };
}

export function discardMovie(movie: MoviePlan | undefined, workerId: string): void {
  if (movie) rmSync(partialMoviePath(movie.output, workerId), { force: true });
}
