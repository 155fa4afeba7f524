import assert from 'node:assert/strict';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { makeScene } from '../helpers/blender.js';
import { tempDir, testSidecar } from '../helpers/sidecar.js';
import { fill, mountTmpfs, subdir, unmountAll } from '../helpers/tmpfs.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('a state folder that fills up during a render', () => {
  after(unmountAll);

  it('keeps rendering, raises an alert, saves the job once space returns, and a restart finds it complete', async () => {
    const dir = tempDir('state-full-');
    const blend = makeScene(dir, 'shot.blend', { frames: 6, size: '96x72', samples: 24 });
    const mount = mountTmpfs(2048);
    const state = subdir(mount, 'state');
    const out = join(dir, 'frames');
    const first = await testSidecar({ stateDir: state, instances: 1 });
    let filler: string | undefined;
    try {
      const c = await first.client();
      const { jobId } = await c.call('render.submit', { blendFile: blend, output: `${out}/` });
      const deadline = Date.now() + 120_000;
      while ((await c.call('job.get', { jobId })).units.filter((u) => u.state === 'done').length < 1) {
        assert.ok(Date.now() < deadline, 'a first frame within 2 minutes');
        await sleep(100);
      }
      filler = fill(mount);
      // While the folder is full the render goes on; its saves fail and an alert says so.
      while (!(await c.call('alert.list', {})).alerts.some((a) => a.key === 'state-folder-unwritable')) {
        assert.ok(Date.now() < deadline, 'an alert while the folder is full');
        await sleep(100);
      }
      rmSync(filler);
      filler = undefined;
      const job = await c.call('job.wait', { jobId, timeoutMs: 120_000 }, { timeoutMs: 130_000 });
      assert.equal(job.state, 'completed', job.error);
      assert.deepEqual(readdirSync(out).filter((f) => !f.startsWith('.')).sort(), ['0001.png', '0002.png', '0003.png', '0004.png', '0005.png', '0006.png']);
      while ((await c.call('alert.list', {})).alerts.some((a) => a.key === 'state-folder-unwritable')) {
        assert.ok(Date.now() < deadline + 60_000, 'the alert resolves once saving works again');
        await sleep(200);
      }
    } finally {
      if (filler) rmSync(filler, { force: true });
      await first.stop();
    }
    const second = await testSidecar({ stateDir: state, instances: 1 });
    try {
      const c = await second.client();
      const { jobs } = await c.call('job.list', {});
      assert.deepEqual(jobs.map((j) => [j.id, j.state]), [[jobs[0]!.id, 'completed']], 'the job, complete, nothing lost');
      assert.deepEqual(readdirSync(join(state, 'jobs')).filter((f) => f.endsWith('.tmp')), []);
    } finally {
      await second.stop();
    }
  });
});
