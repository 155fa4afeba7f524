// The render policy that sizes a persistent-data job by what its first frame measured (render/scene-sync.ts), on
// job records as the scheduler keeps them. The same decisions on real Blender: test/blender/placement.test.ts.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Attempt, JobRecord, WorkUnit } from '../../sidecar/domain/jobs/job.js';
import { measureSync, syncCap } from '../../sidecar/domain/render/scene-sync.js';
import { SceneSyncMemory } from '../../sidecar/domain/render/scene-sync-memory.js';
import { tempDir } from '../helpers/sidecar.js';

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

  it('starts from what an earlier job on the file measured, until its own first frame says otherwise', () => {
    // A light scene remembered: every worker from the start, no first-frame probe.
    assert.equal(syncCap(job(frames(12)), true, 4, { syncS: 0.2, frameS: 0.1 }), undefined);
    // A sync-bound scene remembered: one worker with every core from the start, and the note says why in numbers.
    const dear = syncCap(job(frames(12)), true, 2, { syncS: 3, frameS: 0.25 });
    assert.equal(dear?.cap, 1);
    assert.equal(dear?.stickyThreads, true);
    assert.match(dear!.note!, /syncing the scene takes 3\.0 s a worker, more than 10% of the 12 frames left/);
    // The job's own first sample wins over the memory: the file's scene got cheap to sync.
    assert.equal(syncCap(job(frames(12, [[1, attempt('w1', 0, undefined, 0.3)]])), true, 2, { syncS: 3, frameS: 0.25 }), undefined);
  });
});

describe('the remembered scene sync (scene-sync.json)', () => {
  const blend = (dir: string, name = 'shot.blend', bytes = 'BLENDER-v304') => {
    const path = join(dir, name);
    writeFileSync(path, bytes);
    return path;
  };
  const renderJob = (blendFile: string, params: Record<string, unknown> = {}) =>
    ({
      id: 'j-1',
      params: { blendFile, ...params },
      units: [],
      blender: { path: '/usr/bin/blender', version: '3.4.1' },
    }) as unknown as JobRecord;

  it('recalls a measure in a new sidecar on the same state folder, for the same file and settings only', () => {
    const dir = tempDir();
    const file = blend(dir);
    new SceneSyncMemory(dir).remember(renderJob(file), { syncS: 2.5, frameS: 0.4 });
    const next = new SceneSyncMemory(dir);
    assert.deepEqual(next.recall(renderJob(file)), { syncS: 2.5, frameS: 0.4 });
    assert.equal(next.recall(renderJob(file, { samples: 64 })), undefined, 'other samples sync another scene');
    assert.equal(next.recall(renderJob(blend(dir, 'other.blend'))), undefined);
    // The file saved again (another size here) is another scene.
    writeFileSync(file, 'BLENDER-v304 and more');
    assert.equal(new SceneSyncMemory(dir).recall(renderJob(file)), undefined);
  });

  it('starts without guesses from a cut or foreign file, and writes it anew', () => {
    const dir = tempDir();
    const file = blend(dir);
    new SceneSyncMemory(dir).remember(renderJob(file), { syncS: 1, frameS: 0.5 });
    const path = join(dir, 'scene-sync.json');
    writeFileSync(path, readFileSync(path, 'utf8').slice(0, 20));
    const memory = new SceneSyncMemory(dir);
    assert.equal(memory.recall(renderJob(file)), undefined);
    memory.remember(renderJob(file), { syncS: 1, frameS: 0.5 });
    assert.deepEqual(new SceneSyncMemory(dir).recall(renderJob(file)), { syncS: 1, frameS: 0.5 });
  });

  it('keeps at most 200 files, dropping the oldest', () => {
    const dir = tempDir();
    const memory = new SceneSyncMemory(dir);
    const files = Array.from({ length: 205 }, (_, i) => blend(dir, `f${i}.blend`));
    for (const f of files) memory.remember(renderJob(f), { syncS: 1, frameS: 1 });
    const kept = Object.keys(JSON.parse(readFileSync(join(dir, 'scene-sync.json'), 'utf8')).scenes);
    assert.equal(kept.length, 200);
    const fresh = new SceneSyncMemory(dir);
    assert.equal(fresh.recall(renderJob(files[0]!)), undefined, 'the oldest went first');
    assert.deepEqual(fresh.recall(renderJob(files[204]!)), { syncS: 1, frameS: 1 });
  });

  it('loses only the guess where the state folder cannot be written', () => {
    const memory = new SceneSyncMemory(join(tempDir(), 'missing', 'folder'));
    const file = blend(tempDir());
    assert.doesNotThrow(() => memory.remember(renderJob(file), { syncS: 1, frameS: 1 }));
  });
});
