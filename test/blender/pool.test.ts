import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { blenderPath, makeScene, renderPlain } from '../helpers/blender.js';
import { samePixels } from '../helpers/images.js';
import { type TestSidecar, tempDir, testSidecar } from '../helpers/sidecar.js';
import { until } from '../helpers/until.js';

describe('the worker pool', () => {
  it('runs Blender through a wrapper script named by --blender, recycles a worker after N tasks, and retires idle ones', async () => {
    const dir = tempDir('pool-');
    const scene = makeScene(dir, 'scene.blend', { frames: 4 });
    const calls = join(dir, 'wrapper-calls.txt');
    const wrapper = join(dir, 'my blender.sh');
    writeFileSync(wrapper, `#!/bin/sh\necho "$$" >> '${calls}'\nexec '${blenderPath()}' "$@"\n`);
    chmodSync(wrapper, 0o755);
    const s = await testSidecar({ instances: 1, blender: wrapper, recycleAfterTasks: 2, idleRetireMs: 1500, factorySettings: true });
    try {
      const c = await s.client();
      const info = await c.call('sidecar.info', {});
      assert.equal(info.blender.path, wrapper);
      assert.match(info.blender.version ?? '', /^\d+\.\d+\.\d+$/);
      const { jobId } = await c.call('render.submit', { blendFile: scene, frames: '1-4', output: `${join(dir, 'out')}/` });
      const job = await c.call('job.wait', { jobId, timeoutMs: 120_000 }, { timeoutMs: 130_000 });
      assert.equal(job.state, 'completed', job.error);
      // 1 planning task + 4 frames on a one-worker pool recycled every 2 tasks: 3 workers in turn.
      const workers = new Set(job.units.map((u) => u.attempts[0]!.worker));
      assert.ok(workers.size >= 2, `frames ran on ${[...workers].join(', ')}: the worker was recycled`);
      const started = readFileSync(calls, 'utf8').trim().split('\n').length;
      assert.ok(started >= 3, `the wrapper started ${started} Blender processes (probe + recycled workers)`);
      const live = (await c.call('worker.list', {})).workers;
      assert.ok(live.length <= 1);
      for (const w of live) {
        const cmdline = readFileSync(`/proc/${w.pid}/cmdline`, 'utf8').split('\0');
        assert.ok(cmdline.includes('--factory-startup'), 'factorySettings starts workers with --factory-startup');
      }
      await until(async () => (await c.call('worker.list', {})).workers.length === 0, {
        timeoutMs: 10_000,
        what: 'the idle worker retired after idleRetireMs',
      });
      const metrics = await (await fetch(`http://127.0.0.1:${s.port}/metrics`)).text();
      assert.match(metrics, /sidecar_worker_restarts_total\{reason="recycled"\} [1-9]/);
      assert.match(metrics, /sidecar_worker_restarts_total\{reason="retired"\} 1/);
    } finally {
      await s.stop();
    }
  });

  it('starts every worker before any job with warm', async () => {
    const s = await testSidecar({ instances: 2, warm: true });
    try {
      const c = await s.client();
      const workers = await until(
        async () => {
          const now = (await c.call('worker.list', {})).workers;
          return now.filter((w) => w.state === 'idle').length >= 2 && now;
        },
        { timeoutMs: 10_000, what: 'two idle workers' },
      );
      assert.deepEqual(
        workers.map((w) => w.state),
        ['idle', 'idle'],
        'two idle workers, no job submitted',
      );
      // Waiting for work, each loads Cycles with a tiny frame of its own, so a first job's first frame does not pay it.
      const warmed = await until(
        async () => {
          const now = (await c.call('worker.list', {})).workers;
          return now.every((w) => w.warmedUp) && now;
        },
        { timeoutMs: 30_000, what: 'both workers warmed up' },
      );
      for (const w of warmed) {
        assert.equal(w.warmedUp!.engine, 'CYCLES');
        assert.ok(w.warmedUp!.seconds > 0, JSON.stringify(w.warmedUp));
      }
      // ...and leaves nothing behind: the first job's frames are what plain Blender renders.
      const dir = tempDir('warm-up-');
      const scene = makeScene(dir, 'warm.blend', { frames: 2, size: '64x48', samples: 4 });
      const { jobId } = await c.call('render.submit', { blendFile: scene, output: `${join(dir, 'out')}/` });
      const job = await c.call('job.wait', { jobId, timeoutMs: 120_000 }, { timeoutMs: 130_000 });
      assert.equal(job.state, 'completed', job.error);
      renderPlain(scene, join(dir, 'plain', '####'), 1, 2);
      for (const f of ['0001', '0002'])
        assert.ok(samePixels(join(dir, 'out', `${f}.png`), join(dir, 'plain', `${f}.png`)), `frame ${f} is what plain Blender renders`);
    } finally {
      await s.stop();
    }
  });

  it('exports job, frame and worker metrics that promtool accepts while a job runs', async () => {
    const dir = tempDir('metrics-');
    const scene = makeScene(dir, 'scene.blend', { frames: 6, size: '160x120', samples: 32 });
    const s = await testSidecar({ instances: 2 });
    try {
      const c = await s.client();
      const { jobId } = await c.call('render.submit', { blendFile: scene, output: `${join(dir, 'out')}/` });
      await until(
        async () => {
          const p = (await c.call('job.get', { jobId })).progress;
          return p.done >= 2 && p.running.length > 0;
        },
        { timeoutMs: 30_000, intervalMs: 20, what: 'two frames done while others render' },
      );
      const during = await (await fetch(`http://127.0.0.1:${s.port}/metrics`)).text();
      const promtool = spawnSync('promtool', ['check', 'metrics'], { input: during, encoding: 'utf8' });
      assert.equal(promtool.status, 0, `${promtool.stdout}${promtool.stderr}`);
      assert.match(during, /sidecar_jobs\{kind="render",state="running"\} 1/);
      assert.match(during, /sidecar_frames_rendered_total [2-9]/);
      assert.match(during, /sidecar_frame_render_seconds_count [2-9]/);
      assert.match(during, /sidecar_worker_cpu_percent\{worker="w\d+"\} [\d.]+/);
      assert.match(during, /sidecar_worker_resident_memory_bytes\{worker="w\d+"\} \d{7,}/);
      await c.call('job.wait', { jobId, timeoutMs: 120_000 }, { timeoutMs: 130_000 });
      const afterText = await (await fetch(`http://127.0.0.1:${s.port}/metrics`)).text();
      assert.match(afterText, /sidecar_jobs\{kind="render",state="completed"\} 1/);
      assert.match(afterText, /sidecar_task_attempts_total\{kind="render",outcome="done"\} 6/);
    } finally {
      await s.stop();
    }
  });

  it("keeps the compiled Python of a worker's start-up for the next one, and starts without it when it is damaged", async () => {
    const stateDir = tempDir('python-cache-');
    const cache = join(stateDir, 'python-cache');
    const idleWorker = async (s: TestSidecar) => {
      const c = await s.client();
      return until(
        async () => {
          const [w] = (await c.call('worker.list', {})).workers;
          return w?.state === 'idle' && w.warmedUp && w;
        },
        { timeoutMs: 30_000, what: 'an idle, warmed-up worker' },
      );
    };
    // The worker that reports first has found its start-up's modules compiled in the state folder, or compiled them.
    const compiledLoop = () =>
      (readdirSync(cache, { recursive: true }) as string[]).find((f) => /sidecar_worker[/\\]loop\.cpython-\d+\.pyc$/.test(f));

    const first = await testSidecar({ stateDir, instances: 1, warm: true });
    try {
      const w = await idleWorker(first);
      assert.equal(w.pythonCache?.cached, 0, 'nothing was kept before the first worker');
      assert.ok(w.pythonCache!.modules > 100, `Blender's start-up imports its UI and add-ons: ${w.pythonCache!.modules} modules`);
      // Waiting for work, it writes them for the next worker.
      await until(() => compiledLoop(), { timeoutMs: 30_000, what: "the worker's own loop compiled into the state folder" });
    } finally {
      await first.stop();
    }

    const second = await testSidecar({ stateDir, instances: 1, warm: true });
    try {
      const w = await idleWorker(second);
      assert.equal(w.pythonCache?.cached, w.pythonCache?.modules, 'the next worker found every start-up module compiled');
    } finally {
      await second.stop();
    }

    // A compiled file cut short (Python fails such an import rather than compile the source): the first start fails,
    // the pool clears the cache and starts the worker again, which renders as plain Blender does.
    const loop = join(cache, compiledLoop()!);
    truncateSync(loop, Math.floor(statSync(loop).size / 2));
    const third = await testSidecar({ stateDir, instances: 1 });
    try {
      const dir = tempDir('python-cache-render-');
      const scene = makeScene(dir, 'scene.blend', { frames: 1, size: '64x48', samples: 4 });
      const c = await third.client();
      const { jobId } = await c.call('render.submit', { blendFile: scene, output: `${join(dir, 'out')}/` });
      const job = await c.call('job.wait', { jobId, timeoutMs: 120_000 }, { timeoutMs: 130_000 });
      assert.equal(job.state, 'completed', job.error);
      renderPlain(scene, join(dir, 'plain', '####'), 1, 1);
      assert.ok(samePixels(join(dir, 'out', '0001.png'), join(dir, 'plain', '0001.png')), 'the frame is what plain Blender renders');
      assert.match(readFileSync(join(stateDir, 'sidecar.log'), 'utf8'), /starting it again without the compiled Python kept in/);
    } finally {
      await third.stop();
    }
  });
});
