/**
 * bench/bake: a set of texture maps (a high-to-low-poly pair's normal and AO, and two props' diffuse and roughness)
 * baked three ways, side by side in one run:
 *   1. in the artist's own Blender, one bake after the other (the time its interface is frozen: the bakes themselves)
 *   2. one plain `blender -b` per map (as many at once as the sidecar has workers)
 *   3. through the sidecar (a separate `serve` process): two bake.submit jobs at once; cold, then warm. The artist's
 *      interface is held only while the request is sent (measured as the submit call).
 * Run: npm run bench:bake [-- --size 256 --samples 8 --instances 2]
 */
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { makeBakeScene } from '../test/helpers/bake.js';
import { tempDir } from '../test/helpers/sidecar.js';
import { blender, parallel, root, saveResult, seconds, sidecarProcess, table } from './lib.js';

const { values } = parseArgs({
  options: {
    size: { type: 'string', default: '256' },
    samples: { type: 'string', default: '8' },
    instances: { type: 'string', default: '2' },
  },
});
const size = Number(values.size);
const samples = Number(values.samples);
const instances = Number(values.instances);
const dir = tempDir('bench-bake-');
const b = blender();
const asset = makeBakeScene(dir, b);
const loop = join(root, 'bench', 'fixtures', 'bake_loop.py');
/** target, source, maps */
const SET: Array<[string, string, string[]]> = [
  ['Low', 'High', ['normal', 'ao']],
  ['CrateA', '', ['diffuse', 'roughness']],
  ['CrateB', '', ['diffuse', 'roughness']],
];
const mapCount = SET.reduce((n, [, , maps]) => n + maps.length, 0);
console.log(`bench/bake: ${mapCount} maps of ${SET.length} objects at ${size} px, ${samples} samples, ${instances} workers, Blender ${b}`);

/** Runs bake_loop.py; resolves with the seconds its bakes took (what the process printed). */
function bakeLoop(out: string, specs: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const p = spawn(b, ['-b', asset, '--python-exit-code', '1', '--python', loop, '--', out, String(size), String(samples), ...specs], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let stdout = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.once('exit', (code) => {
      const m = /BAKE_SECONDS (\S+)/.exec(stdout);
      if (code !== 0 || !m) reject(new Error(`bake_loop.py exited ${code}`));
      else resolve(Number(m[1]));
    });
  });
}

async function timed<T>(name: string, fn: () => Promise<T>): Promise<[number, T]> {
  const t0 = process.hrtime.bigint();
  const value = await fn();
  const wall = seconds(t0);
  console.log(`  ${name}: ${wall.toFixed(2)} s`);
  return [wall, value];
}

const [ownWall, frozen] = await timed("the artist's own Blender, one bake after the other", () =>
  bakeLoop(
    join(dir, 'own'),
    SET.map(([t, s, maps]) => `${t}:${s}:${maps.join(',')}`),
  ),
);
const perMap = SET.flatMap(([t, s, maps]) => maps.map((m) => `${t}:${s}:${m}`));
const [perMapWall] = await timed(`one plain Blender per map (${instances} at once)`, () =>
  parallel(perMap, instances, async (spec) => void (await bakeLoop(join(dir, 'per-map'), [spec]))),
);

const sidecar = await sidecarProcess(join(dir, 'state'), ['--instances', String(instances)]);
const viaSidecar = (out: string) => async (): Promise<number> => {
  const t0 = process.hrtime.bigint();
  const jobs = await Promise.all([
    sidecar.client.call('bake.submit', {
      blendFile: asset,
      objects: ['Low'],
      selectedToActive: { sources: ['High'], extrusion: 0.3 },
      maps: [{ type: 'normal' }, { type: 'ao' }],
      size,
      samples,
      output: `${out}/`,
    }),
    sidecar.client.call('bake.submit', {
      blendFile: asset,
      objects: ['CrateA', 'CrateB'],
      maps: [{ type: 'diffuse' }, { type: 'roughness' }],
      size,
      samples,
      output: `${out}/`,
    }),
  ]);
  const submitted = seconds(t0);
  for (const { jobId } of jobs) {
    const job = await sidecar.client.call('job.wait', { jobId, timeoutMs: 3_600_000 }, { timeoutMs: 3_700_000 });
    if (job.state !== 'completed') throw new Error(`sidecar job ${job.state}: ${job.error}`);
  }
  return submitted;
};
const [cold, coldSubmit] = await timed('sidecar, cold', viaSidecar(join(dir, 'cold')));
const [warm, warmSubmit] = await timed('sidecar, warm', viaSidecar(join(dir, 'warm')));
await sidecar.stop();

console.log('');
console.log(
  table([
    ['', 'wall s', "artist's UI frozen s"],
    ["artist's own Blender", ownWall.toFixed(2), frozen.toFixed(2)],
    ['one plain Blender per map', perMapWall.toFixed(2), '-'],
    ['sidecar cold', cold.toFixed(2), coldSubmit.toFixed(3)],
    ['sidecar warm', warm.toFixed(2), warmSubmit.toFixed(3)],
  ]),
);
console.log(
  `\n(the sidecar's "frozen" column is the two submit calls; a cold sidecar asks Blender for its bake types first; the add-on's own click cost is in bench:addon)`,
);
console.log(
  `results: ${saveResult('bake', { size, samples, instances, maps: mapCount, ownWall, frozen, perMapWall, cold, warm, coldSubmit, warmSubmit })}`,
);
rmSync(dir, { recursive: true, force: true });
