import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RpcCallError } from '../../sidecar/client/errors.js';
import type { SidecarClient } from '../../sidecar/client/sidecar-client.js';
import { makeScene } from '../helpers/blender.js';
import { tempDir, testSidecar, type TestSidecar } from '../helpers/sidecar.js';

describe('jobs that name a Geometry Nodes sync channel', () => {
  let sidecar: TestSidecar;
  let client: SidecarClient;
  let dir: string;
  let scene: string;
  const key = { object: 'Grid', modifier: 'GeometryNodes', input: 'Count' };
  before(async () => {
    dir = tempDir('gn-jobs-');
    scene = makeScene(dir, 'gn.blend', { gn: true, frames: 2 });
    sidecar = await testSidecar({ instances: 1 });
    client = await sidecar.client();
  });
  after(() => sidecar.stop());

  it("exports with the channel's values applied in the worker, and records the revision it used", async () => {
    const { jobId: before } = await client.call('export.submit', {
      blendFile: scene,
      format: 'glb',
      output: join(dir, 'before.glb'),
      scope: { objects: ['Grid'] },
      applyModifiers: true,
    });
    const plain = await client.call('job.wait', { jobId: before });
    assert.equal(plain.state, 'completed', plain.error);
    // The file's default: a 3x3 grid of cubes, 12 triangles each.
    assert.equal((plain.units[0]!.result as any).gltf.triangles, 9 * 12);

    const { revision } = await client.call('gn.set', { channel: 'shot010', key, type: 'int', value: 5, baseRevision: 0 });
    const { jobId } = await client.call('export.submit', {
      blendFile: scene,
      format: 'glb',
      output: join(dir, 'synced.glb'),
      scope: { objects: ['Grid'] },
      applyModifiers: true,
      gn: { channel: 'shot010' },
    });
    const job = await client.call('job.wait', { jobId });
    assert.equal(job.state, 'completed', job.error);
    assert.equal((job.units[0]!.result as any).gltf.triangles, 25 * 12, 'Count 5 from the channel: a 5x5 grid');
    assert.deepEqual(job.params.gn, { channel: 'shot010', revision });
  });

  it('refuses a stale revision, and a job whose channel names an input the file lacks fails saying so', async () => {
    await assert.rejects(
      client.call('render.submit', { blendFile: scene, output: `${join(dir, 'r')}/`, gn: { channel: 'shot010', revision: 0 } }),
      (e: RpcCallError) => e.code === -32602 && /is at revision 1, not 0/.test(e.message),
    );
    const cur = await client.call('gn.get', { channel: 'bad' });
    await client.call('gn.set', { channel: 'bad', key: { ...key, input: 'Nope' }, type: 'int', value: 1, baseRevision: cur.revision });
    const { jobId } = await client.call('render.submit', {
      blendFile: scene,
      frames: '1',
      output: `${join(dir, 'bad')}/`,
      gn: { channel: 'bad' },
    });
    const job = await client.call('job.wait', { jobId });
    assert.equal(job.state, 'failed');
    assert.match(job.error!, /modifier 'GeometryNodes' has no input named 'Nope'; its inputs: Count, Spacing, Cube Size/);
  });

  it("takes writes without a type: a new entry's type comes from the value, an existing one keeps its own", async () => {
    const at = (input: string) => ({ ...key, input });
    let { revision } = await client.call('gn.get', { channel: 'untyped' });
    // New entries: 4 is an int, 2 (on a float socket) an int too: the worker converts it for the socket.
    ({ revision } = await client.call('gn.setMany', {
      channel: 'untyped',
      changes: [
        { key: at('Count'), value: 4 },
        { key: at('Spacing'), value: 2 },
      ],
      baseRevision: revision,
    }));
    const held = await client.call('gn.get', { channel: 'untyped' });
    assert.deepEqual(
      held.entries.map((e) => [e.key.input, e.type, e.value]),
      [
        ['Count', 'int', 4],
        ['Spacing', 'int', 2],
      ],
    );
    // An existing entry keeps its type; a value that does not fit it is refused naming both.
    ({ revision } = await client.call('gn.set', { channel: 'untyped', key: at('Count'), value: 5, baseRevision: revision }));
    await assert.rejects(
      client.call('gn.set', { channel: 'untyped', key: at('Count'), value: 2.5, baseRevision: revision }),
      (e: RpcCallError) =>
        e.code === -32602 && /value/.test(e.message) && /2\.5 does not fit .*"Count", which holds int values/.test(e.message),
    );
    // A fraction on a new entry makes a float entry.
    ({ revision } = await client.call('gn.set', { channel: 'untyped', key: at('Cube Size'), value: 0.25, baseRevision: revision }));
    assert.equal((await client.call('gn.get', { channel: 'untyped' })).entries.at(-1)!.type, 'float');

    const output = join(dir, 'untyped.glb');
    const { jobId } = await client.call('export.submit', {
      blendFile: scene,
      format: 'glb',
      output,
      scope: { objects: ['Grid'] },
      applyModifiers: true,
      gn: { channel: 'untyped' },
    });
    const job = await client.call('job.wait', { jobId });
    assert.equal(job.state, 'completed', job.error);
    assert.equal((job.units[0]!.result as any).gltf.triangles, 25 * 12, 'Count 5: a 5x5 grid');
    // Spacing 2 (an int entry on a float socket) makes the grid 2 wide; cubes of 0.25 reach 0.125 past it.
    const [min, max] = positionBounds(output);
    assert.ok(Math.abs(max[0]! - 1.125) < 1e-4 && Math.abs(min[0]! + 1.125) < 1e-4, `x from ${min[0]} to ${max[0]}`);
  });
});

/** The x/y/z extent of a GLB's meshes, from its POSITION accessors' min and max (written by every exporter). */
function positionBounds(glb: string): [number[], number[]] {
  const bytes = readFileSync(glb);
  const json = JSON.parse(bytes.subarray(20, 20 + bytes.readUInt32LE(12)).toString('utf8'));
  const min = [Infinity, Infinity, Infinity];
  const max = [-Infinity, -Infinity, -Infinity];
  for (const mesh of json.meshes) {
    for (const p of mesh.primitives) {
      const a = json.accessors[p.attributes.POSITION];
      for (let i = 0; i < 3; i++) {
        min[i] = Math.min(min[i]!, a.min[i]);
        max[i] = Math.max(max[i]!, a.max[i]);
      }
    }
  }
  return [min, max];
}
