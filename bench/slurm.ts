/**
 * bench/slurm: what handing a render to Slurm costs next to rendering it here, side by side in one run on a one-node
 * cluster started for the run (test/helpers/slurm-cluster.ts):
 *   1. plain `blender -b FILE -a` (one process, all cores)
 *   2. the sidecar's local pool, warm (a second job on running workers)
 *   3. the sidecar on Slurm, one frame per array task (a Blender start per frame), `maxParallel` tasks at once
 *   4. the sidecar on Slurm, chunks of frames/maxParallel (a Blender start per chunk)
 * It prints wall times, the time from submit to the first frame in its final place, and the ratios. There are no
 * goals: a one-node cluster measures the hand-off's own overhead (sbatch, scheduling, Blender start per task, the
 * follower's 2 s poll), not what a farm of many nodes gains.
 * Run: npm run bench:slurm [-- --frames 12 --size 160x120 --samples 8 --parallel 2]  (as root: it starts munged/slurmd)
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { tempDir } from '../test/helpers/sidecar.js';
import { makeScene } from '../test/helpers/blender.js';
import { startSlurmCluster } from '../test/helpers/slurm-cluster.js';
import type { SlurmParam } from '../sidecar/domain/farm/farm-param.js';
import { blender, run, saveResult, sidecarProcess, table, timedFrames } from './lib.js';

const { values } = parseArgs({
  options: {
    frames: { type: 'string', default: '12' },
    size: { type: 'string', default: '160x120' },
    samples: { type: 'string', default: '8' },
    parallel: { type: 'string', default: '2' },
  },
});
const frames = Number(values.frames);
const parallel = Number(values.parallel);
const dir = tempDir('bench-slurm-');
const scene = makeScene(dir, 'bench.blend', { frames, size: values.size, samples: Number(values.samples) });
const b = blender();
console.log(
  `bench/slurm: ${frames} frames at ${values.size}, Cycles ${values.samples} samples, ${parallel} workers / tasks at once, Blender ${b}`,
);

const cluster = await startSlurmCluster();
try {
  Object.assign(process.env, cluster.env); // the sidecar process below runs Slurm's commands against this cluster
  const plain = await timedFrames('plain blender -a', join(dir, 'plain'), () =>
    run(b, ['-b', scene, '-o', join(dir, 'plain', '####'), '-s', '1', '-e', String(frames), '-a']),
  );
  const sidecar = await sidecarProcess(join(dir, 'state'), ['--instances', String(parallel), '--slurm-blender', b, '--slurm-shared', dir]);
  const job = (name: string, out: string, farm?: SlurmParam) =>
    timedFrames(name, out, async () => {
      const { jobId } = await sidecar.client.call('render.submit', {
        blendFile: scene,
        frames: `1-${frames}`,
        output: `${out}/`,
        overwrite: true,
        ...(farm ? { farm } : {}),
      });
      const done = await sidecar.client.call('job.wait', { jobId, timeoutMs: 3_600_000 }, { timeoutMs: 3_700_000 });
      if (done.state !== 'completed') throw new Error(`${name}: the job ${done.state}: ${done.error}`);
    });
  await job('local pool, cold (not counted)', join(dir, 'warmup'));
  const local = await job('local pool, warm', join(dir, 'local'));
  const perFrame = await job('Slurm, 1 frame per task', join(dir, 'slurm-1'), {
    kind: 'slurm' as const,
    chunkSize: 1,
    maxParallel: parallel,
    cpusPerTask: 1,
  });
  const chunk = Math.ceil(frames / parallel);
  const chunked = await job(`Slurm, ${chunk} frames per task`, join(dir, 'slurm-n'), {
    kind: 'slurm' as const,
    chunkSize: chunk,
    maxParallel: parallel,
    cpusPerTask: 1,
  });
  await sidecar.stop();

  const r = (x: number) => `${x.toFixed(2)}x`;
  console.log('');
  console.log(
    table([
      ['', 'wall s', 'first frame s', 'vs plain -a'],
      ['plain blender -a', plain.wall.toFixed(2), plain.first.toFixed(2), r(1)],
      ['local pool, warm', local.wall.toFixed(2), local.first.toFixed(2), r(local.wall / plain.wall)],
      ['Slurm, 1 frame per task', perFrame.wall.toFixed(2), perFrame.first.toFixed(2), r(perFrame.wall / plain.wall)],
      [`Slurm, ${chunk} frames per task`, chunked.wall.toFixed(2), chunked.first.toFixed(2), r(chunked.wall / plain.wall)],
    ]),
  );
  console.log(
    `\nresults: ${saveResult('slurm', { frames, size: values.size, samples: Number(values.samples), parallel, plain, local, perFrame, chunked })}`,
  );
} finally {
  await cluster.stop();
  rmSync(dir, { recursive: true, force: true });
}
