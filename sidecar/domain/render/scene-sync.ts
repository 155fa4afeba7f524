/**
 * How many workers a render job with persistent data should have, from what its first frame measured.
 *
 * With Cycles' persistent data a worker pays for the scene once per job: opening the file and syncing the scene
 * (geometry, BVH, textures) before its first frame's first sample. After that a frame costs what changed plus its
 * sampling. A second worker pays that sync again, on the same cores, and on a machine whose cores are all rendering
 * it buys little else: two workers with half the threads each sample about as fast as one with all of them (measured
 * here on the light and heavy bench scenes: within the noise). So an extra worker is worth its sync only when the
 * sync is cheap, or small beside the work left:
 *   - until the first worker's first frame shows its first sample, the job has one worker (the probe), unless an
 *     earlier job on the same file and settings left its measure (scene-sync-memory.ts): then that decides from the
 *     start, and the job's own measure replaces it once there is one;
 *   - a sync under CHEAP_SYNC_S, or at most SYNC_SHARE of the frames left, lets every worker in;
 *   - otherwise the job stays on one worker with every core, and says why.
 * While the sync holds the job back, a worker holding its synced scene keeps its thread count (stickyThreads): Cycles
 * syncs the whole scene again when the thread count changes between frames.
 */
import type { Attempt, JobRecord, WorkUnit } from '../jobs/job.js';
import { isMovieUnit } from './movie.js';

/** A sync this short costs about what a worker kept idle would: not worth holding one back for. */
const CHEAP_SYNC_S = 1;
/** Another worker may spend at most this share of the work left syncing the scene. */
const SYNC_SHARE = 0.1;

export interface SyncMeasure {
  /** Seconds a worker spends before its first frame of the job samples: opening the file, syncing the scene. */
  syncS: number;
  /** Seconds a frame takes once the scene is synced, when a frame has finished. */
  frameS?: number;
}

/** What the job's finished and running frames measured so far; undefined before any first sample. */
export function measureSync(frames: WorkUnit[]): SyncMeasure | undefined {
  // Each worker's first attempt of the job is the one that synced the scene; its later ones render on a synced scene.
  // Two passes, no sort: this runs whenever the dispatcher weighs the job. (ISO times of one clock order as strings.)
  const first = new Map<string, Attempt>();
  for (const u of frames) {
    for (const a of u.attempts) {
      const known = first.get(a.worker);
      if (!known || a.startedAt < known.startedAt) first.set(a.worker, a);
    }
  }
  const firsts = [...first.values()];
  const later: number[] = [];
  for (const u of frames) {
    for (const a of u.attempts) if (a.outcome === 'done' && a.endedAt && first.get(a.worker) !== a) later.push(seconds(a));
  }
  const measured = firsts.filter((a) => a.syncSeconds !== undefined);
  if (measured.length === 0) return undefined;
  const syncS = Math.min(...measured.map((a) => a.syncSeconds!));
  if (later.length > 0) return { syncS, frameS: median(later) };
  const done = measured.filter((a) => a.outcome === 'done' && a.endedAt);
  if (done.length === 0) return { syncS };
  return { syncS, frameS: Math.max(0.01, Math.min(...done.map((a) => seconds(a) - a.syncSeconds!))) };
}

function seconds(a: Attempt): number {
  return (Date.parse(a.endedAt!) - Date.parse(a.startedAt)) / 1000;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

export interface SyncCap {
  cap: number;
  /** Why, when the cap is below what the job wanted. */
  note?: string;
  /** Keep each worker's thread count between the job's frames (its synced scene would be dropped otherwise). */
  stickyThreads: boolean;
}

/**
 * The cap for a job whose frames keep the synced scene (`persistent`), wanting `wanted` workers; undefined when the
 * job's workers are not limited by sync at all. `recalled`: what an earlier job on the same file measured.
 */
export function syncCap(job: JobRecord, persistent: boolean, wanted: number, recalled?: SyncMeasure): SyncCap | undefined {
  if (!persistent || wanted <= 1) return undefined;
  const frames = job.units.filter((u) => !isMovieUnit(u));
  const own = measureSync(frames);
  const m = own ? { syncS: own.syncS, frameS: own.frameS ?? recalled?.frameS } : recalled;
  if (!m) {
    // Nothing measured yet. Once a frame has finished without a sample line (an engine that prints none), there is
    // nothing to wait for.
    if (frames.some((u) => u.state === 'done')) return undefined;
    return { cap: 1, note: `1 of ${wanted} workers until its first frame shows what syncing the scene costs`, stickyThreads: false };
  }
  if (m.syncS < CHEAP_SYNC_S) return undefined;
  const running = frames.filter((u) => u.state === 'running').length;
  if (m.frameS === undefined) {
    // Synced, sampling its first frame: wait for the frame to know what a frame costs.
    return {
      cap: Math.max(1, running),
      note: `1 of ${wanted} workers while its first frame measures what a frame costs after a ${secs(m.syncS)} scene sync`,
      stickyThreads: true,
    };
  }
  const left = frames.filter((u) => u.state === 'pending').length;
  const work = left * m.frameS;
  // The work left dwarfs a sync: every worker in, and threads may follow the work (one sync again costs little).
  if (m.syncS <= SYNC_SHARE * work) return { cap: wanted, stickyThreads: false };
  const cap = Math.max(1, running);
  return {
    cap,
    note: `${cap} of ${wanted} workers: syncing the scene takes ${secs(m.syncS)} a worker, more than ${Math.round(SYNC_SHARE * 100)}% of the ${left === 1 ? 'frame' : `${left} frames`} left (${secs(m.frameS)}${left === 1 ? '' : ' each'}), so its workers keep every core`,
    stickyThreads: true,
  };
}

function secs(s: number): string {
  return s >= 10 ? `${Math.round(s)} s` : `${s.toFixed(1)} s`;
}
