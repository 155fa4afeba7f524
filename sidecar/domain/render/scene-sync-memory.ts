/**
 * What syncing a file's scene cost the last time, remembered across jobs and sidecars (`scene-sync.json` in the state
 * folder), so the next job on the same file starts right away on as many workers as that cost allows.
 *
 * Without it every job learns the cost anew: one worker renders the first frame while the others wait
 * (scene-sync.ts). On a light scene that wait is most of what a `blender-sidecar render`, which starts a sidecar of its
 * own every time, loses against plain `blender -a`. A remembered cost is only a first guess: the job's own measure
 * replaces it as soon as its first frame has one.
 *
 * The key is everything that changes what a worker syncs: the file (path, size, modification time), the Blender, and
 * the job's scene, camera, engine, samples, resolution, Geometry Nodes values and pre-render script. Another file, or
 * the same file saved again, starts without a guess.
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { JobRecord } from '../jobs/job.js';
import { writeFileAtomic } from '../store/atomic-file.js';
import type { SyncMeasure } from './scene-sync.js';

/** Files a workstation renders again are few; older entries go first. */
const MAX_REMEMBERED = 200;

const Entry = z.object({ syncS: z.number().nonnegative(), frameS: z.number().positive(), at: z.string() });
const MemoryFile = z.object({ scenes: z.record(z.string(), Entry) });

export class SceneSyncMemory {
  private readonly file: string | undefined;
  /** Read once, then kept in step with what this sidecar writes (another sidecar's later entries are read next start). */
  private entries: Record<string, z.infer<typeof Entry>> | undefined;

  constructor(stateDir: string | undefined) {
    this.file = stateDir ? join(stateDir, 'scene-sync.json') : undefined;
  }

  /** The cost a finished job on the same file and settings measured, if any. */
  recall(job: JobRecord): SyncMeasure | undefined {
    const key = keyOf(job);
    const entry = key ? this.read()[key] : undefined;
    return entry ? { syncS: entry.syncS, frameS: entry.frameS } : undefined;
  }

  /** Keeps what `job` measured for the next job on its file; a full or read-only disk only costs the guess. */
  remember(job: JobRecord, measure: SyncMeasure): void {
    const key = keyOf(job);
    if (!key || !this.file || measure.frameS === undefined) return;
    const entries = { ...this.read() };
    delete entries[key];
    entries[key] = { syncS: round(measure.syncS), frameS: round(Math.max(0.001, measure.frameS)), at: new Date().toISOString() };
    const kept = Object.entries(entries).slice(-MAX_REMEMBERED);
    this.entries = Object.fromEntries(kept);
    try {
      writeFileAtomic(this.file, JSON.stringify({ scenes: this.entries }), { fsync: false });
    } catch {
      // Only a guess is lost: the next job measures again.
    }
  }

  private read(): Record<string, z.infer<typeof Entry>> {
    if (this.entries) return this.entries;
    this.entries = {};
    if (!this.file) return this.entries;
    try {
      this.entries = MemoryFile.parse(JSON.parse(readFileSync(this.file, 'utf8'))).scenes;
    } catch {
      // None yet, cut short, or written by another release: start without guesses (it is rewritten on the next job).
    }
    return this.entries;
  }
}

function keyOf(job: JobRecord): string | undefined {
  const p = job.params as Record<string, unknown>;
  const blendFile = p.blendFile;
  if (typeof blendFile !== 'string') return undefined;
  let stat: { size: number; mtimeMs: number };
  try {
    stat = statSync(blendFile);
  } catch {
    return undefined;
  }
  const what = [
    blendFile,
    stat.size,
    stat.mtimeMs,
    job.blender?.path,
    job.blender?.version,
    p.scene,
    p.camera,
    p.engine,
    p.samples,
    p.resolutionPercent,
    p.gnValues,
    p.preRenderScript,
  ];
  return createHash('sha1').update(JSON.stringify(what)).digest('hex');
}

function round(s: number): number {
  return Math.round(s * 1000) / 1000;
}
