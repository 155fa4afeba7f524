import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { RpcCallError } from '../../sidecar/client/errors.js';
import type { SidecarClient } from '../../sidecar/client/sidecar-client.js';
import { bakeByHand, makeBakeScene } from '../helpers/bake.js';
import { pixels } from '../helpers/images.js';
import { tempDir, testSidecar, type TestSidecar } from '../helpers/sidecar.js';

/** Mean and largest difference of the RGB channels of two PNGs of the same size (0-255). */
function difference(a: string, b: string): { mean: number; max: number } {
  const pa = pixels(a);
  const pb = pixels(b);
  assert.deepEqual([pa.width, pa.height], [pb.width, pb.height]);
  let sum = 0;
  let max = 0;
  let n = 0;
  for (let i = 0; i < pa.data.length; i += 4) {
    for (let c = 0; c < 3; c++) {
      const d = Math.abs(pa.data[i + c]! - pb.data[i + c]!);
      sum += d;
      max = Math.max(max, d);
      n += 1;
    }
  }
  return { mean: sum / n, max };
}

/** How many distinct RGB colours an image holds: a real map has many, a flat fill one. */
function colours(path: string): number {
  const { data } = pixels(path);
  const seen = new Set<number>();
  for (let i = 0; i < data.length; i += 4) seen.add((data[i]! << 16) | (data[i + 1]! << 8) | data[i + 2]!);
  return seen.size;
}

