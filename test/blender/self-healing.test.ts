import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { SidecarClient } from '../../sidecar/client/sidecar-client.js';
import { makeScene } from '../helpers/blender.js';
import { tempDir, testSidecar, type TestSidecar } from '../helpers/sidecar.js';

/**
 * A pre-render script that fails frame 2 in the given way, the first time only (a marker file remembers), so a retry
 * on another worker succeeds. The failures are real: a segmentation fault in Blender's process, a Python MemoryError.
 */
function failOnce(dir: string, name: string, body: string): string {
  const marker = join(dir, `${name}.marker`);
  const script = join(dir, `${name}.py`);
  writeFileSync(
    script,
    [
      'import bpy, os, ctypes',
      `MARKER = ${JSON.stringify(marker)}`,
      'def fail(scene, *args):',
      '    if scene.frame_current == 2 and not os.path.exists(MARKER):',
      '        open(MARKER, "w").close()',
      ...body.split('\n').map((l) => `        ${l}`),
      'bpy.app.handlers.frame_change_pre.append(fail)',
    ].join('\n'),
  );
  return script;
}

describe('self-healing: failures classified, transient ones retried, deterministic ones failed fast', () => {
  let dir: string;
  let scene: string;
  let sidecar: TestSidecar;
  let client: SidecarClient;
  const alerts: any[] = [];
  before(async () => {
    dir = tempDir('healing-');
    scene = makeScene(dir, 'scene.blend', { frames: 3 });
    sidecar = await testSidecar({ instances: 2, crashLoop: { count: 3, windowMs: 60_000, restMs: 2000 } });
    client = await sidecar.client();
    await client.subscribe(['alert']);
    client.on('alert', (a) => alerts.push(a));
  });
  after(() => sidecar.stop());

  const run = async (params: Record<string, unknown>) => {
    const { jobId } = await client.call('render.submit', { blendFile: scene, frames: '1-3', ...params } as never);
    return client.call('job.wait', { jobId, timeoutMs: 180_000 }, { timeoutMs: 190_000 });
  };

  it('retries a segmentation fault on another worker after a backoff', async () => {
    const job = await run({ output: join(dir, 'segv') + '/', preRenderScript: failOnce(dir, 'segv', 'ctypes.string_at(0)') });
    assert.equal(job.state, 'completed', job.error);
    const f2 = job.units.find((u) => u.key === 2)!;
    assert.deepEqual(f2.attempts.map((a) => a.outcome), ['segfault', 'done']);
    assert.match(f2.attempts[0]!.reason!, /frame 2: segmentation fault/);
    assert.notEqual(f2.attempts[0]!.worker, f2.attempts[1]!.worker);
    const gap = Date.parse(f2.attempts[1]!.startedAt) - Date.parse(f2.attempts[0]!.endedAt!);
    assert.ok(gap >= 900, `the retry waited its backoff (${gap} ms)`);
  });

  it('retries a Python MemoryError inside Blender as out of memory', async () => {
    // Errors in frame handlers are printed and swallowed by Blender, so the allocation happens in the task itself.
    const marker = join(dir, 'oom.marker');
    const script = join(dir, 'oom.py');
    writeFileSync(
      script,
      [
        'import os, sidecar_worker.render as r',
        'if not getattr(r, "_oom_wrapped", False):',
        '    _render = r.render_frame',
        '    def render_frame(task):',
        `        if task["frame"] == 2 and not os.path.exists(${JSON.stringify(marker)}):`,
        `            open(${JSON.stringify(marker)}, "w").close()`,
        '            bytearray(10 ** 15)',
        '        return _render(task)',
        '    r.render_frame = render_frame',
        '    r._oom_wrapped = True',
      ].join('\n'),
    );
    const job = await run({ output: join(dir, 'oom') + '/', preRenderScript: script });
    assert.equal(job.state, 'completed', job.error);
    assert.deepEqual(job.units.find((u) => u.key === 2)!.attempts.map((a) => a.outcome), ['out-of-memory', 'done']);
  });

  it('retries a frame whose GPU ran out of memory on the CPU when the job allows it', async () => {
    // No GPU here: the script raises the error text Cycles gives when CUDA runs out of memory, unless the scene
    // renders on the CPU, which is exactly what the retry must switch to.
    const script = join(dir, 'gpu.py');
    writeFileSync(
      script,
      [
        'import sidecar_worker.render as r',
        'if not getattr(r, "_gpu_wrapped", False):',
        '    _render = r.render_frame',
        '    def render_frame(task):',
        '        if task["frame"] == 2 and task.get("device") != "CPU":',
        '            raise RuntimeError("Error: CUDA error: Out of memory in cuMemAlloc_v2(&device_pointer, memory_size)")',
        '        return _render(task)',
        '    r.render_frame = render_frame',
        '    r._gpu_wrapped = True',
      ].join('\n'),
    );
    const job = await run({ output: join(dir, 'gpu') + '/', preRenderScript: script, cpuFallback: true });
    assert.equal(job.state, 'completed', job.error);
    const f2 = job.units.find((u) => u.key === 2)!;
    assert.deepEqual(f2.attempts.map((a) => a.outcome), ['gpu-out-of-memory', 'done']);
    assert.equal(f2.forceCpu, true, 'the retry rendered on the CPU');
  });

  it('fails fast when the blend file is missing, naming it', async () => {
    const gone = makeScene(dir, 'gone.blend', { frames: 2 });
    const { jobId } = await client.call('render.submit', { blendFile: gone, output: join(dir, 'gone') + '/' });
    rmSync(gone);
    const job = await client.call('job.wait', { jobId, timeoutMs: 60_000 }, { timeoutMs: 70_000 });
    assert.equal(job.state, 'failed');
    assert.match(job.error!, /gone\.blend does not exist/);
  });

  it('rests the pool after a crash loop, raises an alert, and fails the job with the crash as its reason', async () => {
    const always = join(dir, 'always.py');
    writeFileSync(always, 'import bpy, ctypes\ndef f(scene, *a):\n    if scene.frame_current == 1:\n        ctypes.string_at(0)\nbpy.app.handlers.frame_change_pre.append(f)\n');
    const job = await run({ frames: '1', output: join(dir, 'loop') + '/', preRenderScript: always, maxRetries: 3 });
    assert.equal(job.state, 'failed');
    assert.match(job.error!, /frame 1: segmentation fault/);
    assert.match(job.error!, /failed 4 times, more than maxRetries 3/);
    const loop = alerts.find((a) => a.key === 'worker-crash-loop');
    assert.ok(loop, 'a crash-loop alert was raised');
    assert.equal(loop.level, 'WARN');
    assert.match(loop.action, /no new worker starts for 2 s/);
    const failedAlert = alerts.find((a) => a.key === `job-failed:${job.id}`);
    assert.equal(failedAlert?.level, 'ERROR');
    const listed = await client.call('alert.list', { includeResolved: true });
    assert.ok(listed.alerts.some((a) => a.key === `job-failed:${job.id}`));
  });
});
