/**
 * bench/corpus: the real-file corpus (shared/corpus: 28 .blend files saved by Blender 2.78 to 5.3) exported as GLB,
 * side by side in one run:
 *   1. one plain `blender -b FILE` per file, each on the Blender the file needs (as many at once as the sidecar has
 *      workers): what a careful user does by hand
 *   2. the sidecar (a separate `serve` process knowing every Blender given), one export.submit per file: cold, then warm
 * and the same with crashing files: a sidecar that knows only the first Blender, the newer files pinned to it anyway
 * (Blender 3.4 crashes loading 4.x files), against one plain Blender per file doing the same.
 * Goals: the sidecar never slower than one Blender per file, with or without crashing files; at least 3x faster warm.
 * Run: npm run bench:corpus [-- --blender blender --blender .ci/blender-4.3 --blender .ci/blender-5.2 --instances 2]
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { readBlendHeader } from '../sidecar/domain/blender/blend-header.js';
import { routeBlend } from '../sidecar/domain/blender/routing.js';
import { locateExplicit } from '../sidecar/domain/blender/locate.js';
import { probeVersion } from '../sidecar/domain/blender/probe.js';
import { blendVersionNumber } from '../sidecar/domain/blender/blend-header.js';
import type { SidecarClient } from '../sidecar/client/sidecar-client.js';
import { corpusDir } from '../test/helpers/corpus.js';
import { tempDir } from '../test/helpers/sidecar.js';
import { parallel, root, run, saveResult, seconds, sidecarProcess, table } from './lib.js';

const { values } = parseArgs({ options: { blender: { type: 'string', multiple: true }, instances: { type: 'string', default: '2' } } });
const instances = Number(values.instances);
const given = values.blender ?? ['blender', join(root, '.ci', 'blender-4.3'), join(root, '.ci', 'blender-5.2')];
const blenders = [];
for (const b of given) {
  try {
    const path = locateExplicit(b, '--blender').path;
    const version = await probeVersion(path);
    blenders.push({ path, source: '--blender', version, versionNumber: blendVersionNumber(version) });
  } catch (err) {
    console.log(`  (leaving out ${b}: ${(err as Error).message})`);
  }
}
if (blenders.length === 0) throw new Error('no Blender to run: pass --blender');
const dir = tempDir('bench-corpus-');
const corpus = corpusDir();
for (const name of readdirSync(corpus)) copyFileSync(join(corpus, name), join(dir, name));
const files = readdirSync(dir)
  .filter((n) => n.endsWith('.blend'))
  .sort();
console.log(
  `bench/corpus: ${files.length} files as GLB, ${instances} sidecar workers, Blenders ${blenders.map((b) => b.version).join(', ')}`,
);

/** Each file with the Blender it needs; files newer than every Blender are left out of both sides. */
const routed: Array<{ name: string; blender: string }> = [];
for (const name of files) {
  try {
    routed.push({
      name,
      blender: (await routeBlend(join(dir, name), readBlendHeader(join(dir, name)), blenders, undefined, 'blendFile')).path,
    });
  } catch (err) {
    console.log(`  (leaving out ${name}: ${(err as Error).message.split(';')[0]})`);
  }
}

async function timed(name: string, fn: () => Promise<unknown>) {
  const t0 = process.hrtime.bigint();
  const detail = await fn();
  const wall = seconds(t0);
  console.log(`  ${name}: ${wall.toFixed(2)} s${detail ? ` (${detail})` : ''}`);
  return wall;
}

/** One plain Blender per file; a crash counts as done (the user sees it fail), as it does for the sidecar. */
function perFile(list: Array<{ name: string; blender: string }>, out: string) {
  mkdirSync(out, { recursive: true });
  let failed = 0;
  return parallel(list, instances, async ({ name, blender }) => {
    const expr = `import bpy; bpy.ops.export_scene.gltf(filepath=${JSON.stringify(join(out, `${name}.glb`))}, export_format='GLB')`;
    await run(blender, ['-b', '--factory-startup', join(dir, name), '--python-exit-code', '1', '--python-expr', expr]).catch(
      () => (failed += 1),
    );
  }).then(() => `${failed} failed`);
}

