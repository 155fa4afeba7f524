import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
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
    const job = await run({ output: `${join(dir, 'segv')}/`, preRenderScript: failOnce(dir, 'segv', 'ctypes.string_at(0)') });
    assert.equal(job.state, 'completed', job.error);
    const f2 = job.units.find((u) => u.key === 2)!;
    assert.deepEqual(
      f2.attempts.map((a) => a.outcome),
      ['segfault', 'done'],
    );
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
    const job = await run({ output: `${join(dir, 'oom')}/`, preRenderScript: script });
    assert.equal(job.state, 'completed', job.error);
    assert.deepEqual(
      job.units.find((u) => u.key === 2)!.attempts.map((a) => a.outcome),
      ['out-of-memory', 'done'],
    );
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
    const job = await run({ output: `${join(dir, 'gpu')}/`, preRenderScript: script, cpuFallback: true });
    assert.equal(job.state, 'completed', job.error);
    const f2 = job.units.find((u) => u.key === 2)!;
    assert.deepEqual(
      f2.attempts.map((a) => a.outcome),
      ['gpu-out-of-memory', 'done'],
    );
    assert.equal(f2.forceCpu, true, 'the retry rendered on the CPU');
  });

  it('fails fast when the blend file is missing, naming it', async () => {
    const gone = makeScene(dir, 'gone.blend', { frames: 2 });
    const { jobId } = await client.call('render.submit', { blendFile: gone, output: `${join(dir, 'gone')}/` });
    rmSync(gone);
    const job = await client.call('job.wait', { jobId, timeoutMs: 60_000 }, { timeoutMs: 70_000 });
    assert.equal(job.state, 'failed');
    assert.match(job.error!, /gone\.blend does not exist/);
  });

  it("fails a frame that kills Blender on two workers at once, with Blender's crash report; a Blender that crashes on everything still rests", async () => {
    const always = join(dir, 'always.py');
    writeFileSync(always, 'import bpy, ctypes\ndef f(scene, *a):\n    ctypes.string_at(0)\nbpy.app.handlers.frame_change_pre.append(f)\n');
    const job = await run({ frames: '1-3', output: `${join(dir, 'loop')}/`, preRenderScript: always, maxRetries: 3 });
    assert.equal(job.state, 'failed');
    for (const unit of job.units) {
      // Not retried up to maxRetries: the second crash on another worker is the frame's failure.
      // (Workers that ran this suite's earlier jobs may fail frame 2 in their own way first.)
      const crashes = unit.attempts.filter((a) => a.outcome === 'segfault');
      assert.equal(crashes.length, 2, `${unit.label}: ${unit.attempts.map((a) => a.outcome).join(', ')}`);
      assert.equal(unit.attempts.at(-1)!.outcome, 'segfault');
      assert.notEqual(crashes[0]!.worker, crashes[1]!.worker);
      assert.match(
        unit.error!,
        /scene\.blend kills Blender \d+\.\d+\.\d+ \(.+\): it crashed on 2 workers \(w\d+, w\d+\) while running frame \d, killed by SIGSEGV; not retried/,
      );
      const report = /Blender's crash report: (\S+\.crash\.txt) \((.*)\)/.exec(unit.error!);
      assert.ok(report, `the crash report is named: ${unit.error}`);
      assert.match(report[2]!, /# Blender \d+\.\d+/);
      assert.match(readFileSync(report[1]!, 'utf8'), /always\.py/, 'the report is the one this crash wrote');
    }
    // Three frames in a row killed Blender with nothing succeeding between: that Blender crashes on everything.
    const loop = alerts.find((a) => a.key === 'worker-crash-loop');
    assert.ok(loop, 'a crash-loop alert was raised');
    assert.equal(loop.level, 'WARN');
    assert.match(loop.what, /killed by 3 files or frames in a row/);
    assert.match(loop.action, /no new worker starts for 2 s/);
    const failedAlert = alerts.find((a) => a.key === `job-failed:${job.id}`);
    assert.equal(failedAlert?.level, 'ERROR');
    const listed = await client.call('alert.list', { includeResolved: true });
    assert.ok(listed.alerts.some((a) => a.key === `job-failed:${job.id}`));
  });
});
