import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { RpcCallError } from '../../sidecar/client/errors.js';
import type { SidecarClient } from '../../sidecar/client/sidecar-client.js';
import { makeScene, renderPlain } from '../helpers/blender.js';
import { samePixels } from '../helpers/images.js';
import { tempDir, testSidecar, type TestSidecar } from '../helpers/sidecar.js';

describe('render.submit on real Blender', () => {
  let sidecar: TestSidecar;
  let client: SidecarClient;
  let dir: string;
  let scene: string;
  before(async () => {
    dir = tempDir('render-');
    scene = makeScene(dir, 'scene.blend', { frames: 6 });
    sidecar = await testSidecar({ instances: 2 });
    client = await sidecar.client();
  });
  after(() => sidecar.stop());

  it('renders frames pixel-identical to plain blender -b -a, named as Blender names them', async () => {
    const states: string[] = [];
    const progress: number[] = [];
    await client.subscribe(['job.state', 'job.progress']);
    client.on('job.state', (p) => states.push(p.state));
    client.on('job.progress', (p) => progress.push(p.done));
    const out = `${join(dir, 'sidecar')}/`;
    const { jobId } = await client.call('render.submit', { blendFile: scene, frames: '1-6', output: out });
    const job = await client.call('job.wait', { jobId, timeoutMs: 120_000 }, { timeoutMs: 130_000 });
    assert.equal(job.state, 'completed', job.error);
    renderPlain(scene, join(dir, 'plain', '####'), 1, 6);
    // Previews are in the hidden .previews folder (previews.test.ts checks them); everything else is what blender -a writes.
    const names = readdirSync(join(dir, 'sidecar'))
      .filter((n) => n !== '.previews')
      .sort();
    assert.deepEqual(names, readdirSync(join(dir, 'plain')).sort(), 'the same file names as blender -a');
    assert.deepEqual(names, ['0001.png', '0002.png', '0003.png', '0004.png', '0005.png', '0006.png']);
    for (const name of names)
      assert.ok(samePixels(join(dir, 'sidecar', name), join(dir, 'plain', name)), `${name} differs from blender -a`);
    // Frames differ from each other (the cube turns): a frame written under another number would be caught.
    assert.equal(samePixels(join(dir, 'plain', '0001.png'), join(dir, 'plain', '0006.png')), false);
    assert.deepEqual(states, ['queued', 'running', 'completed']);
    assert.equal(Math.max(...progress), 6);
    assert.equal(job.result?.rendered, 6);
    assert.equal(job.progress.done, 6);
    assert.ok(job.units.every((u) => u.attempts.length === 1 && u.attempts[0]!.outcome === 'done'));
    // Workers keep Cycles' scene between frames (persistent data), and the pictures are plain -a's with it on too.
    assert.ok(
      job.units.every((u) => (u.result as { persistentData?: boolean }).persistentData === true),
      'persistent data on',
    );
    renderPlain(scene, join(dir, 'plain-persistent', '####'), 1, 6, undefined, { persistentData: true });
    for (const name of names) {
      assert.ok(
        samePixels(join(dir, 'sidecar', name), join(dir, 'plain-persistent', name)),
        `${name} differs from blender -a with persistent data`,
      );
    }
  });

  it('syncs the scene every frame when persistentData is false, with the same pictures', async () => {
    const out = `${join(dir, 'no-persistent')}/`;
    const { jobId } = await client.call('render.submit', { blendFile: scene, frames: '1-3', output: out, persistentData: false });
    const job = await client.call('job.wait', { jobId, timeoutMs: 120_000 }, { timeoutMs: 130_000 });
    assert.equal(job.state, 'completed', job.error);
    assert.ok(job.units.every((u) => (u.result as { persistentData?: boolean }).persistentData === false));
    for (const name of ['0001.png', '0002.png', '0003.png']) assert.ok(samePixels(join(out, name), join(dir, 'plain', name)), name);
  });

  it("shows a long frame's samples moving in job.progress, so it never looks hung", async () => {
    const seen: Array<{ done: number; total: number }> = [];
    await client.subscribe(['job.progress']);
    const off = client.on('job.progress', (p) => {
      for (const r of p.running) if (r.samples) seen.push(r.samples);
    });
    const out = `${join(dir, 'samples')}/`;
    // Every sample taken (no adaptive stop), so the frame lasts long enough for its samples to be seen moving.
    const script = join(dir, 'no-adaptive.py');
    writeFileSync(script, 'import bpy\nbpy.context.scene.cycles.use_adaptive_sampling = False\n');
    const { jobId } = await client.call('render.submit', {
      blendFile: scene,
      frames: '3',
      output: out,
      samples: 1000,
      resolutionPercent: 50,
      engine: 'cycles',
      preRenderScript: script,
    });
    const job = await client.call('job.wait', { jobId, timeoutMs: 120_000 }, { timeoutMs: 130_000 });
    off();
    assert.equal(job.state, 'completed', job.error);
    assert.ok(seen.length > 0, "some job.progress carried the frame's samples");
    assert.ok(
      seen.every((s) => s.total === 1000 && s.done >= 0 && s.done <= 1000),
      JSON.stringify(seen),
    );
    assert.ok(
      seen.every((s, i) => i === 0 || s.done >= seen[i - 1]!.done),
      `samples only go up: ${JSON.stringify(seen)}`,
    );
  });

  it('skips frames already on disk, and renders them again with overwrite', async () => {
    const out = join(dir, 'skip');
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, '0002.png'), 'not empty: a frame from earlier');
    writeFileSync(join(out, '0003.png'), ''); // empty: a crash leftover, rendered again
    const first = await client.call('render.submit', { blendFile: scene, frames: '1-3', output: `${out}/####.png` });
    const a = await client.call('job.wait', { jobId: first.jobId, timeoutMs: 60_000 }, { timeoutMs: 70_000 });
    assert.equal(a.state, 'completed', a.error);
    assert.deepEqual(
      a.units.map((u) => [u.key, u.state]),
      [
        [1, 'done'],
        [2, 'skipped'],
        [3, 'done'],
      ],
    );
    const mtime = statSync(join(out, '0001.png')).mtimeMs;
    const again = await client.call('render.submit', { blendFile: scene, frames: '1-3', output: `${out}/####.png` });
    const b = await client.call('job.wait', { jobId: again.jobId, timeoutMs: 60_000 }, { timeoutMs: 70_000 });
    assert.deepEqual(
      b.units.map((u) => u.state),
      ['skipped', 'skipped', 'skipped'],
    );
    assert.equal(statSync(join(out, '0001.png')).mtimeMs, mtime, 'a skipped frame is not touched');
    const forced = await client.call('render.submit', { blendFile: scene, frames: '2', output: `${out}/####.png`, overwrite: true });
    const c = await client.call('job.wait', { jobId: forced.jobId, timeoutMs: 60_000 }, { timeoutMs: 70_000 });
    assert.equal(c.units[0]!.state, 'done');
    assert.ok(statSync(join(out, '0002.png')).size > 100, 'the placeholder was replaced by a real frame');
  });

  it("uses the scene's frame range when frames is not given, and honours format", async () => {
    const out = join(dir, 'range');
    const { jobId } = await client.call('render.submit', { blendFile: scene, output: `${out}/f_##`, format: 'jpeg' });
    const job = await client.call('job.wait', { jobId, timeoutMs: 60_000 }, { timeoutMs: 70_000 });
    assert.equal(job.state, 'completed', job.error);
    assert.deepEqual(
      readdirSync(out)
        .filter((n) => n !== '.previews')
        .sort(),
      ['f_01.jpg', 'f_02.jpg', 'f_03.jpg', 'f_04.jpg', 'f_05.jpg', 'f_06.jpg'],
    );
  });

  const badInputs: Array<[string, Record<string, unknown>, string, RegExp]> = [
    ['a missing blend file', { blendFile: '/nope/missing.blend', output: '/tmp/x/' }, 'blendFile', /does not exist/],
    ['a relative blend file', { blendFile: 'scene.blend', output: '/tmp/x/' }, 'blendFile', /absolute/],
    ['a relative output', { output: 'renders/' }, 'output', /absolute path, or start with \/\//],
    ['a backwards range', { output: '/tmp/x/', frames: '10-1' }, 'frames', /backwards/],
    ['a frame list that is not one', { output: '/tmp/x/', frames: '1-10,abc' }, 'frames', /"abc"/],
    ['an unknown image format', { output: '/tmp/x/', format: 'GIF' }, 'format', /PNG/],
    ['zero samples', { output: '/tmp/x/', samples: 0 }, 'samples', /./],
    ['an unknown priority', { output: '/tmp/x/', priority: 'urgent' }, 'priority', /high|normal|low/],
    ['a misspelt field', { output: '/tmp/x/', frame: '1' }, 'frame', /unknown field/],
  ];
  for (const [name, params, field, message] of badInputs) {
    it(`refuses ${name} with -32602 naming ${field}`, async () => {
      const err = await client.call('render.submit', { blendFile: scene, ...params } as never).then(
        () => assert.fail('accepted'),
        (e: unknown) => e as RpcCallError,
      );
      assert.ok(err instanceof RpcCallError);
      assert.equal(err.code, -32602);
      const fields = (err.data as { errors: Array<{ field: string; message: string }> }).errors;
      const hit = fields.find((f) => f.field === field);
      assert.ok(hit, `error names ${field}: ${JSON.stringify(fields)}`);
      assert.match(hit.message, message);
    });
  }

  it('fails a job naming a scene the file does not have, listing the scenes it has', async () => {
    const { jobId } = await client.call('render.submit', { blendFile: scene, scene: 'Nope', output: `${join(dir, 'nope')}/` });
    const job = await client.call('job.wait', { jobId, timeoutMs: 60_000 }, { timeoutMs: 70_000 });
    assert.equal(job.state, 'failed');
    assert.match(job.error!, /no scene named "Nope"; its scenes: Scene/);
  });

  it('carries the last lines of a Python traceback when a script inside Blender fails', async () => {
    const script = join(dir, 'broken.py');
    writeFileSync(script, 'import bpy\n\ndef setup():\n    return 1 / 0\n\nsetup()\n');
    const { jobId } = await client.call('render.submit', {
      blendFile: scene,
      frames: '1-2',
      output: `${join(dir, 'broken')}/`,
      preRenderScript: script,
    });
    const job = await client.call('job.wait', { jobId, timeoutMs: 60_000 }, { timeoutMs: 70_000 });
    assert.equal(job.state, 'failed');
    assert.match(job.error!, /ZeroDivisionError: division by zero/);
    assert.match(job.error!, /broken\.py", line 4, in setup/);
    // A deterministic error is not retried.
    assert.ok(job.units.every((u) => u.attempts.length === 1 && u.attempts[0]!.outcome === 'python-error'));
  });

  it('answers job.get, job.list and worker.list', async () => {
    const list = await client.call('job.list', { kind: 'render', state: ['completed'] });
    assert.ok(list.jobs.length >= 3);
    assert.ok(list.jobs.every((j) => j.state === 'completed' && j.kind === 'render'));
    const workers = await client.call('worker.list', {});
    assert.equal(workers.size, 2);
    assert.ok(workers.workers.length >= 1);
    for (const w of workers.workers) {
      assert.ok(w.pid > 0);
      assert.ok(w.rssMB > 20, `worker ${w.id} reports its memory`);
      assert.match(w.blenderVersion ?? '', /^\d+\.\d+/);
    }
    await assert.rejects(
      client.call('job.get', { jobId: 'j-nope' }),
      (e: RpcCallError) => e.code === -32002 && /no job j-nope/.test(e.message),
    );
  });
});
