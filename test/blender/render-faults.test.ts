import assert from 'node:assert/strict';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SidecarClient } from '../../sidecar/client/sidecar-client.js';
import { isProcessAlive } from '../../sidecar/discovery.js';
import { setSuspended } from '../../sidecar/platform.js';
import { makeScene } from '../helpers/blender.js';
import { startCli, waitForLine } from '../helpers/cli.js';
import { tempDir, testSidecar, type TestSidecar } from '../helpers/sidecar.js';
import { until } from '../helpers/until.js';

/** Waits until some worker is busy rendering a frame of `jobId` for at least `minSeconds`; returns it. */
async function busyWorker(client: SidecarClient, jobId: string, minSeconds = 0.3) {
  return until(
    async () => {
      const { workers } = await client.call('worker.list', {});
      return workers.find((x) => x.current?.jobId === jobId && x.current.frame !== undefined && x.current.seconds >= minSeconds);
    },
    { timeoutMs: 60_000, what: `a worker busy on a frame of job ${jobId} for ${minSeconds} s` },
  );
}

function framesOnDisk(dir: string): string[] {
  // The hidden .previews folder holds each frame's preview; partial files left behind would still show here.
  return readdirSync(dir)
    .filter((n) => n !== '.previews')
    .sort();
}

const expectedFrames = (n: number) => Array.from({ length: n }, (_, i) => `${String(i + 1).padStart(4, '0')}.png`);

describe('supervision of render workers', () => {
  let dir: string;
  let slow: string;
  let sidecar: TestSidecar;
  let client: SidecarClient;
  before(async () => {
    dir = tempDir('faults-');
    // About a second per frame on one thread: long enough to be caught in the middle of one.
    slow = makeScene(dir, 'slow.blend', { frames: 6, size: '200x150', samples: 96 });
    sidecar = await testSidecar({ instances: 2 });
    client = await sidecar.client();
  });
  after(() => sidecar.stop());

  it('retries a frame whose worker was killed mid-frame on another worker, and completes', async () => {
    const out = join(dir, 'killed');
    const { jobId } = await client.call('render.submit', { blendFile: slow, output: `${out}/`, maxRetries: 2 });
    const victim = await busyWorker(client, jobId);
    process.kill(victim.pid, 'SIGKILL');
    const job = await client.call('job.wait', { jobId, timeoutMs: 120_000 }, { timeoutMs: 130_000 });
    assert.equal(job.state, 'completed', job.error);
    const unit = job.units.find((u) => u.key === victim.current!.frame)!;
    assert.deepEqual(
      unit.attempts.map((a) => a.outcome),
      ['crashed', 'done'],
    );
    assert.equal(unit.attempts[0]!.worker, victim.id);
    assert.notEqual(unit.attempts[1]!.worker, victim.id, 'never twice on the same worker');
    assert.match(unit.attempts[0]!.reason!, /SIGKILL/);
    assert.deepEqual(framesOnDisk(out), expectedFrames(6), 'every frame on disk exactly once, nothing partial left');
  });

  it('kills a worker that prints nothing for timeoutS (hung) and retries its frame', async () => {
    const out = join(dir, 'hung');
    // 6 s: the retry opens the file on a worker that has not synced it yet (the hung one was the job's only worker until
    // its first sample), and on a loaded machine that alone has taken over 3 s.
    const { jobId } = await client.call('render.submit', { blendFile: slow, output: `${out}/`, timeoutS: 6 });
    const victim = await busyWorker(client, jobId);
    setSuspended(victim.pid, true); // a real hang: the process stays, silent
    const job = await client.call('job.wait', { jobId, timeoutMs: 120_000 }, { timeoutMs: 130_000 });
    assert.equal(job.state, 'completed', job.error);
    const unit = job.units.find((u) => u.key === victim.current!.frame)!;
    assert.deepEqual(
      unit.attempts.map((a) => a.outcome),
      ['hung', 'done'],
    );
    assert.match(unit.attempts[0]!.reason!, /printed nothing for 6 s/);
    assert.equal(isProcessAlive(victim.pid), false, 'the hung process was ended');
    assert.deepEqual(framesOnDisk(out), expectedFrames(6));
  });

  it('kills a worker over memoryLimitMB and names the frame and the limit', async () => {
    const out = join(dir, 'memory');
    const hog = join(dir, 'hog.py');
    // Frame 2 takes 1.2 GB more than the others: a real memory spike inside Blender.
    writeFileSync(
      hog,
      [
        'import bpy, time',
        'held = []',
        'def spike(scene, *args):',
        '    if scene.frame_current == 2:',
        "        held.append(b'x' * (1200 * 1024 * 1024))",
        '        time.sleep(3)',
        'bpy.app.handlers.frame_change_pre.append(spike)',
      ].join('\n'),
    );
    const { jobId } = await client.call('render.submit', {
      blendFile: slow,
      frames: '1-3',
      output: `${out}/`,
      memoryLimitMB: 900,
      preRenderScript: hog,
    });
    const job = await client.call('job.wait', { jobId, timeoutMs: 120_000 }, { timeoutMs: 130_000 });
    assert.equal(job.state, 'failed');
    assert.match(job.error!, /frame 2 exceeded memoryLimitMB 900: Blender \(worker w\d+\) reached \d+ MB/);
    assert.deepEqual(
      job.units.map((u) => [u.key, u.state]),
      [
        [1, 'done'],
        [2, 'failed'],
        [3, 'done'],
      ],
    );
    assert.equal(job.units[1]!.attempts.length, 1, 'a memory kill is not retried: it would only happen again');
    assert.deepEqual(framesOnDisk(out), ['0001.png', '0003.png']);
  });

  it("cancels by ending the job's Blender processes, not by waiting for their frames, and leaves no partial files", async () => {
    // The frame never ends on its own: its pre-render script sleeps for an hour (well inside the hang limit's 600 s of
    // silence), so only the cancel can end the worker. No clock is needed to tell a kill from a wait.
    const sleeper = join(dir, 'sleep_for_an_hour.py');
    writeFileSync(sleeper, 'import time\ntime.sleep(3600)\n');
    const out = join(dir, 'canceled');
    const { jobId } = await client.call('render.submit', { blendFile: slow, output: `${out}/`, preRenderScript: sleeper });
    const busy = await busyWorker(client, jobId);
    const job = await client.call('job.cancel', { jobId });
    assert.equal(job.state, 'canceled');
    await until(() => !isProcessAlive(busy.pid), { timeoutMs: 30_000, intervalMs: 20, what: "the canceled job's worker to be gone" });
    // A killed worker writes nothing more; give a stray write the time it would take to show, then look.
    await new Promise((r) => setTimeout(r, 300));
    const left = existsSync(out) ? framesOnDisk(out) : [];
    assert.deepEqual(left, [], 'no frames and no partial files');
    const again = await client.call('job.get', { jobId });
    assert.equal(again.state, 'canceled');
  });
});