async function throughSidecar(client: SidecarClient, list: Array<{ name: string; blender?: string }>, out: string) {
  mkdirSync(out, { recursive: true });
  const ids = [];
  for (const { name, blender } of list) {
    ids.push(
      (
        await client.call('export.submit', {
          blendFile: join(dir, name),
          format: 'glb',
          output: join(out, `${name}.glb`),
          ...(blender ? { blender } : {}),
        })
      ).jobId,
    );
  }
  let failed = 0;
  for (const jobId of ids)
    if ((await client.call('job.wait', { jobId, timeoutMs: 3_600_000 }, { timeoutMs: 3_700_000 })).state !== 'completed') failed += 1;
  return `${failed} failed`;
}

const plain = await timed('one Blender per file, each on its Blender', () => perFile(routed, join(dir, 'plain')));
const all = await sidecarProcess(join(dir, 'state'), ['--instances', String(instances), ...blenders.flatMap((b) => ['--blender', b.path])]);
const cold = await timed('sidecar, cold', () => throughSidecar(all.client, routed, join(dir, 'cold')));
const warm = await timed('sidecar, warm', () => throughSidecar(all.client, routed, join(dir, 'warm')));
await all.stop();

// With crashing files: only the oldest Blender, every file pinned to it (the newer ones crash it or are refused by it).
const oldest = blenders.slice().sort((a, b) => a.versionNumber! - b.versionNumber!)[0]!;
const onOldest = files.filter((n) => readBlendHeader(join(dir, n)).versionNumber! <= 500).map((name) => ({ name, blender: oldest.path }));
const plainCrash = await timed(`one Blender ${oldest.version} per file, crashing files included`, () =>
  perFile(onOldest, join(dir, 'plain-crash')),
);
const one = await sidecarProcess(join(dir, 'state-one'), ['--instances', String(instances), '--blender', oldest.path]);
const pin = oldest.version.split('.').slice(0, 2).join('.');
const crashCold = await timed('sidecar, crashing files included, cold', () =>
  throughSidecar(
    one.client,
    onOldest.map((f) => ({ name: f.name, blender: pin })),
    join(dir, 'crash-cold'),
  ),
);
const crashWarm = await timed('sidecar, crashing files included, warm', () =>
  throughSidecar(
    one.client,
    onOldest.map((f) => ({ name: f.name, blender: pin })),
    join(dir, 'crash-warm'),
  ),
);
await one.stop();

const r = (x: number) => `${x.toFixed(2)}x`;
console.log('');
console.log(
  table([
    ['', 'wall s', 'per-file / this'],
    ['one Blender per file', plain.toFixed(2), r(1)],
    ['sidecar cold', cold.toFixed(2), r(plain / cold)],
    ['sidecar warm', warm.toFixed(2), r(plain / warm)],
    ['crashing files: one Blender per file', plainCrash.toFixed(2), r(1)],
    ['crashing files: sidecar cold', crashCold.toFixed(2), r(plainCrash / crashCold)],
    ['crashing files: sidecar warm', crashWarm.toFixed(2), r(plainCrash / crashWarm)],
  ]),
);
const goals = {
  'sidecar never slower than one Blender per file (cold)': cold <= plain,
  'sidecar never slower than one Blender per file with crashing files (cold)': crashCold <= plainCrash,
  'sidecar at least 3x faster than one Blender per file (warm)': plain / warm >= 3,
};
console.log('');
for (const [goal, ok] of Object.entries(goals)) console.log(`  ${ok ? 'MET    ' : 'NOT MET'}  ${goal}`);
console.log(
  `\nresults: ${saveResult('corpus', { files: routed.length, instances, blenders: blenders.map((b) => b.version), plain, cold, warm, plainCrash, crashCold, crashWarm, goals })}`,
);
if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
