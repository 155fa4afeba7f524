import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { RpcCallError } from '../../sidecar/client/errors.js';
import { makeScene } from '../helpers/blender.js';
import { tempDir, testSidecar } from '../helpers/sidecar.js';

describe('alerts', () => {
  it('raises ERROR "Blender missing" at start, and render.submit then says what to fix', async () => {
    const s = await testSidecar({ blender: '/nonexistent/blender' });
    try {
      const c = await s.client();
      const { alerts } = await c.call('alert.list', {});
      const missing = alerts.find((a) => a.key === 'blender-missing');
      assert.equal(missing?.level, 'ERROR');
      assert.match(missing!.action, /--blender \/nonexistent\/blender is not an executable file/);
      const info = await c.call('sidecar.info', {});
      assert.equal(info.blender.found, false);
      await assert.rejects(
        c.call('render.submit', { blendFile: makeScene(tempDir(), 'x.blend'), output: '/tmp/never/' }),
        (e: RpcCallError) => e.code === -32001 && /not an executable file/.test(e.message),
      );
    } finally {
      await s.stop();
    }
  });

  it('warns when the output disk is nearly full, and when a worker nears its memory limit', async () => {
    const dir = tempDir('alerts-');
    const scene = makeScene(dir, 'scene.blend', { frames: 3, size: '160x120', samples: 16 });
    // Every real disk is "nearly full" against a threshold of a petabyte: the check itself is what is tested.
    const s = await testSidecar({ instances: 1, disk: { minFreeBytes: 1e15, intervalMs: 200 } });
    try {
      const c = await s.client();
      const seen: any[] = [];
      await c.subscribe(['alert']);
      c.on('alert', (a) => seen.push(a));
      // Blender idles at 200-350 MB; 600 MB more puts it past 80% of a 1000 MB limit, but under the limit.
      const hog = join(dir, 'hold.py');
      const { writeFileSync } = await import('node:fs');
      writeFileSync(hog, "import time\nheld = b'x' * (600 * 1024 * 1024)\ntime.sleep(2)\n");
      const { jobId } = await c.call('render.submit', {
        blendFile: scene,
        output: `${join(dir, 'out')}/`,
        memoryLimitMB: 1000,
        preRenderScript: hog,
      });
      const job = await c.call('job.wait', { jobId });
      assert.equal(job.state, 'completed', job.error);
      const disk = seen.find((a) => a.key.startsWith('disk-low:'));
      assert.ok(disk, 'disk alert raised');
      assert.match(disk.what, /the output disk is nearly full: [\d.]+ GiB free/);
      assert.ok(disk.where.startsWith(dir), disk.where);
      const near = seen.find((a) => a.key.startsWith('memory-near:'));
      assert.ok(near, 'memory alert raised');
      assert.equal(near.level, 'WARN');
      assert.match(near.what, /worker w\d+ uses \d+ MB, near its job's memoryLimitMB 1000/);
      assert.ok(
        seen.some((a) => a.key === near.key && a.resolvedAt),
        'resolved when the task ended',
      );
    } finally {
      await s.stop();
    }
  });
});
