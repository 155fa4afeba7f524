import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { SidecarClient } from '../../sidecar/client/sidecar-client.js';
import { blenderPath, makeScene } from '../helpers/blender.js';
import { startCli, waitForLine } from '../helpers/cli.js';
import { tempDir, testSidecar } from '../helpers/sidecar.js';
import { until } from '../helpers/until.js';

/**
 * `notify-send` needs a desktop session (D-Bus and a notification daemon), which this machine has not: a stand-in of
 * the same name on PATH records what it was asked to show. Everything else is real: Blender, the sidecar, the render.
 */
function notifySendStandIn(dir: string): { path: string; log: string } {
  const bin = join(dir, 'bin');
  const log = join(dir, 'notifications.log');
  mkdirSync(bin);
  writeFileSync(join(bin, 'notify-send'), `#!/bin/sh\nprintf '%s|' "$@" >> '${log}'\necho >> '${log}'\n`);
  chmodSync(join(bin, 'notify-send'), 0o755);
  return { path: `${bin}:${process.env.PATH}`, log };
}

describe('jobs outlive the Blender that started the sidecar', () => {
  const procs: ChildProcess[] = [];
  after(() => {
    for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
  });

  it('the parent Blender killed mid-render: every frame lands, the desktop is told, the sidecar stops by itself, the next one shows it', async () => {
    const dir = tempDir('outlive-');
    const blend = makeScene(dir, 'shot.blend', { frames: 5, size: '160x120', samples: 48 });
    const state = join(dir, 'state');
    const out = join(dir, 'frames');
    const notify = notifySendStandIn(dir);
    const parent = spawn(blenderPath(), ['-b', '--factory-startup', '--python-expr', 'import time; time.sleep(600)'], { stdio: 'ignore' });
    procs.push(parent);
    const serve = startCli(['serve', '--state-dir', state, '--parent-pid', String(parent.pid), '--grace-period', '2', '--instances', '1'], {
      PATH: notify.path,
    });
    procs.push(serve);
    await waitForLine(serve, /^listening on/);
    const exited = new Promise<number | null>((r) => serve.once('exit', (code) => r(code)));

    const client = await SidecarClient.connect({ stateDir: state });
    const { jobId } = await client.call('render.submit', { blendFile: blend, output: `${out}/` });
    await until(async () => (await client.call('job.get', { jobId })).units.some((u) => u.state === 'done'), {
      timeoutMs: 180_000,
      what: 'a first frame',
    });
    await client.close();
    parent.kill('SIGKILL'); // Blender closed (or crashed) while its background render runs

    await until(() => serve.exitCode !== null || serve.signalCode !== null, { timeoutMs: 180_000, what: 'the sidecar to stop by itself' });
    assert.equal(await exited, 0, 'the sidecar stopped by itself, cleanly');
    assert.deepEqual(
      readdirSync(out)
        .filter((f) => !f.startsWith('.'))
        .sort(),
      ['0001.png', '0002.png', '0003.png', '0004.png', '0005.png'],
      'every frame landed',
    );
    const shown = readFileSync(notify.log, 'utf8');
    assert.match(shown, new RegExp(`Blender Sidecar: render completed\\|render job ${jobId} completed: 5 of 5 frames done`));

    const next = await testSidecar({ stateDir: state, instances: 1 });
    try {
      const c = await next.client();
      const { alerts } = await c.call('alert.list', {});
      const notice = alerts.find((a) => a.key === `job-ended-unwatched:${jobId}`);
      assert.ok(notice, JSON.stringify(alerts));
      assert.match(notice.what, /render job .* completed: 5 of 5 frames done, at .* while Blender was closed/);
      assert.equal((await c.call('job.get', { jobId })).state, 'completed');
    } finally {
      await next.stop();
    }
  });
});
