/**
 * bench/render: one scene and frame range, side by side in one run:
 *   1. plain `blender -b FILE -a` (one process, all cores)
 *   2. one Blender started per frame, as a farm with chunk size 1 does (as many at once as the sidecar has workers)
 *   3. the sidecar (a separate `serve` process), cold (workers start with the job) and warm (a second job)
 * It prints wall times, ratios and the time from submit to the first frame on disk.
 * Goals (2-core machine): sidecar within 1.05x of plain -a, at least 4x faster than a process per frame, first frame
 * no later than plain -a's.   Run: npm run bench:render [-- --frames 24 --size 320x240 --samples 16]
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { tempDir } from '../test/helpers/sidecar.js';
import { makeScene } from '../test/helpers/blender.js';
import { blender, firstFile, parallel, run, saveResult, seconds, sidecarProcess, table } from './lib.js';

const { values } = parseArgs({ options: { frames: { type: 'string', default: '24' }, size: { type: 'string', default: '320x240' }, samples: { type: 'string', default: '16' }, instances: { type: 'string', default: '2' } } });
const frames = Number(values.frames);
const instances = Number(values.instances);
const dir = tempDir('bench-render-');
const scene = makeScene(dir, 'bench.blend', { frames, size: values.size, samples: Number(values.samples) });
const b = blender();
console.log(`bench/render: ${frames} frames at ${values.size}, Cycles ${values.samples} samples, ${instances} sidecar workers, Blender ${b}`);

async function timed(name: string, out: string, fn: () => Promise<void>) {
  rmSync(out, { recursive: true, force: true });
  const t0 = process.hrtime.bigint();
  const stop = { stopped: false };
  const first = firstFile(out, t0, stop);
  await fn();
  const wall = seconds(t0);
  stop.stopped = true;
  const f = await first;
  console.log(`  ${name}: ${wall.toFixed(2)} s (first frame ${f?.toFixed(2) ?? '-'} s)`);
  return { wall, first: f ?? wall };
}

const plain = await timed('plain blender -a', join(dir, 'plain'), () => run(b, ['-b', scene, '-o', join(dir, 'plain', '####'), '-s', '1', '-e', String(frames), '-a']));
const perFrame = await timed(`one Blender per frame (${instances} at once)`, join(dir, 'per-frame'), () =>
  parallel(Array.from({ length: frames }, (_, i) => i + 1), instances, (f) =>
    run(b, ['-b', scene, '-t', String(Math.max(1, Math.floor(2 / instances))), '-o', join(dir, 'per-frame', '####'), '-f', String(f)]),
  ),
);
const sidecar = await sidecarProcess(join(dir, 'state'), ['--instances', String(instances)]);
const viaSidecar = async (name: string, out: string) =>
  timed(name, out, async () => {
    const { jobId } = await sidecar.client.call('render.submit', { blendFile: scene, frames: `1-${frames}`, output: `${out}/`, overwrite: true });
    const job = await sidecar.client.call('job.wait', { jobId, timeoutMs: 3_600_000 }, { timeoutMs: 3_700_000 });
    if (job.state !== 'completed') throw new Error(`sidecar job ${job.state}: ${job.error}`);
  });
const cold = await viaSidecar('sidecar, cold (workers start with the job)', join(dir, 'sidecar-cold'));
const warm = await viaSidecar('sidecar, warm (workers already running)', join(dir, 'sidecar-warm'));
await sidecar.stop();

const r = (x: number) => `${x.toFixed(2)}x`;
console.log('');
console.log(
  table([
    ['', 'wall s', 'first frame s', 'vs plain -a', 'vs per-frame'],
    ['plain blender -a', plain.wall.toFixed(2), plain.first.toFixed(2), r(1), r(plain.wall / perFrame.wall)],
    ['one Blender per frame', perFrame.wall.toFixed(2), perFrame.first.toFixed(2), r(perFrame.wall / plain.wall), r(1)],
    ['sidecar cold', cold.wall.toFixed(2), cold.first.toFixed(2), r(cold.wall / plain.wall), r(cold.wall / perFrame.wall)],
    ['sidecar warm', warm.wall.toFixed(2), warm.first.toFixed(2), r(warm.wall / plain.wall), r(warm.wall / perFrame.wall)],
  ]),
);
// A running sidecar's workers are warm (serve --warm starts them at once; they stay until --idle-retire): the goals
// are judged on that steady state. The cold row shows what the first job after a start costs when they were not.
const goals = {
  'sidecar within 1.05x of plain -a (warm)': warm.wall <= plain.wall * 1.05,
  'sidecar at least 4x faster than a process per frame (warm)': perFrame.wall / warm.wall >= 4,
  'first frame no later than plain -a (warm)': warm.first <= plain.first,
  'first frame no later than plain -a (cold)': cold.first <= plain.first,
};
console.log('');
for (const [goal, ok] of Object.entries(goals)) console.log(`  ${ok ? 'MET    ' : 'NOT MET'}  ${goal}`);
console.log(`\nresults: ${saveResult('render', { frames, size: values.size, samples: Number(values.samples), instances, plain, perFrame, cold, warm, goals })}`);
rmSync(dir, { recursive: true, force: true });
