// The render policy that sizes a persistent-data job by what its first frame measured (render/scene-sync.ts), on
// job records as the scheduler keeps them. The same decisions on real Blender: test/blender/placement.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Attempt, JobRecord, WorkUnit } from '../../sidecar/domain/jobs/job.js';
import { measureSync, syncCap } from '../../sidecar/domain/render/scene-sync.js';

const T0 = Date.parse('2026-11-29T10:00:00Z');
const at = (s: number) => new Date(T0 + s * 1000).toISOString();

function attempt(worker: string, start: number, end?: number, syncSeconds?: number): Attempt {
  return {
    worker,
    pid: 1,
    startedAt: at(start),
    ...(end !== undefined ? { endedAt: at(end), outcome: 'done' } : {}),
    ...(syncSeconds !== undefined ? { syncSeconds } : {}),
  };
}

function frames(n: number, ran: Array<[number, Attempt]> = []): WorkUnit[] {
  return Array.from({ length: n }, (_, i) => {
    const key = i + 1;
    const attempts = ran.filter(([k]) => k === key).map(([, a]) => a);
    const last = attempts.at(-1);
    const state = !last ? 'pending' : last.outcome === 'done' ? 'done' : 'running';
    return { key, label: `frame ${key}`, state, attempts } as WorkUnit;
  });
}

const job = (units: WorkUnit[]) => ({ units }) as unknown as JobRecord;

describe('scene sync and workers (persistent data)', () => {
  it('gives a job one worker until its first frame has sampled, and says so', () => {
    assert.deepEqual(syncCap(job(frames(12)), true, 4), {
      cap: 1,
      note: '1 of 4 workers until its first frame shows what syncing the scene costs',
      stickyThreads: false,
    });
    assert.equal(syncCap(job(frames(12, [[1, attempt('w1', 0)]])), true, 4)?.cap, 1);
  });

  it('lets every worker in when the sync is cheap', () => {
    assert.equal(syncCap(job(frames(12, [[1, attempt('w1', 0, undefined, 0.3)]])), true, 4), undefined);
  });

  it('holds a dear sync on one worker until a frame shows what a frame costs', () => {
    const cap = syncCap(job(frames(12, [[1, attempt('w1', 0, undefined, 3)]])), true, 4);
    assert.equal(cap?.cap, 1);
    assert.equal(cap?.stickyThreads, true);
    assert.match(cap!.note!, /first frame measures what a frame costs after a 3\.0 s scene sync/);
  });

  it('keeps a sync-bound job on its worker, and says why in numbers', () => {
    // Synced in 3 s, the frame took 3.25 s in all: 0.25 s a frame; 11 frames left are 2.75 s of work.
    const cap = syncCap(job(frames(12, [[1, attempt('w1', 0, 3.25, 3)]])), true, 2);
    assert.deepEqual(cap, {
      cap: 1,
      note: '1 of 2 workers: syncing the scene takes 3.0 s a worker, more than 10% of the 11 frames left (0.3 s each), so its workers keep every core',
      stickyThreads: true,
    });
  });

  it('lets more workers in when the frames left dwarf the sync, their threads following the work', () => {
    // Synced in 40 s, then 5 minutes a frame: 99 frames left.
    assert.deepEqual(syncCap(job(frames(100, [[1, attempt('w1', 0, 340, 40)]])), true, 4), { cap: 4, stickyThreads: false });
    // At the last frame the same job keeps its worker and its threads: 5 minutes of work left, a sync of 40 s.
    const later = Array.from({ length: 98 }, (_, i) => [i + 2, attempt('w1', 340 + i * 300, 640 + i * 300, 0.2)] as [number, Attempt]);
    const last = syncCap(job(frames(100, [[1, attempt('w1', 0, 340, 40)], ...later])), true, 4);
    assert.equal(last?.stickyThreads, true);
    assert.match(last!.note!, /of the frame left \(300 s\)/);
  });

  it("measures a frame on a synced scene from a worker's later frames, not its first", () => {
    const units = frames(6, [
      [1, attempt('w1', 0, 4, 3)],
      [2, attempt('w1', 4, 4.5, 0.1)],
      [3, attempt('w1', 4.5, 5.1, 0.1)],
    ]);
    assert.deepEqual(measureSync(units), { syncS: 3, frameS: 0.6 });
    // A worker's first attempt is its sync, whichever frame it was.
    assert.deepEqual(
      measureSync(
        frames(6, [
          [4, attempt('w2', 1, 5, 3.5)],
          [1, attempt('w1', 0, 4, 3)],
        ]),
      ),
      { syncS: 3, frameS: 0.5 },
    );
  });

  it('leaves a job alone without persistent data, with one worker wanted, or when no frame ever printed a sample', () => {
    assert.equal(syncCap(job(frames(12)), false, 4), undefined);
    assert.equal(syncCap(job(frames(12)), true, 1), undefined);
    assert.equal(syncCap(job(frames(12, [[1, attempt('w1', 0, 2)]])), true, 4), undefined);
  });
});