describe('bake.submit on real Blender', () => {
  let sidecar: TestSidecar;
  let client: SidecarClient;
  let dir: string;
  let asset: string;
  const wait = async (jobId: string) => client.call('job.wait', { jobId, timeoutMs: 180_000 }, { timeoutMs: 190_000 });

  before(async () => {
    dir = tempDir('bake-');
    asset = makeBakeScene(dir);
    sidecar = await testSidecar({ instances: 2 });
    client = await sidecar.client();
  });
  after(() => sidecar.stop());

  it('lists the bake types of the installed Blender in sidecar.info', async () => {
    const info = await client.call('sidecar.info', {});
    for (const t of ['normal', 'ao', 'diffuse', 'roughness', 'emit', 'combined'])
      assert.ok(info.bakeTypes.includes(t), `${t} in ${info.bakeTypes}`);
    assert.ok(info.capabilities.includes('bake'));
    // Per installed Blender too, once it has been probed.
    const probed = await client.call('sidecar.info', { probe: true });
    assert.ok(probed.blenders.length >= 1);
    for (const b of probed.blenders) assert.ok(b.bakeTypes?.includes('normal'), `${b.path}: ${b.bakeTypes}`);
  });

  it('bakes a high-poly/low-poly pair to normal and AO maps that match the same bake done by hand in plain Blender', async (t) => {
    const before = readFileSync(asset);
    const out = join(dir, 'maps');
    const { jobId, maps } = await client.call('bake.submit', {
      blendFile: asset,
      objects: ['Low'],
      selectedToActive: { sources: ['High'], extrusion: 0.3 },
      maps: [{ type: 'normal' }, { type: 'ao' }],
      size: 64,
      margin: 4,
      samples: 4,
      output: `${out}/`,
    });
    assert.equal(maps, 2);
    const job = await wait(jobId);
    assert.equal(job.state, 'completed', job.error);
    assert.match(job.blender?.version ?? '', /^\d+\.\d+/, 'the job shows the Blender that baked it');
    assert.deepEqual(readdirSync(out).sort(), ['Low_ao.png', 'Low_normal.png'], 'the maps and nothing else (no staging folder left)');
    const result = job.units[0]!.result as { maps: Array<{ type: string; width: number; coverage: number }> };
    assert.deepEqual(
      result.maps.map((m) => [m.type, m.width]),
      [
        ['normal', 64],
        ['ao', 64],
      ],
    );
    assert.ok(
      result.maps.every((m) => m.coverage > 0.3),
      'most of the image was baked',
    );
    assert.ok(readFileSync(asset).equals(before), "the artist's file is not changed by the worker");

    for (const type of ['normal', 'ao']) {
      const byHand = join(dir, `by-hand-${type}.png`);
      bakeByHand(asset, { target: 'Low', source: 'High', type, size: 64, margin: 4, extrusion: 0.3, samples: 4, out: byHand });
      const d = difference(join(out, `Low_${type}.png`), byHand);
      t.diagnostic(`${type}: mean difference ${d.mean.toFixed(3)}, largest ${d.max} (of 255) from the bake by hand`);
      assert.ok(d.mean < 1, `${type}: mean difference ${d.mean.toFixed(3)} of 255 from the bake done by hand`);
      assert.ok(colours(byHand) > 20, `${type}: the reference holds a real map, not a flat colour`);
    }
    // The studs on High's top face show in the normal map: more than the flat blue of a plain cube.
    assert.ok(colours(join(out, 'Low_normal.png')) > 20);
  });

  it('bakes a collection as one job, one unit per object, spread over two workers', async () => {
    const out = join(dir, 'batch');
    const { jobId } = await client.call('bake.submit', {
      blendFile: asset,
      collection: 'Crates',
      maps: [{ type: 'diffuse' }, { type: 'roughness', size: 32 }, { type: 'normal', output: `${out}/{object}/{map}.exr` }],
      size: 64,
      samples: 1,
      output: `${out}/{object}/{map}.png`,
    });
    const job = await wait(jobId);
    assert.equal(job.state, 'completed', job.error);
    assert.deepEqual((job.result!.maps as Array<{ object: string; type: string }>).map((m) => `${m.object}/${m.type}`).sort(), [
      'CrateA/diffuse',
      'CrateA/normal',
      'CrateA/roughness',
      'CrateB/diffuse',
      'CrateB/normal',
      'CrateB/roughness',
    ]);
    const exr = (job.units[0]!.result as { maps: Array<{ type: string; output: string; width: number }> }).maps.find(
      (m) => m.type === 'normal',
    )!;
    assert.match(exr.output, /normal\.exr$/);
    assert.equal(exr.width, 64, 'an OpenEXR map, checked like the PNGs');
    assert.equal(readFileSync(exr.output).readUInt32LE(0), 20000630, 'OpenEXR magic number');
    assert.equal(pixels(join(out, 'CrateB', 'roughness.png')).width, 32, 'a map keeps its own size');
    const workers = new Set(job.units.map((u) => u.attempts.at(-1)!.worker));
    assert.equal(workers.size, 2, `both workers baked (${[...workers].join(', ')})`);
    // CrateA is red and CrateB blue: each diffuse map is its own object's colour.
    const red = pixels(join(out, 'CrateA', 'diffuse.png')).data;
    const blue = pixels(join(out, 'CrateB', 'diffuse.png')).data;
    const centre = (32 * 64 + 32) * 4;
    assert.ok(red[centre]! > red[centre + 2]!, 'CrateA diffuse is red');
    assert.ok(blue[centre + 2]! > blue[centre]!, 'CrateB diffuse is blue');
  });

  it('bakes an object whose material slots are partly empty, every face of it', async () => {
    const out = join(dir, 'patchy');
    // Margin 0: the coverage is the UV islands' share exactly (a cube's six faces: 0.375 of the image).
    const { jobId } = await client.call('bake.submit', {
      blendFile: asset,
      objects: ['Patchy', 'CrateA'],
      maps: [{ type: 'diffuse' }],
      size: 32,
      margin: 0,
      samples: 1,
      output: `${out}/`,
    });
    const job = await wait(jobId);
    assert.equal(job.state, 'completed', job.error);
    const [patchy, whole] = job.units.map((u) => (u.result as { maps: Array<{ coverage: number }> }).maps[0]!.coverage);
    assert.equal(
      patchy,
      whole,
      'the faces of the empty slot were baked too: as much of the image as a cube whose faces all have a material',
    );
  });

  it('fails a map the bake wrote nothing into (the rays never reach the source), saying what to check', async () => {
    const out = join(dir, 'blank');
    const { jobId } = await client.call('bake.submit', {
      blendFile: asset,
      objects: ['Low'],
      selectedToActive: { sources: ['CrateB'], extrusion: 0.01, maxRayDistance: 0.05 },
      maps: [{ type: 'normal' }],
      size: 32,
      samples: 1,
      output: `${out}/`,
    });
    const job = await wait(jobId);
    assert.equal(job.state, 'failed');
    assert.match(job.error ?? '', /the normal map of Low is blank: the bake wrote no pixel .*raise extrusion or maxRayDistance/);
    assert.deepEqual(readdirSync(out), [], 'no blank map in place, no staging folder left');
  });

  it('refuses a bake type the Blender does not offer, in a sentence that lists the offered ones', async () => {
    await assert.rejects(
      client.call('bake.submit', { blendFile: asset, objects: ['Low'], maps: [{ type: 'curvature' }], output: `${dir}/x/` }),
      (err: unknown) => {
        assert.ok(err instanceof RpcCallError);
        assert.equal(err.code, -32602);
        assert.match(err.message, /maps\[0\]\.type: "curvature" is not a bake type this Blender offers; it offers: .*\bao\b.*\bnormal\b/);
        return true;
      },
    );
  });

  it('refuses outputs that would collide, naming the missing placeholder', async () => {
    await assert.rejects(
      client.call('bake.submit', {
        blendFile: asset,
        objects: ['CrateA', 'CrateB'],
        maps: [{ type: 'normal' }],
        output: `${dir}/same.png`,
      }),
      /has no \{object\}/,
    );
    await assert.rejects(
      client.call('bake.submit', {
        blendFile: asset,
        objects: ['CrateA'],
        maps: [{ type: 'normal' }, { type: 'ao' }],
        output: `${dir}/{object}.png`,
      }),
      /put \{map\} in the name/,
    );
  });

  it('fails a job whose target has no UV map with a sentence naming the object, and bakes nothing', async () => {
    const out = join(dir, 'nouv');
    const { jobId } = await client.call('bake.submit', {
      blendFile: asset,
      objects: ['CrateA', 'NoUV'],
      maps: [{ type: 'normal' }],
      size: 32,
      output: `${out}/`,
    });
    const job = await wait(jobId);
    assert.equal(job.state, 'failed');
    assert.match(job.error ?? '', /'NoUV' has no UV map: unwrap it/);
    assert.throws(() => readdirSync(out), 'nothing was written');
  });
});
