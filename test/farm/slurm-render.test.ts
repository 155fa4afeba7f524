import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { SidecarClient } from '../../sidecar/client/sidecar-client.js';
import { FlamencoStandin } from '../helpers/flamenco-standin.js';
import { blenderPath, makeScene, renderPlain } from '../helpers/blender.js';
import { runCli } from '../helpers/cli.js';
import { samePixels } from '../helpers/images.js';
import { tempDir, testSidecar, type TestSidecar } from '../helpers/sidecar.js';
import { images, renderedFrames, startSlurmCluster, type SlurmCluster } from '../helpers/slurm-cluster.js';
import { until } from '../helpers/until.js';

/**
 * Render jobs on a real one-node Slurm cluster (slurmctld, slurmd and munged started by the test, see
 * helpers/slurm-cluster.ts), with real Blender on the node.
 */
describe('render jobs on a Slurm cluster', () => {
  let cluster: SlurmCluster;
  let sidecar: TestSidecar;
  let client: SidecarClient;
  let shared: string;
  let scene: string;
  before(async () => {
    cluster = await startSlurmCluster();
    shared = tempDir('slurm-shared-');
    scene = makeScene(shared, 'shot.blend', { frames: 12, size: '64x48', samples: 2 });
    sidecar = await testSidecar({
      farmPollMs: 200,
      slurm: { env: cluster.env, sharedRoots: [shared], defaults: { blender: blenderPath() } },
    });
    client = await sidecar.client();
  });
  after(async () => {
    await sidecar?.stop();
    await cluster?.stop();
    rmSync(shared, { recursive: true, force: true });
  });

  it('renders 12 frames in chunks of one job array, pixel-identical to plain blender -a', async () => {
    const states: string[] = [];
    const progress: { state: string; done: number; eta: number | null }[] = [];
    await client.subscribe(['job.state', 'job.progress']);
    client.on('job.state', (p) => states.push(p.state));
    client.on('job.progress', (p) => progress.push({ state: p.state, done: p.done, eta: p.etaSeconds }));
    const out = join(shared, 'chunks');
    const { jobId } = await client.call('render.submit', {
      blendFile: scene,
      frames: '1-12',
      output: `${out}/`,
      farm: { kind: 'slurm', chunkSize: 4, maxParallel: 2, cpusPerTask: 1 },
    });
    const submitted = await client.call('job.get', { jobId });
    assert.equal(submitted.plan!.farm, 'slurm');
    const arrayId = String(submitted.plan!.farmJobId);
    assert.match(arrayId, /^\d+$/);
    assert.deepEqual(
      (submitted.plan!.chunks as { frames: number[] }[]).map((c) => c.frames),
      [
        [1, 2, 3, 4],
        [5, 6, 7, 8],
        [9, 10, 11, 12],
      ],
    );
    const job = await client.call('job.wait', { jobId, timeoutMs: 240_000 }, { timeoutMs: 250_000 });
    assert.equal(job.state, 'completed', job.error);

    renderPlain(scene, join(shared, 'plain', '####'), 1, 12);
    const names = images(out);
    assert.deepEqual(names, images(join(shared, 'plain')), 'the same file names as blender -a');
    assert.equal(names.length, 12);
    for (const name of names) assert.ok(samePixels(join(out, name), join(shared, 'plain', name)), `${name} differs from blender -a`);
    assert.equal(samePixels(join(out, '0001.png'), join(out, '0012.png')), false, 'the frames differ (the cube turns)');
    assert.deepEqual(
      readdirSync(out).filter((n) => n.endsWith('.partial') || n.endsWith('.rendered')),
      [],
      'no partial files left',
    );

    assert.deepEqual(
      states.filter((s, i) => s !== states[i - 1]),
      ['queued', 'running', 'completed'],
    );
    // job.progress as for a local job: frames counted as they are checked, with an ETA while it runs.
    const dones = progress.map((p) => p.done);
    assert.deepEqual(
      dones,
      [...dones].sort((x, y) => x - y),
      'progress never goes back',
    );
    assert.ok(new Set(dones).size >= 3, `progress in steps, not all at the end: ${dones.join(', ')}`);
    assert.ok(
      progress.some((p) => p.state === 'running' && p.done > 0 && p.done < 12 && p.eta !== null),
      'an ETA while running',
    );
    assert.equal(job.progress.done, 12);
    assert.equal(job.result?.rendered, 12);
    // Each frame: one attempt, on the array task of its chunk.
    for (const u of job.units) {
      assert.equal(u.attempts.length, 1, `frame ${u.key}: ${JSON.stringify(u.attempts)}`);
      assert.equal(u.attempts[0]!.outcome, 'done');
      assert.equal(u.attempts[0]!.worker, `slurm ${arrayId}_${Math.floor((u.key - 1) / 4)}`);
    }
    assert.ok(
      job.units.every((u) => u.seconds! > 0 && u.result?.width === 64 && u.result?.height === 48),
      'each frame timed, its image checked',
    );
    assert.deepEqual(renderedFrames(String(job.plan!.farmDir)), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    // Slurm itself says the three tasks completed.
    const slurmSays = cluster.run('squeue', ['-h', '-r', '-t', 'all', '-j', arrayId, '-o', '%K|%T']).trim().split('\n').sort();
    assert.deepEqual(slurmSays, ['0|COMPLETED', '1|COMPLETED', '2|COMPLETED']);
  });

  it('reports a failing task with its log tail, and retries its frames', async () => {
    const mark = join(shared, 'cursed-once');
    const script = join(shared, 'cursed.py');
    // Wraps the worker's render function (looked up at call time) so frame 3 raises on its first try only.
    writeFileSync(
      script,
      [
        'import os',
        'import sidecar_worker.render as render',
        '_render = render.render_frame',
        'def cursed(task):',
        `    if task["frame"] == 3 and not os.path.exists(${JSON.stringify(mark)}):`,
        `        open(${JSON.stringify(mark)}, "w").close()`,
        '        raise RuntimeError("frame 3 is cursed")',
        '    return _render(task)',
        'render.render_frame = cursed',
        '',
      ].join('\n'),
    );
    const out = join(shared, 'retry');
    const { jobId } = await client.call('render.submit', {
      blendFile: scene,
      frames: '1-4',
      output: `${out}/`,
      preRenderScript: script,
      maxRetries: 1,
      farm: { kind: 'slurm', chunkSize: 2, cpusPerTask: 1 },
    });
    const job = await client.call('job.wait', { jobId, timeoutMs: 240_000 }, { timeoutMs: 250_000 });
    assert.equal(job.state, 'completed', job.error);
    assert.deepEqual(images(out), ['0001.png', '0002.png', '0003.png', '0004.png']);
    const three = job.units.find((u) => u.key === 3)!;
    assert.equal(three.attempts.length, 2);
    assert.equal(three.attempts[0]!.outcome, 'python-error');
    assert.match(
      three.attempts[0]!.reason!,
      /^frame 3: the Slurm task \d+_1 failed \(a non-zero exit status\); its log \(.*task-1-\d+\.log\) ends: .*RuntimeError: frame 3 is cursed/,
    );
    assert.equal(three.attempts[1]!.outcome, 'done');
    const chunks = job.plan!.chunks as { jobIds: string[] }[];
    assert.equal(chunks[0]!.jobIds.length, 1, 'the chunk that worked ran once');
    assert.equal(chunks[1]!.jobIds.length, 2, 'the failed chunk was resubmitted as a new array');
    assert.deepEqual(renderedFrames(String(job.plan!.farmDir)), [1, 2, 3, 4], 'every frame rendered once');
  });

  it('retries the frames of a task preempted by a job of higher priority', async () => {
    const go = join(shared, 'preempt-go');
    const script = join(shared, 'hold.py');
    // Frame 3 waits until the test says go, so the preemption surely lands while the task is on it.
    writeFileSync(
      script,
      [
        'import os, time',
        'import sidecar_worker.render as render',
        '_render = render.render_frame',
        'def held(task):',
        `    while task["frame"] == 3 and not os.path.exists(${JSON.stringify(go)}):`,
        '        time.sleep(0.1)',
        '    return _render(task)',
        'render.render_frame = held',
        '',
      ].join('\n'),
    );
    const out = join(shared, 'preempted');
    const { jobId } = await client.call('render.submit', {
      blendFile: scene,
      frames: '1-4',
      output: `${out}/`,
      preRenderScript: script,
      maxRetries: 1,
      farm: { kind: 'slurm', chunkSize: 4, cpusPerTask: cpus().length },
    });
    await until(async () => (await client.call('job.get', { jobId })).units[2]!.state === 'running', {
      timeoutMs: 120_000,
      intervalMs: 200,
      what: 'frame 3 on the node',
    });
    const urgent = cluster
      .run('sbatch', [
        '--parsable',
        '--partition=urgent',
        `--cpus-per-task=${cpus().length}`,
        `--output=${join(shared, 'urgent.log')}`,
        '--wrap',
        'sleep 1',
      ])
      .trim();
    const arrayId = String((await client.call('job.get', { jobId })).plan!.farmJobId);
    await until(() => cluster.run('squeue', ['-h', '-r', '-t', 'all', '-j', arrayId, '-o', '%T']).trim() === 'PREEMPTED', {
      timeoutMs: 60_000,
      intervalMs: 200,
      what: 'the task preempted',
    });
    writeFileSync(go, '');
    const job = await client.call('job.wait', { jobId, timeoutMs: 120_000 }, { timeoutMs: 130_000 });
    assert.equal(job.state, 'completed', job.error);
    assert.deepEqual(images(out), ['0001.png', '0002.png', '0003.png', '0004.png']);
    const three = job.units[2]!;
    assert.deepEqual(
      three.attempts.map((a) => a.outcome),
      ['lost', 'done'],
    );
    assert.match(three.attempts[0]!.reason!, new RegExp(`^frame 3: the Slurm task ${arrayId}_0 was preempted by a job of higher priority`));
    assert.deepEqual(
      job.units.slice(0, 2).map((u) => u.attempts.length),
      [1, 1],
      'frames done before the preemption were kept',
    );
    assert.equal((job.plan!.chunks as { jobIds: string[] }[])[0]!.jobIds.length, 2);
    assert.deepEqual(renderedFrames(String(job.plan!.farmDir)), [1, 2, 3, 4], 'no frame rendered twice');
    assert.equal(cluster.run('squeue', ['-h', '-j', urgent, '-t', 'all', '-o', '%T']).trim(), 'COMPLETED');
  });

  it("fails the job with the task's log tail once its retries are spent", async () => {
    const script = join(shared, 'always.py');
    writeFileSync(
      script,
      'import sidecar_worker.render as render\ndef broken(task):\n    raise ValueError("this shot never renders")\nrender.render_frame = broken\n',
    );
    const { jobId } = await client.call('render.submit', {
      blendFile: scene,
      frames: '1',
      output: `${shared}/never/`,
      preRenderScript: script,
      maxRetries: 0,
      farm: { kind: 'slurm' },
    });
    const job = await client.call('job.wait', { jobId, timeoutMs: 120_000 }, { timeoutMs: 130_000 });
    assert.equal(job.state, 'failed');
    assert.match(
      job.error!,
      /^frame 1 failed after 1 try: the Slurm task \d+_0 failed \(a non-zero exit status\); its log .* ends: .*ValueError: this shot never renders/,
    );
    assert.equal(job.units[0]!.state, 'failed');
  });

  it('skips frames already on disk, and renders them again with overwrite', async () => {
    const out = join(shared, 'skip');
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, '0002.png'), 'not empty: a frame from earlier');
    writeFileSync(join(out, '.0003.png.sidecar-farm.rendered'), 'left by a job that was canceled');
    const first = await client.call('render.submit', {
      blendFile: scene,
      frames: '1-3',
      output: `${out}/`,
      farm: { kind: 'slurm', chunkSize: 3 },
    });
    const a = await client.call('job.wait', { jobId: first.jobId, timeoutMs: 120_000 }, { timeoutMs: 130_000 });
    assert.equal(a.state, 'completed', a.error);
    assert.deepEqual(
      a.units.map((u) => [u.key, u.state]),
      [
        [1, 'done'],
        [2, 'skipped'],
        [3, 'done'],
      ],
    );
    assert.deepEqual(
      (a.plan!.chunks as { frames: number[] }[]).map((c) => c.frames),
      [[1, 3]],
      'a skipped frame is not submitted',
    );
    assert.equal(readFileSync(join(out, '0002.png'), 'utf8'), 'not empty: a frame from earlier');
    const plain = join(shared, 'plain-skip');
    renderPlain(scene, join(plain, '####'), 2, 3);
    assert.ok(samePixels(join(out, '0003.png'), join(plain, '0003.png')), 'frame 3 rendered, not the stale hidden file');
    const again = await client.call('render.submit', {
      blendFile: scene,
      frames: '1-3',
      output: `${out}/`,
      overwrite: true,
      farm: { kind: 'slurm', chunkSize: 3 },
    });
    const b = await client.call('job.wait', { jobId: again.jobId, timeoutMs: 120_000 }, { timeoutMs: 130_000 });
    assert.equal(b.state, 'completed', b.error);
    assert.deepEqual(
      b.units.map((u) => u.state),
      ['done', 'done', 'done'],
    );
    assert.ok(samePixels(join(out, '0002.png'), join(plain, '0002.png')), 'the old frame 2 rendered again');
    assert.deepEqual(renderedFrames(String(b.plan!.farmDir)), [1, 2, 3]);
  });

  it("says so when the nodes cannot start Blender, with the shell's words from the task's log", async () => {
    const { jobId } = await client.call('render.submit', {
      blendFile: scene,
      frames: '1-2',
      output: `${shared}/noblender/`,
      maxRetries: 0,
      farm: { kind: 'slurm', chunkSize: 2, blender: '/opt/no-blender-here/blender' },
    });
    const job = await client.call('job.wait', { jobId, timeoutMs: 60_000 }, { timeoutMs: 70_000 });
    assert.equal(job.state, 'failed');
    assert.match(
      job.error!,
      /^frame 1 failed after 1 try: the Slurm task \d+_0 failed \(a non-zero exit status\); its log .* ends: .*\/opt\/no-blender-here\/blender: not found/,
    );
    assert.deepEqual(
      job.units.map((u) => u.state),
      ['failed', 'failed'],
    );
  });

  it('reports a job cancelled on the cluster (scancel) as canceled, naming the Slurm job', async () => {
    const { jobId } = await client.call('render.submit', {
      blendFile: scene,
      frames: '1-12',
      output: `${shared}/scancel/`,
      overwrite: true,
      farm: { kind: 'slurm', maxParallel: 1 },
    });
    const arrayId = String((await client.call('job.get', { jobId })).plan!.farmJobId);
    await until(async () => (await client.call('job.get', { jobId })).state === 'running', {
      timeoutMs: 120_000,
      intervalMs: 200,
      what: 'the job runs',
    });
    cluster.run('scancel', [arrayId]);
    const job = await client.call('job.wait', { jobId, timeoutMs: 60_000 }, { timeoutMs: 70_000 });
    assert.equal(job.state, 'canceled');
    assert.equal(job.error, `the Slurm job ${arrayId} was cancelled on the cluster (scancel)`);
  });

  it('cancels the array: no task is left running or pending', async () => {
    const out = join(shared, 'cancel');
    const { jobId } = await client.call('render.submit', {
      blendFile: scene,
      frames: '1-12',
      output: `${out}/`,
      overwrite: true,
      farm: { kind: 'slurm', maxParallel: 2, cpusPerTask: 1 },
    });
    const arrayId = String((await client.call('job.get', { jobId })).plan!.farmJobId);
    // Running, with the tasks beyond maxParallel pending, their reason in words.
    const running = await until(
      async () => {
        const j = await client.call('job.get', { jobId });
        const chunks = (j.plan?.chunks ?? []) as { state: string; waiting?: string }[];
        return j.state === 'running' && chunks.some((c) => c.state === 'waiting' && c.waiting === 'pending (maxParallel tasks already run)')
          ? j
          : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 200, what: 'the job runs' },
    );
    assert.ok(running.units.some((u) => u.state === 'running'));
    const canceled = await client.call('job.cancel', { jobId });
    assert.equal(canceled.state, 'canceled');
    await until(() => !cluster.activeTasks().some((t) => t.startsWith(`${arrayId}_`)), {
      timeoutMs: 60_000,
      intervalMs: 200,
      what: 'no task of the array left in Slurm',
    });
    const states = cluster.run('squeue', ['-h', '-r', '-t', 'all', '-j', arrayId, '-o', '%T']).trim().split('\n');
    assert.ok(states.includes('CANCELLED'), `Slurm's states: ${states.join(', ')}`);
    const farmDir = String(canceled.plan!.farmDir);
    await until(() => !execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).includes(farmDir), {
      timeoutMs: 30_000,
      intervalMs: 200,
      what: 'no Blender of the job still running',
    });
    assert.ok(images(out).length < 12, 'the job stopped before its end');
  });

  it("refuses at submit, in Slurm's words: an unknown partition, a munge that is down, a missing sbatch, paths off the shared storage", async () => {
    const before = (await client.call('job.list', {})).jobs.length;
    await assert.rejects(
      client.call('render.submit', { blendFile: scene, frames: '1', output: `${shared}/p/`, farm: { kind: 'slurm', partition: 'nosuch' } }),
      (e: Error & { code?: number }) =>
        e.code === -32602 &&
        /^Slurm refused to submit the job: invalid partition specified: nosuch; Batch job submission failed: Invalid partition name specified$/.test(
          e.message,
        ),
    );
    assert.equal(
      existsSync(join(shared, 'p', '.sidecar-farm')) && readdirSync(join(shared, 'p', '.sidecar-farm')).length > 0,
      false,
      'nothing left behind',
    );
    const local = join(tempDir('local-'), 'x.blend');
    copyFileSync(scene, local);
    await assert.rejects(
      client.call('render.submit', { blendFile: local, frames: '1', output: `${shared}/q/`, farm: { kind: 'slurm' } }),
      (e: Error) => /^blendFile: .*x\.blend is not on the storage the cluster's nodes share \(/.test(e.message),
    );
    await assert.rejects(
      client.call('render.submit', { blendFile: scene, frames: '1', output: `${shared}/q/`, instances: 2, farm: { kind: 'slurm' } }),
      (e: Error) => /^instances: cannot be honored on a Slurm cluster: use farm.maxParallel$/.test(e.message),
    );
    rmSync(dirname(local), { recursive: true, force: true });
    assert.equal((await client.call('job.list', {})).jobs.length, before, 'no job queued');

    // A sidecar whose munge socket does not answer, and one whose Slurm commands are not installed.
    const conf = readFileSync(cluster.env.SLURM_CONF!, 'utf8').replace(
      /AuthInfo=socket=.*/,
      `AuthInfo=socket=${join(cluster.dir, 'no-munge.socket')}`,
    );
    writeFileSync(join(cluster.dir, 'no-munge.conf'), conf);
    const away = await testSidecar({ slurm: { env: { SLURM_CONF: join(cluster.dir, 'no-munge.conf') }, sharedRoots: [shared] } });
    const missing = await testSidecar({ slurm: { binDir: join(shared, 'no-slurm-here') } });
    try {
      const c1 = await away.client();
      await assert.rejects(
        c1.call('render.submit', { blendFile: scene, frames: '1', output: `${shared}/m/`, farm: { kind: 'slurm' } }),
        (e: Error & { code?: number }) =>
          e.code === -32005 &&
          /^Slurm could not be reached to submit the job: .*Munge encode failed: Failed to access ".*no-munge\.socket".*; check that munge and slurmctld are running/.test(
            e.message,
          ),
      );
      const c2 = await missing.client();
      await assert.rejects(
        c2.call('render.submit', { blendFile: scene, frames: '1', output: `${shared}/n/`, farm: { kind: 'slurm' } }),
        (e: Error) =>
          /^sbatch was not found in .*no-slurm-here \(--slurm-bin\), so the sidecar cannot submit the job; install Slurm's client commands/.test(
            e.message,
          ),
      );
    } finally {
      await away.stop();
      await missing.stop();
    }
  });

  it('renders with render --farm slurm on the command line', () => {
    const out = join(shared, 'cli');
    const state = join(shared, 'cli-state');
    const r = runCli(
      ['render', scene, '--frames', '5-6', '--output', `${out}/`, '--farm', 'slurm', '--chunk-size', '2', '--state-dir', state],
      cluster.env,
    );
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /done: 2 frames rendered, 0 skipped, in .*\/cli\//);
    assert.deepEqual(images(out), ['0005.png', '0006.png']);
    const usage = runCli(['render', scene, '--frames', '1', '--output', `${out}/`, '--partition', 'render', '--state-dir', state]);
    assert.notEqual(usage.status, 0);
    assert.match(usage.stderr, /--chunk-size and --partition are for farm jobs: add --farm slurm/);
  });

  it('shows a Slurm job in the same shape as a local job and a Flamenco job', async () => {
    const local = await client.call('render.submit', { blendFile: scene, frames: '1', output: `${shared}/local/` });
    const farm = await client.call('render.submit', { blendFile: scene, frames: '1', output: `${shared}/farm/`, farm: { kind: 'slurm' } });
    const a = await client.call('job.wait', { jobId: local.jobId, timeoutMs: 120_000 }, { timeoutMs: 130_000 });
    const b = await client.call('job.wait', { jobId: farm.jobId, timeoutMs: 120_000 }, { timeoutMs: 130_000 });
    assert.equal(a.state, 'completed', a.error);
    assert.equal(b.state, 'completed', b.error);
    assert.ok(samePixels(join(shared, 'farm', '0001.png'), join(shared, 'local', '0001.png')));
    // A Flamenco job of the same frame, on the manager stand-in (a real manager cannot be built here).
    const standin = await FlamencoStandin.start({ sharedStorage: shared });
    let c: Awaited<ReturnType<typeof client.call<'job.wait'>>>;
    try {
      const flamenco = await client.call('render.submit', {
        blendFile: scene,
        scene: 'Scene',
        frames: '1',
        output: `${shared}/flamenco/`,
        farm: { kind: 'flamenco', url: standin.url },
      });
      const farmJobId = String((await client.call('job.get', { jobId: flamenco.jobId })).plan!.farmJobId);
      mkdirSync(join(shared, 'flamenco'));
      copyFileSync(join(shared, 'local', '0001.png'), join(shared, 'flamenco', '0001.png'));
      standin.advance(farmJobId, 'completed', 1);
      c = await client.call('job.wait', { jobId: flamenco.jobId, timeoutMs: 30_000 }, { timeoutMs: 40_000 });
      assert.equal(c.state, 'completed', c.error);
    } finally {
      await standin.close();
    }
    const keys = (o: object, but: string[] = []) =>
      Object.keys(o)
        .filter((k) => !but.includes(k))
        .sort();
    for (const other of [b, c]) {
      assert.deepEqual(keys(other, ['plan']), keys(a, ['plan']), 'the job');
      assert.deepEqual(keys(other.progress), keys(a.progress), 'its progress');
      // A farm's nodes write frames only: no previews, so no averagePreviewSeconds.
      assert.deepEqual(keys(other.result!, ['farmJobId']), keys(a.result!, ['averagePreviewSeconds']), 'its result');
      assert.deepEqual(
        other.units.map((u) => [u.key, u.state, u.output?.replace(/\/(farm|flamenco)\//, '/local/')]),
        a.units.map((u) => [u.key, u.state, u.output]),
        'its frames',
      );
      assert.equal(other.plan!.farm !== undefined, true);
    }
    // Per frame, Slurm knows as much as the local pool: attempts, times, the checked image.
    assert.deepEqual(keys(b.units[0]!), keys(a.units[0]!));
    // (A local attempt also names the Blender version that ran it and how long its scene took to sync; a farm's nodes
    // report neither.)
    assert.deepEqual(keys(b.units[0]!.attempts[0]!), keys(a.units[0]!.attempts[0]!, ['blender', 'syncSeconds']));
    // The checked image is the same; a local frame also has its preview and the threads it was given, which a farm's
    // node (with its own cores and no previews) does not report.
    const { preview: _p, previewSeconds: _s, threads: _t, ...checked } = a.units[0]!.result as Record<string, unknown>;
    assert.deepEqual(b.units[0]!.result, checked);
  });
});
