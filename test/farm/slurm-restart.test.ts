import assert from 'node:assert/strict';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SidecarClient } from '../../sidecar/client/sidecar-client.js';
import { blenderPath, makeScene } from '../helpers/blender.js';
import { startCli, waitForLine } from '../helpers/cli.js';
import { tempDir, testSidecar } from '../helpers/sidecar.js';
import { images, renderedFrames, startSlurmCluster, type SlurmCluster } from '../helpers/slurm-cluster.js';
import { until } from '../helpers/until.js';

/**
 * A Slurm job outlives the sidecar that submitted it: a sidecar killed mid-job, or one that comes back after Slurm has
 * forgotten the finished job, picks it up from the job store and finishes it (real cluster, real Blender).
 */
describe('a Slurm job across a sidecar restart', () => {
  let cluster: SlurmCluster;
  let shared: string;
  before(async () => {
    cluster = await startSlurmCluster();
    shared = tempDir('slurm-restart-');
  });
  after(async () => {
    await cluster?.stop();
    rmSync(shared, { recursive: true, force: true });
  });

  it('is picked up again by its Slurm job id and finishes without rendering a frame twice', async () => {
    const scene = makeScene(shared, 'shot.blend', { frames: 8, size: '64x48', samples: 2 });
    const state = join(shared, 'state');
    const farmDir = join(shared, 'farm-files');
    const serve = () =>
      startCli(
        [
          'serve',
          '--state-dir',
          state,
          '--slurm-shared',
          shared,
          '--slurm-blender',
          blenderPath(),
          '--slurm-max-parallel',
          '1',
          '--farm-dir',
          farmDir,
        ],
        cluster.env,
      );
    const first = serve();
    await waitForLine(first, /^listening on/);
    const a = await SidecarClient.connect({ stateDir: state });
    const out = join(shared, 'out');
    const { jobId } = await a.call('render.submit', {
      blendFile: scene,
      frames: '1-8',
      output: `${out}/`,
      farm: { kind: 'slurm', chunkSize: 2 },
    });
    await until(async () => (await a.call('job.get', { jobId })).progress.done >= 1, {
      timeoutMs: 120_000,
      intervalMs: 200,
      what: 'a first frame checked',
    });
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    await a.close();
    // The cluster renders on while no sidecar watches: finished frames wait, unchecked, under their hidden names.
    await until(() => readdirSync(out).some((n) => n.endsWith('.rendered')), {
      timeoutMs: 120_000,
      intervalMs: 200,
      what: 'a frame finished while the sidecar was down',
    });
    assert.ok(
      existsSync(join(farmDir, jobId, 'render.sh')) && !existsSync(join(out, '.sidecar-farm')),
      'the node files in --farm-dir, not beside the frames',
    );

    const second = serve();
    try {
      await waitForLine(second, /^listening on/);
      const b = await SidecarClient.connect({ stateDir: state });
      const job = await b.call('job.wait', { jobId, timeoutMs: 240_000 }, { timeoutMs: 250_000 });
      assert.equal(job.state, 'completed', job.error);
      assert.deepEqual(images(out), ['0001.png', '0002.png', '0003.png', '0004.png', '0005.png', '0006.png', '0007.png', '0008.png']);
      const chunks = job.plan!.chunks as { jobIds: string[] }[];
      assert.ok(
        chunks.every((c) => c.jobIds.length === 1 && c.jobIds[0] === job.plan!.farmJobId),
        'the same Slurm job, never resubmitted',
      );
      assert.equal(job.plan!.farmDir, join(farmDir, jobId));
      assert.deepEqual(renderedFrames(String(job.plan!.farmDir)), [1, 2, 3, 4, 5, 6, 7, 8], 'every frame rendered exactly once');
      assert.equal(existsSync(join(farmDir, jobId, 'worker')), false, 'the worker copy is gone with the job');
      assert.ok(job.units.every((u) => u.state === 'done'));
      await b.close();
    } finally {
      second.kill('SIGTERM');
      await new Promise((r) => second.once('exit', r));
    }
  });
});

describe('a Slurm job that ended while no sidecar watched', () => {
  let cluster: SlurmCluster;
  let shared: string;
  before(async () => {
    cluster = await startSlurmCluster({ minJobAge: 2 }); // finished jobs leave squeue within seconds, not 5 minutes
    shared = tempDir('slurm-gone-');
  });
  after(async () => {
    await cluster?.stop();
    rmSync(shared, { recursive: true, force: true });
  });

  it('is finished from the frames on disk once Slurm has forgotten it, nothing resubmitted', async () => {
    const scene = makeScene(shared, 'shot.blend', { frames: 4, size: '64x48', samples: 2 });
    const stateDir = join(shared, 'state');
    const options = { stateDir, farmPollMs: 200, slurm: { env: cluster.env, defaults: { blender: blenderPath() } } };
    const first = await testSidecar(options);
    const a = await first.client();
    const out = join(shared, 'out');
    const { jobId } = await a.call('render.submit', {
      blendFile: scene,
      frames: '1-4',
      output: `${out}/`,
      farm: { kind: 'slurm', chunkSize: 2 },
    });
    const arrayId = String((await a.call('job.get', { jobId })).plan!.farmJobId);
    await first.stop(); // the job goes on on the cluster
    await until(
      () => {
        try {
          cluster.run('squeue', ['-h', '-j', arrayId]);
          return false;
        } catch (err) {
          return /Invalid job id/.test(String((err as { stderr?: string }).stderr));
        }
      },
      { timeoutMs: 120_000, intervalMs: 200, what: 'Slurm has forgotten the job' },
    );
    assert.equal(readdirSync(out).filter((n) => n.endsWith('.rendered')).length, 4, 'four frames waiting to be checked');

    const second = await testSidecar(options);
    try {
      const b = await second.client();
      const job = await b.call('job.wait', { jobId, timeoutMs: 60_000 }, { timeoutMs: 70_000 });
      assert.equal(job.state, 'completed', job.error);
      assert.deepEqual(images(out), ['0001.png', '0002.png', '0003.png', '0004.png']);
      assert.ok(
        (job.plan!.chunks as { jobIds: string[] }[]).every((c) => c.jobIds.length === 1),
        'nothing resubmitted',
      );
      assert.deepEqual(renderedFrames(String(job.plan!.farmDir)), [1, 2, 3, 4]);
    } finally {
      await second.stop();
    }
  });
});
