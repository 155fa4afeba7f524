import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { makeScene } from '../helpers/blender.js';
import { tempDir, testSidecar } from '../helpers/sidecar.js';
import { until } from '../helpers/until.js';

describe('job.wait callers that went away', () => {
  it('drops 2,000 waiters of closed connections at once, and the job and a live waiter are answered as ever', async () => {
    const dir = tempDir('dead-waiters-');
    const blend = makeScene(dir, 'shot.blend', { frames: 6, size: '160x120', samples: 64 });
    const sidecar = await testSidecar({ instances: 1 });
    const waiters = async () => {
      const text = await (await fetch(`http://127.0.0.1:${sidecar.port}/metrics`)).text();
      return Number(text.match(/^sidecar_job_waiters (\d+)/m)?.[1]);
    };
    try {
      const c = await sidecar.client();
      const { jobId } = await c.call('render.submit', { blendFile: blend, output: `${dir}/frames/` });
      const raws = await Promise.all(Array.from({ length: 4 }, () => sidecar.raw()));
      for (const raw of raws) {
        for (let b = 0; b < 5; b++) {
          raw.send(
            JSON.stringify(
              Array.from({ length: 100 }, (_, i) => ({
                jsonrpc: '2.0',
                id: b * 100 + i,
                method: 'job.wait',
                params: { jobId, timeoutMs: 600_000 },
              })),
            ),
          );
        }
      }
      await until(async () => (await waiters()) >= 2000, {
        timeoutMs: 60_000,
        what: async () => `2,000 waiters registered (now ${await waiters()})`,
      });
      const live = c.call('job.wait', { jobId, timeoutMs: 300_000 }, { timeoutMs: 310_000 });
      for (const raw of raws) raw.close();
      await until(async () => (await waiters()) <= 1, {
        timeoutMs: 60_000,
        what: async () => `the closed connections' waiters dropped (now ${await waiters()})`,
      });
      const job = await live;
      assert.equal(job.state, 'completed', job.error);
      assert.equal(await waiters(), 0);
    } finally {
      await sidecar.stop();
    }
  });
});
