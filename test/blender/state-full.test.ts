import assert from 'node:assert/strict';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { makeScene } from '../helpers/blender.js';
import { tempDir, testSidecar } from '../helpers/sidecar.js';
import { fill, mountTmpfs, subdir, unmountAll } from '../helpers/tmpfs.js';
import { until } from '../helpers/until.js';

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
      await until(async () => (await c.call('job.get', { jobId })).units.some((u) => u.state === 'done'), {
        timeoutMs: 120_000,
        what: 'a first frame',
      });
      filler = fill(mount);
      // While the folder is full the render goes on; its saves fail and an alert says so.
      await until(async () => (await c.call('alert.list', {})).alerts.some((a) => a.key === 'state-folder-unwritable'), {
        timeoutMs: 120_000,
        what: 'an alert while the folder is full',
      });
      rmSync(filler);
      filler = undefined;
      const job = await c.call('job.wait', { jobId, timeoutMs: 120_000 }, { timeoutMs: 130_000 });
      assert.equal(job.state, 'completed', job.error);
      assert.deepEqual(
        readdirSync(out)
          .filter((f) => !f.startsWith('.'))
          .sort(),
        ['0001.png', '0002.png', '0003.png', '0004.png', '0005.png', '0006.png'],
      );
      await until(async () => !(await c.call('alert.list', {})).alerts.some((a) => a.key === 'state-folder-unwritable'), {
        timeoutMs: 60_000,
        what: 'the alert to resolve once saving works again',
      });
    } finally {
      if (filler) rmSync(filler, { force: true });
      await first.stop();
    }
    const second = await testSidecar({ stateDir: state, instances: 1 });
    try {
      const c = await second.client();
      const { jobs } = await c.call('job.list', {});
      assert.deepEqual(
        jobs.map((j) => [j.id, j.state]),
        [[jobs[0]!.id, 'completed']],
        'the job, complete, nothing lost',
      );
      assert.deepEqual(
        readdirSync(join(state, 'jobs')).filter((f) => f.endsWith('.tmp')),
        [],
      );
    } finally {
      await second.stop();
    }
  });
});
