/**
 * A sidecar started for one CLI command (render, export, bake, pipeline) leaves the state folder's finished jobs
 * unread: a folder of a thousand finished renders is over 100 MB of JSON, which it used to parse before the command's
 * own job could start. Shown here with a finished job whose file is cut short: the command never notices it, a
 * long-running sidecar on the same folder does (and says so).
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { makeScene } from '../helpers/blender.js';
import { runCli } from '../helpers/cli.js';
import { tempDir, testSidecar } from '../helpers/sidecar.js';

describe("a command's own sidecar and the jobs folder", () => {
  it('does not read finished jobs; a long-running sidecar on the folder still does', async () => {
    const dir = tempDir('cli-one-job-');
    const state = join(dir, 'state');
    const scene = makeScene(dir, 'one.blend', { frames: 1, size: '32x24', samples: 1 });
    const render = (out: string) => {
      rmSync(join(state, 'sidecar.log'), { force: true });
      const r = runCli(['render', scene, '--output', `${join(dir, out)}/`, '--state-dir', state, '--json']);
      assert.equal(r.status, 0, r.stderr);
      const { job } = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
      assert.equal(job.state, 'completed', job.error);
      return { job, log: readFileSync(join(state, 'sidecar.log'), 'utf8') };
    };
    const first = render('a').job;
    const file = join(state, 'jobs', `${first.id}.json`);
    writeFileSync(file, readFileSync(file, 'utf8').slice(0, 150)); // its head still says "completed"
    const second = render('b');
    assert.doesNotMatch(second.log, /damaged/, 'the finished job was never read');

    const serve = await testSidecar({ stateDir: state });
    try {
      const c = await serve.client();
      const { jobs } = await c.call('job.list', {});
      assert.ok(
        jobs.some((j) => j.id === second.job.id),
        'a long-running sidecar lists what the commands finished',
      );
      assert.match(readFileSync(join(state, 'sidecar.log'), 'utf8'), new RegExp(`ignoring damaged job file ${first.id}\\.json`));
    } finally {
      await serve.stop();
    }
  });
});