describe('a sidecar killed mid-job', () => {
  it('resumes unfinished jobs after a restart without rendering written frames again, and ends orphaned workers', async () => {
    const dir = tempDir('restart-');
    const state = join(dir, 'state');
    const slow = makeScene(dir, 'slow.blend', { frames: 8, size: '200x150', samples: 96 });
    const out = join(dir, 'out');
    const first = startCli(['serve', '--state-dir', state, '--instances', '2']);
    await waitForLine(first, /^listening on/);
    const c1 = await SidecarClient.connect({ stateDir: state });
    const { jobId } = await c1.call('render.submit', { blendFile: slow, output: `${out}/` });
    await until(async () => (await c1.call('job.get', { jobId })).progress.done >= 3, { timeoutMs: 60_000, what: 'three frames done' });
    const workersBefore = (await c1.call('worker.list', {})).workers.map((w) => w.pid);
    const written = framesOnDisk(out);
    const mtimes = new Map(written.map((n) => [n, statSync(join(out, n)).mtimeMs]));
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    await c1.close();
    assert.ok(
      workersBefore.some((pid) => isProcessAlive(pid)),
      'the killed sidecar left its workers running',
    );

    const second = startCli(['serve', '--state-dir', state, '--instances', '2']);
    try {
      await waitForLine(second, /^listening on/);
      for (const pid of workersBefore) assert.equal(isProcessAlive(pid), false, `orphaned worker ${pid} was ended`);
      const c2 = await SidecarClient.connect({ stateDir: state });
      const job = await c2.call('job.wait', { jobId, timeoutMs: 120_000 }, { timeoutMs: 130_000 });
      await c2.close();
      assert.equal(job.state, 'completed', job.error);
      assert.deepEqual(framesOnDisk(out), expectedFrames(8), 'every frame on disk exactly once');
      for (const [name, mtime] of mtimes) assert.equal(statSync(join(out, name)).mtimeMs, mtime, `${name} was not rendered again`);
    } finally {
      second.kill('SIGTERM');
      await new Promise((r) => second.once('exit', r));
    }
  });
});
