import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { RpcCallError } from '../../sidecar/client/errors.js';
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

  it('exports with the channel\'s values applied in the worker, and records the revision it used', async () => {
    const { jobId: before } = await client.call('export.submit', { blendFile: scene, format: 'glb', output: join(dir, 'before.glb'), scope: { objects: ['Grid'] }, applyModifiers: true });
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
      client.call('render.submit', { blendFile: scene, output: join(dir, 'r') + '/', gn: { channel: 'shot010', revision: 0 } }),
      (e: RpcCallError) => e.code === -32602 && /is at revision 1, not 0/.test(e.message),
    );
    const cur = await client.call('gn.get', { channel: 'bad' });
    await client.call('gn.set', { channel: 'bad', key: { ...key, input: 'Nope' }, type: 'int', value: 1, baseRevision: cur.revision });
    const { jobId } = await client.call('render.submit', { blendFile: scene, frames: '1', output: join(dir, 'bad') + '/', gn: { channel: 'bad' } });
    const job = await client.call('job.wait', { jobId });
    assert.equal(job.state, 'failed');
    assert.match(job.error!, /modifier 'GeometryNodes' has no input named 'Nope'; its inputs: Count, Spacing, Cube Size/);
  });
});
