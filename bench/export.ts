/**
 * bench/export: a batch export of 50 small assets (one collection each, GLB), side by side in one run:
 *   1. one `blender -b` process per asset (as many at once as the sidecar has workers)
 *   2. one Blender exporting all 50 in a Python loop
 *   3. the sidecar's export.batch (a separate `serve` process; cold, then warm)
 * Goals: at least 10x faster than a process per asset, within 1.3x of the single in-process loop.
 * Run: npm run bench:export [-- --assets 50]
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { tempDir } from '../test/helpers/sidecar.js';
import { blender, parallel, root, run, saveResult, seconds, sidecarProcess, table } from './lib.js';

const { values } = parseArgs({ options: { assets: { type: 'string', default: '50' }, instances: { type: 'string', default: '2' } } });
const assets = Number(values.assets);
const instances = Number(values.instances);
const dir = tempDir('bench-export-');
const b = blender();
const fixtures = join(root, 'bench', 'fixtures');
const scene = join(dir, 'assets.blend');
await run(b, [
  '-b',
  '--factory-startup',
  '--python-exit-code',
  '1',
  '--python',
  join(fixtures, 'assets_scene.py'),
  '--',
  scene,
  String(assets),
]);
const names = Array.from({ length: assets }, (_, i) => `Asset${String(i).padStart(3, '0')}`);
console.log(`bench/export: ${assets} assets as GLB, ${instances} sidecar workers, Blender ${b}`);

async function timed(name: string, fn: () => Promise<void>) {
  const t0 = process.hrtime.bigint();
  await fn();
  const wall = seconds(t0);
  console.log(`  ${name}: ${wall.toFixed(2)} s`);
  return wall;
}

const loop = join(fixtures, 'export_loop.py');
const perAsset = await timed(`one Blender per asset (${instances} at once)`, () =>
  parallel(names, instances, (n) => run(b, ['-b', scene, '--python-exit-code', '1', '--python', loop, '--', join(dir, 'per-asset'), n])),
);
const inProcess = await timed('one Blender, a Python loop', () =>
  run(b, ['-b', scene, '--python-exit-code', '1', '--python', loop, '--', join(dir, 'loop')]),
);
const sidecar = await sidecarProcess(join(dir, 'state'), ['--instances', String(instances)]);
const batch = (out: string) => async () => {
  const { jobId } = await sidecar.client.call('export.batch', {
    blendFile: scene,
    items: names.map((n) => ({ collection: n, format: 'glb', output: `${out}/` })),
  });
  const job = await sidecar.client.call('job.wait', { jobId, timeoutMs: 3_600_000 }, { timeoutMs: 3_700_000 });
  if (job.state !== 'completed') throw new Error(`sidecar job ${job.state}: ${job.error}`);
};
const cold = await timed('sidecar export.batch, cold', batch(join(dir, 'cold')));
const warm = await timed('sidecar export.batch, warm', batch(join(dir, 'warm')));
await sidecar.stop();

const r = (x: number) => `${x.toFixed(2)}x`;
console.log('');
console.log(
  table([
    ['', 'wall s', 'per-asset / this', 'this / loop'],
    ['one Blender per asset', perAsset.toFixed(2), r(1), r(perAsset / inProcess)],
    ['one Blender, Python loop', inProcess.toFixed(2), r(perAsset / inProcess), r(1)],
    ['sidecar cold', cold.toFixed(2), r(perAsset / cold), r(cold / inProcess)],
    ['sidecar warm', warm.toFixed(2), r(perAsset / warm), r(warm / inProcess)],
  ]),
);
// Judged on the warm run, as for renders: a running sidecar's workers are already up.
const goals = {
  'sidecar at least 10x faster than a process per asset (warm)': perAsset / warm >= 10,
  'sidecar within 1.3x of the in-process loop (warm)': warm <= inProcess * 1.3,
};
console.log('');
for (const [goal, ok] of Object.entries(goals)) console.log(`  ${ok ? 'MET    ' : 'NOT MET'}  ${goal}`);
console.log(`\nresults: ${saveResult('export', { assets, instances, perAsset, inProcess, cold, warm, goals })}`);
rmSync(dir, { recursive: true, force: true });
