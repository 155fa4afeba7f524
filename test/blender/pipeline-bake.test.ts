import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { SidecarClient } from '../../sidecar/client/sidecar-client.js';
import { makeBakeScene } from '../helpers/bake.js';
import { validateGltf } from '../helpers/gltf-validator.js';
import { pixels } from '../helpers/images.js';
import { tempDir, testSidecar, type TestSidecar } from '../helpers/sidecar.js';

/** The JSON chunk of a .glb. */
function glbJson(path: string): Record<string, any> {
  const data = readFileSync(path);
  assert.equal(data.toString('latin1', 0, 4), 'glTF');
  const length = data.readUInt32LE(12);
  return JSON.parse(data.toString('utf8', 20, 20 + length));
}

const link = (from: string, to: string, socket = 'objects') => ({ from: { node: from, socket }, to: { node: to, socket } });

describe('a pipeline with a Bake node on real Blender (high-to-low-poly game asset: bake, then export)', () => {
  let sidecar: TestSidecar;
  let client: SidecarClient;
  let dir: string;
  let asset: string;

  before(async () => {
    dir = tempDir('pipeline-bake-');
    asset = makeBakeScene(dir);
    sidecar = await testSidecar({ instances: 2 });
    client = await sidecar.client();
  });
  after(() => sidecar.stop());

  it('bakes normal and AO from the high poly onto the low poly, and the exported GLB carries the maps', async () => {
    const graph = {
      version: 1,
      name: 'Baked asset',
      nodes: [
        { id: 'source', type: 'source', name: 'Low poly', settings: { mode: 'objects', objects: ['Low'] } },
        {
          id: 'bake',
          type: 'bake',
          name: 'Bake',
          settings: {
            maps: ['normal', 'ao'],
            output: '//maps/{name}/',
            size: 64,
            margin: 4,
            samples: 2,
            sources: ['High'],
            extrusion: 0.3,
          },
        },
        { id: 'export', type: 'export', name: 'Export GLB', settings: { format: 'glb', output: '//export/{name}.glb' } },
        { id: 'report', type: 'report', name: 'Report', settings: {} },
      ],
      links: [link('source', 'bake'), link('bake', 'export'), link('export', 'report', 'files')],
    };
    const { jobId } = await client.call('pipeline.submit', { graph, blendFile: asset });
    const job = await client.call('job.wait', { jobId, timeoutMs: 180_000 }, { timeoutMs: 190_000 });
    assert.equal(job.state, 'completed', job.error);
    for (const map of ['normal', 'ao']) {
      const path = join(dir, 'maps', 'Low', `Low_${map}.png`);
      assert.ok(existsSync(path), `${path} was baked`);
      assert.equal(pixels(path).width, 64);
    }
    const glb = join(dir, 'export', 'Low.glb');
    const report = await validateGltf(glb);
    assert.equal(report.errors, 0, report.messages.join('\n'));
    const json = glbJson(glb);
    assert.deepEqual(json.meshes.length, 1, 'only the low poly is exported');
    assert.ok(json.materials[0].normalTexture, "the baked normal map is the material's normal texture");
    assert.ok((json.images ?? []).length >= 1, 'the GLB embeds the baked image');
  });

  it('fails the Bake node with a sentence when a target has no UV map', async () => {
    const graph = {
      version: 1,
      name: 'No UVs',
      nodes: [
        { id: 'source', type: 'source', name: 'Bare', settings: { mode: 'objects', objects: ['NoUV'] } },
        { id: 'bake', type: 'bake', name: 'Bake', settings: { maps: ['ao'], output: '//nouv/', size: 16 } },
        { id: 'export', type: 'export', name: 'Export', settings: { format: 'glb', output: '//nouv/{name}.glb' } },
      ],
      links: [link('source', 'bake'), link('bake', 'export')],
    };
    const { jobId } = await client.call('pipeline.submit', { graph, blendFile: asset });
    const job = await client.call('job.wait', { jobId, timeoutMs: 120_000 }, { timeoutMs: 130_000 });
    assert.equal(job.state, 'failed');
    const bake = job.units.find((u) => u.node === 'bake')!;
    assert.match(bake.error ?? '', /'NoUV' has no UV map/);
    assert.equal(job.units.find((u) => u.node === 'export')!.state, 'skipped', 'the export after it does not run');
  });
});
