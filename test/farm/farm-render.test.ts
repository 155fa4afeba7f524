import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RpcCallError } from '../../sidecar/client/errors.js';
import type { SidecarClient } from '../../sidecar/client/sidecar-client.js';
import { FlamencoStandin } from '../helpers/flamenco-standin.js';
import { tempDir, testSidecar, type TestSidecar } from '../helpers/sidecar.js';
import { until } from '../helpers/until.js';

/**
 * render.submit with farm: {kind: "flamenco"} against the manager stand-in (a real Flamenco manager cannot be built
 * here): the job is submitted, followed, and looks like any render job through job.get, job.wait and job.cancel.
 */
describe('render jobs handed to a Flamenco farm', () => {
  let standin: FlamencoStandin;
  let sidecar: TestSidecar;
  let client: SidecarClient;
  let shared: string;
  let blend: string;
  before(async () => {
    shared = tempDir('farm-shared-');
    standin = await FlamencoStandin.start({ sharedStorage: shared });
    sidecar = await testSidecar({ flamencoUrl: standin.url, farmPollMs: 50 });
    client = await sidecar.client();
    blend = join(shared, 'shot.blend');
    writeFileSync(blend, 'BLENDER-v300 (the farm reads this file, not the sidecar)');
  });
  after(async () => {
    await sidecar.stop();
    await standin.close();
  });

  const waitFor = (jobId: string, pred: (j: any) => boolean, what: string) =>
    until(
      async () => {
        const j = await client.call('job.get', { jobId });
        return pred(j) && j;
      },
      { timeoutMs: 10_000, intervalMs: 25, what },
    );

  it('submits, follows progress and completes, the frames checked on the shared storage', async () => {
    const out = join(shared, 'renders');
    const { jobId } = await client.call('render.submit', {
      blendFile: blend,
      scene: 'Scene',
      frames: '1-4',
      output: `${out}/`,
      farm: { kind: 'flamenco' },
    });
    const queued = await client.call('job.get', { jobId });
    assert.equal(queued.state, 'queued');
    const farmJobId = String(queued.plan!.farmJobId);
    standin.advance(farmJobId, 'active', 2);
    const running = await waitFor(jobId, (j) => j.state === 'running' && j.progress.done > 0, 'the job running with a frame done');
    assert.ok(running.progress.done >= 1 && running.progress.total === 4);
    mkdirSync(out, { recursive: true });
    for (const f of ['0001', '0002', '0003', '0004']) writeFileSync(join(out, `${f}.png`), 'a frame written by a farm worker');
    standin.advance(farmJobId, 'completed', 4);
    const done = await client.call('job.wait', { jobId, timeoutMs: 10_000 });
    assert.equal(done.state, 'completed', done.error);
    assert.equal(done.progress.done, 4);
    assert.deepEqual(
      done.units.map((u) => u.output),
      ['0001', '0002', '0003', '0004'].map((f) => join(out, `${f}.png`)),
    );
  });

  it('fails a job the farm says completed when its frames are missing from the shared storage', async () => {
    const out = join(shared, 'missing');
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, '0001.png'), 'only one frame arrived');
    const { jobId } = await client.call('render.submit', {
      blendFile: blend,
      scene: 'Scene',
      frames: '1-2',
      output: `${out}/`,
      farm: { kind: 'flamenco' },
    });
    const farmJobId = String((await client.call('job.get', { jobId })).plan!.farmJobId);
    standin.advance(farmJobId, 'completed', 2);
    const job = await client.call('job.wait', { jobId, timeoutMs: 10_000 });
    assert.equal(job.state, 'failed');
    assert.match(job.error!, /the farm reported success, but 1 frames are not on disk \(first: .*0002\.png\)/);
  });

  it('cancels on the farm through setstatus', async () => {
    const { jobId } = await client.call('render.submit', {
      blendFile: blend,
      scene: 'Scene',
      frames: '1-10',
      output: `${shared}/c/`,
      farm: { kind: 'flamenco' },
    });
    const farmJobId = String((await client.call('job.get', { jobId })).plan!.farmJobId);
    standin.advance(farmJobId, 'active', 1);
    await waitFor(jobId, (j) => j.state === 'running', 'the job running');
    const canceled = await client.call('job.cancel', { jobId });
    assert.equal(canceled.state, 'canceled');
    const setstatus = await until(
      () => standin.requests.find((r) => r.method === 'POST' && r.path.endsWith(`/jobs/${farmJobId}/setstatus`)),
      {
        timeoutMs: 10_000,
        what: 'a setstatus request on the farm',
      },
    );
    assert.deepEqual((setstatus.body as any)?.status, 'cancel-requested');
  });

  it("answers render.submit with the manager's refusal, queuing nothing", async () => {
    const outside = join(tempDir('not-shared-'), 'local.blend');
    writeFileSync(outside, 'x');
    const before = (await client.call('job.list', {})).jobs.length;
    await assert.rejects(
      client.call('render.submit', { blendFile: outside, scene: 'Scene', frames: '1', output: `${shared}/r/`, farm: { kind: 'flamenco' } }),
      (e: RpcCallError) => /refused the job/.test(e.message) && /shared storage/i.test(e.message),
    );
    assert.equal((await client.call('job.list', {})).jobs.length, before);
  });

  it('refuses settings a farm cannot honour, and asks for frames and scene', async () => {
    await assert.rejects(
      client.call('render.submit', {
        blendFile: blend,
        scene: 'Scene',
        frames: '1',
        output: `${shared}/s/`,
        samples: 64,
        farm: { kind: 'flamenco' },
      }),
      (e: RpcCallError) => e.code === -32602 && /samples: cannot be honored on a Flamenco farm/.test(e.message),
    );
    await assert.rejects(
      client.call('render.submit', { blendFile: blend, output: `${shared}/s/`, frames: '1', farm: { kind: 'flamenco' } }),
      (e: RpcCallError) => e.code === -32602 && /scene: is required for a farm job/.test(e.message),
    );
  });
});
