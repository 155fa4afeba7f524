import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { RpcCallError } from '../../sidecar/client/errors.js';
import type { SidecarClient } from '../../sidecar/client/sidecar-client.js';
import { blenderPath, makeScene } from '../helpers/blender.js';
import { validateGltf } from '../helpers/gltf-validator.js';
import { tempDir, testSidecar, type TestSidecar } from '../helpers/sidecar.js';

const reimportScript = fileURLToPath(new URL('../fixtures/reimport.py', import.meta.url));

/** What Blender finds in an exported file when it imports it again: mesh objects and their vertex counts. */
function reimport(path: string): Record<string, number> {
  const r = spawnSync(blenderPath(), ['-b', '--factory-startup', '--python-exit-code', '1', '--python', reimportScript, '--', path], {
    encoding: 'utf8',
  });
  const line = r.stdout.split('\n').find((l) => l.startsWith('REIMPORT '));
  assert.ok(line, `re-import failed: ${r.stdout}\n${r.stderr}`);
  return JSON.parse(line.slice(9)).objects;
}

describe('export.submit and export.batch on real Blender', () => {
  let sidecar: TestSidecar;
  let client: SidecarClient;
  let dir: string;
  let props: string;
  const wait = async (jobId: string) => client.call('job.wait', { jobId, timeoutMs: 120_000 }, { timeoutMs: 130_000 });

  before(async () => {
    dir = tempDir('export-');
    props = makeScene(dir, 'props.blend', { collections: true });
    sidecar = await testSidecar({ instances: 2 });
    client = await sidecar.client();
  });
  after(() => sidecar.stop());

  it('writes a GLB that passes the Khronos glTF Validator and reports its meshes, triangles and materials', async () => {
    const out = join(dir, 'glb', 'props.glb');
    const { jobId } = await client.call('export.submit', { blendFile: props, format: 'glb', output: out, scope: { collection: 'Props' } });
    const job = await wait(jobId);
    assert.equal(job.state, 'completed', job.error);
    const report = await validateGltf(out);
    assert.equal(report.errors, 0, report.messages.join('\n'));
    const result = job.units[0]!.result as any;
    assert.equal(result.gltf.meshes, 1);
    assert.equal(result.gltf.materials, 1);
    assert.equal(result.gltf.triangles, result.counted.triangles, 'the GLB holds what Blender counted');
    assert.equal(result.bytes, statSync(out).size);
    assert.deepEqual(readdirSync(join(dir, 'glb')), ['props.glb'], 'no staging folder left behind');
  });

  it('writes FBX and OBJ that re-import into Blender with the exported objects and vertex counts', async () => {
    const fbx = join(dir, 'fbx', 'rocks.fbx');
    const obj = join(dir, 'obj', 'trees.obj');
    const a = await client.call('export.submit', { blendFile: props, format: 'fbx', output: fbx, scope: { objects: ['RocksMesh'] } });
    const b = await client.call('export.submit', { blendFile: props, format: 'obj', output: obj, scope: { collection: 'Trees' } });
    const [ja, jb] = [await wait(a.jobId), await wait(b.jobId)];
    assert.equal(ja.state, 'completed', ja.error);
    assert.equal(jb.state, 'completed', jb.error);
    const fromFbx = reimport(fbx);
    assert.deepEqual(Object.keys(fromFbx), ['RocksMesh']);
    assert.equal(fromFbx.RocksMesh, (ja.units[0]!.result as any).counted.vertices);
    const fromObj = reimport(obj);
    assert.deepEqual(Object.keys(fromObj), ['TreesMesh']);
    assert.equal(fromObj.TreesMesh, (jb.units[0]!.result as any).counted.vertices);
    assert.ok(existsSync(join(dir, 'obj', 'trees.mtl')), "the OBJ's material file came along");
  });

  it('exports a batch of collections as one job, one valid file each; a failing item does not stop the others', async () => {
    const out = join(dir, 'batch');
    const seen: number[] = [];
    await client.subscribe(['job.progress']);
    const off = client.on('job.progress', (p) => seen.push(p.done + p.failed));
    const { jobId, items } = await client.call('export.batch', {
      blendFile: props,
      items: [
        { collection: 'Props', format: 'glb', output: `${out}/` },
        { collection: 'Rocks', format: 'glb', output: `${out}/` },
        { collection: 'Missing', format: 'glb', output: `${out}/missing.glb` },
        { collection: 'Trees', format: 'glb', output: `${out}/` },
      ],
    });
    assert.equal(items, 4);
    const job = await wait(jobId);
    off();
    assert.equal(job.state, 'failed');
    assert.deepEqual(
      job.units.map((u) => u.state),
      ['done', 'done', 'failed', 'done'],
    );
    assert.match(
      job.units[2]!.error!,
      /item 2 \(collection Missing as glb\): the file has no collection named 'Missing'; its collections: Collection, Empty, Props, Rocks, Trees/,
    );
    assert.match(job.error!, /1 of 4 items failed/);
    for (const name of ['Props.glb', 'Rocks.glb', 'Trees.glb']) {
      const report = await validateGltf(join(out, name));
      assert.equal(report.errors, 0, `${name}: ${report.messages.join('\n')}`);
    }
    assert.deepEqual(readdirSync(out).sort(), ['Props.glb', 'Rocks.glb', 'Trees.glb']);
    assert.equal(Math.max(...seen), 4, 'progress per item reached every item');
  });

  it('fails an export that wrote nothing, with that sentence', async () => {
    const a = await client.call('export.submit', {
      blendFile: props,
      format: 'glb',
      output: join(dir, 'empty.glb'),
      scope: { collection: 'Empty' },
    });
    const ja = await wait(a.jobId);
    assert.equal(ja.state, 'failed');
    assert.match(ja.error!, /nothing to export: collection 'Empty' has no objects/);
    // A camera alone holds no geometry: an STL of it would be empty, and that is a failure, not a success.
    const b = await client.call('export.submit', {
      blendFile: props,
      format: 'stl',
      output: join(dir, 'camera.stl'),
      scope: { objects: ['Camera'] },
    });
    const jb = await wait(b.jobId);
    assert.equal(jb.state, 'failed');
    assert.match(jb.error!, /nothing was exported: the selection has no mesh objects/);
    assert.equal(existsSync(join(dir, 'empty.glb')) || existsSync(join(dir, 'camera.stl')), false, 'no file left for a failed export');
  });

  const bad: Array<[string, Record<string, unknown>, string, RegExp]> = [
    ['an unknown format', { format: 'gif', output: '/tmp/x.gif' }, 'format', /not an export format; it can write: glb, gltf, fbx, obj/],
    [
      'an unknown exporter option',
      { format: 'glb', output: '/tmp/x.glb', options: { export_yupp: true } },
      'options.export_yupp',
      /not an option of the glb exporter; its options: .*export_yup/,
    ],
    ['an output with the wrong extension', { format: 'glb', output: '/tmp/x.fbx' }, 'output', /does not end in \.glb/],
    ['a relative output', { format: 'glb', output: 'x.glb' }, 'output', /absolute/],
    [
      'objects and collection together',
      { format: 'glb', output: '/tmp/x.glb', scope: { objects: ['a'], collection: 'b' } },
      'scope',
      /not both/,
    ],
  ];
  for (const [name, params, field, message] of bad) {
    it(`refuses ${name} with -32602 naming ${field}`, async () => {
      const err = await client.call('export.submit', { blendFile: props, ...params } as never).then(
        () => assert.fail('accepted'),
        (e: unknown) => e as RpcCallError,
      );
      assert.equal(err.code, -32602, err.message);
      const hit = (err.data as any).errors.find((e: any) => e.field === field);
      assert.ok(hit, `names ${field}: ${JSON.stringify((err.data as any).errors)}`);
      assert.match(hit.message, message);
    });
  }

  it('refuses two batch items writing the same file, naming the second', async () => {
    const err = await client
      .call('export.batch', {
        blendFile: props,
        items: [
          { format: 'glb', output: '/tmp/a.glb' },
          { collection: 'Rocks', format: 'glb', output: '/tmp/a.glb' },
        ],
      })
      .catch((e: RpcCallError) => e);
    assert.ok(err instanceof RpcCallError);
    assert.equal((err.data as any).errors[0].field, 'items[1].output');
  });

  it('deletes a temporary copy of the blend file when its job ends, and shows how long saving it took', async () => {
    const { copyFileSync } = await import('node:fs');
    const copy = join(dir, 'unsaved-copy.blend');
    copyFileSync(props, copy);
    const { jobId } = await client.call('export.submit', {
      blendFile: copy,
      format: 'glb',
      output: join(dir, 'from-copy.glb'),
      temporaryBlendFile: true,
      saveCopySeconds: 0.42,
    });
    const job = await wait(jobId);
    assert.equal(job.state, 'completed', job.error);
    assert.equal(existsSync(copy), false, 'the temporary copy is gone');
    assert.ok(existsSync(join(dir, 'from-copy.glb')));
    assert.equal((job as any).saveCopySeconds, 0.42);
  });

  it('lists the formats this Blender can write, with their option names, in sidecar.info', async () => {
    const info = await client.call('sidecar.info', {});
    const names = info.exportFormats.map((f) => f.format);
    for (const f of ['glb', 'gltf', 'fbx', 'obj', 'stl', 'ply']) assert.ok(names.includes(f), `${f} available`);
    assert.ok(info.exportFormats.find((f) => f.format === 'glb')!.options.includes('export_yup'));
  });
});
