// Placement on real Blender: a job whose workers need more memory than the budget leaves gets fewer workers and says
// why; a frame rendering alone takes every core. The scene's memory is controlled by a generated float texture.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { NotificationParams } from '../../sidecar/api/spec/index.js';
import { spawnSync } from 'node:child_process';
import { blenderPath, makeScene } from '../helpers/blender.js';
import { tempDir, testSidecar, type TestSidecar } from '../helpers/sidecar.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

describe('placement: memory and threads on real Blender', () => {
  let dir: string;
  let heavy: string;
  before(() => {
    dir = tempDir('placement-');
    // About 200 MB of float texture: a worker rendering it holds several hundred MB (the image, and Cycles' copy).
    heavy = makeScene(dir, 'heavy.blend', { frames: 4, textureMB: 200, size: '64x48', samples: 1 });
  });

  describe('with a memory budget that fits one such worker', () => {
    let sidecar: TestSidecar;
    before(async () => {
      sidecar = await testSidecar({ instances: 2, memoryBudgetMB: 1200 });
    });
    after(() => sidecar.stop());

    it('renders every frame on one worker at a time, and says why it got no more', async () => {
      const client = await sidecar.client();
      const progress: Array<NotificationParams<'job.progress'>> = [];
      await client.subscribe(['job.progress']);
      client.on('job.progress', (p) => progress.push(p));
      const { jobId } = await client.call('render.submit', { blendFile: heavy, frames: '1-4', output: `${join(dir, 'budget')}/` });
      const job = await client.call('job.wait', { jobId, timeoutMs: 240_000 }, { timeoutMs: 250_000 });
      assert.equal(job.state, 'completed', job.error);
      assert.equal(job.result?.rendered, 4);
      const mine = progress.filter((p) => p.jobId === jobId);
      assert.ok(
        mine.every((p) => p.running.length <= 1),
        'never two of its frames at once',
      );
      assert.ok(
        mine.some((p) => /^1 of 2 workers: /.test(p.placement ?? '')),
        'the progress said why while it ran',
      );
      // Kept on the job, from a measured frame: "1 of 2 workers: 612 MB each, 20.1 GB free, a budget of 1.2 GB ..."
      assert.match(job.placement ?? '', /^1 of 2 workers: (\d+) MB each, .* free, a budget of 1\.2 GB/);
      const each = Number(/(\d+) MB each/.exec(job.placement!)![1]);
      assert.ok(each > 300 && each < 1200, `a worker measured at ${each} MB`);
      assert.doesNotMatch(job.placement!, /assumed/, 'measured on a finished frame, not assumed');
    });
  });

  describe('on a cold start', () => {
    let sidecar: TestSidecar;
    before(async () => {
      sidecar = await testSidecar({ instances: 2 });
    });
    after(() => sidecar.stop());

    it('boots every worker the job can use at once, not one after another', async () => {
      const client = await sidecar.client();
      const light = makeScene(dir, 'cold.blend', { frames: 4 });
      const { jobId } = await client.call('render.submit', { blendFile: light, output: `${join(dir, 'cold')}/` });
      // The job is admitted, and its workers spawned, before render.submit answers.
      const { workers } = await client.call('worker.list', {});
      assert.equal(workers.length, 2, `workers right after submit: ${workers.map((w) => `${w.id} ${w.state}`).join(', ')}`);
      const job = await client.call('job.wait', { jobId, timeoutMs: 120_000 }, { timeoutMs: 130_000 });
      assert.equal(job.state, 'completed', job.error);
    });

    it('starts the next job on the same file on every worker at once: the first one left what its scene sync costs', async () => {
      const client = await sidecar.client();
      const light = makeScene(dir, 'remembered.blend', { frames: 4 });
      const progress: Array<NotificationParams<'job.progress'>> = [];
      await client.subscribe(['job.progress']);
      client.on('job.progress', (p) => progress.push(p));
      const render = async (out: string) => {
        const { jobId } = await client.call('render.submit', { blendFile: light, output: `${join(dir, out)}/` });
        const job = await client.call('job.wait', { jobId, timeoutMs: 120_000 }, { timeoutMs: 130_000 });
        assert.equal(job.state, 'completed', job.error);
        return progress.filter((p) => p.jobId === jobId).map((p) => p.placement ?? '');
      };
      const remembered = () => {
        try {
          return Object.keys(JSON.parse(readFileSync(join(sidecar.stateDir, 'scene-sync.json'), 'utf8')).scenes).length;
        } catch {
          return 0;
        }
      };
      const before = remembered();
      const first = await render('learn');
      assert.ok(
        first.some((p) => /until its first frame shows what syncing the scene costs/.test(p)),
        `the first job probed with one worker: ${[...new Set(first)].join(' | ')}`,
      );
      assert.equal(remembered(), before + 1, 'what it measured is in the state folder');
      const next = await render('again');
      assert.deepEqual(
        next.filter((p) => p !== ''),
        [],
        'the second job never held a worker back',
      );
    });
  });

  describe('without a budget', () => {
    let sidecar: TestSidecar;
    before(async () => {
      sidecar = await testSidecar({ instances: 2, warm: true });
    });
    after(() => sidecar.stop());

    it('gives a frame rendering alone every core, and frames rendering side by side their share', async () => {
      const client = await sidecar.client();
      const light = makeScene(dir, 'light.blend', { frames: 6 });
      const alone = await client.call('render.submit', { blendFile: light, frames: '1', output: `${join(dir, 'alone')}/` });
      const a = await client.call('job.wait', { jobId: alone.jobId, timeoutMs: 120_000 }, { timeoutMs: 130_000 });
      assert.equal(a.state, 'completed', a.error);
      assert.equal((a.units[0]!.result as { threads?: number }).threads, availableParallelism());
      const both = await client.call('render.submit', { blendFile: light, frames: '1-6', output: `${join(dir, 'both')}/` });
      const b = await client.call('job.wait', { jobId: both.jobId, timeoutMs: 120_000 }, { timeoutMs: 130_000 });
      assert.equal(b.state, 'completed', b.error);
      const threads = b.units.map((u) => (u.result as { threads?: number }).threads!);
      assert.ok(
        threads.every((t) => t >= 1 && t <= availableParallelism()),
        JSON.stringify(threads),
      );
      const workers = new Set(b.units.map((u) => u.attempts.at(-1)!.worker));
      assert.equal(workers.size, 2, 'both warm workers rendered');
      // Two workers rendering at once share the cores (on one core each gets the one).
      assert.ok(
        threads.some((t) => t === Math.max(1, Math.floor(availableParallelism() / 2))),
        `side by side, a frame got its share: ${threads}`,
      );
      assert.equal(b.placement, undefined, 'memory held nothing back');
    });

    it('keeps a job whose scene sync dwarfs its frames on one worker with every core, and says why', async () => {
      const client = await sidecar.client();
      // 1.5M displaced faces and 3,000 instanced rocks at 64x36, one sample: seconds of sync (Blender 5.2 syncs 500k
      // in 0.85 s, under the 1 s that counts as cheap), a frame in a blink.
      const heavy = join(dir, 'sync-bound.blend');
      const made = spawnSync(
        blenderPath(),
        [
          '-b',
          '--factory-startup',
          '--python',
          join(root, 'bench', 'fixtures', 'heavy_scene.py'),
          '--',
          heavy,
          '--frames',
          '4',
          '--faces',
          '1500000',
          '--size',
          '64x36',
          '--samples',
          '1',
        ],
        { encoding: 'utf8' },
      );
      assert.equal(made.status, 0, made.stderr);
      const { jobId } = await client.call('render.submit', { blendFile: heavy, output: `${join(dir, 'sync-bound')}/` });
      const job = await client.call('job.wait', { jobId, timeoutMs: 240_000 }, { timeoutMs: 250_000 });
      assert.equal(job.state, 'completed', job.error);
      assert.equal(job.result?.rendered, 4);
      const first = job.units.map((u) => u.attempts[0]!).sort((a, b) => a.startedAt.localeCompare(b.startedAt))[0]!;
      assert.ok((first.syncSeconds ?? 0) >= 1, `the first frame synced the scene for ${first.syncSeconds} s before sampling`);
      const ran = job.units.map((u) =>
        u.attempts.map((a) => `${u.label} on ${a.worker} ${a.startedAt.slice(17, 23)}-${a.endedAt?.slice(17, 23)} sync ${a.syncSeconds}`),
      );
      assert.equal(
        new Set(job.units.map((u) => u.attempts.at(-1)!.worker)).size,
        1,
        `one worker rendered every frame: ${ran.join('; ')} (${job.placement})`,
      );
      assert.deepEqual(
        job.units.map((u) => (u.result as { threads?: number }).threads),
        job.units.map(() => availableParallelism()),
        'with every core, frame after frame',
      );
      assert.match(
        job.placement ?? '',
        /^1 of 2 workers: syncing the scene takes [\d.]+ s a worker, more than 10% of the (\d frames|frame) left/,
      );
    });
  });
});
