import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runCli, startCli, waitForLine } from '../helpers/cli.js';
import { tempDir } from '../helpers/sidecar.js';

/** A serve started for a parent process (here a plain process standing for Blender: only its pid matters). */
async function serveFor(extra: string[]) {
  const parent = spawn('sleep', ['600'], { stdio: 'ignore' });
  const state = join(tempDir('lifecycle-'), 'state');
  const serve = startCli(['serve', '--state-dir', state, '--parent-pid', String(parent.pid), ...extra]);
  let err = '';
  serve.stderr!.on('data', (d) => (err += d));
  await waitForLine(serve, /^listening on/);
  const exited = new Promise<number | null>((r) => serve.once('exit', (code) => r(code)));
  return { parent, serve, exited, stderr: () => err };
}

describe('a sidecar started for a Blender, when that Blender exits', () => {
  it('with nothing to do, stops by itself after the grace period and says why', async () => {
    const s = await serveFor(['--grace-period', '1']);
    s.parent.kill('SIGKILL');
    assert.equal(await s.exited, 0);
    assert.match(s.stderr(), /parent process \d+ exited; finishing 0 job\(s\), then stopping after 1 s with no jobs and no clients/);
    assert.match(s.stderr(), /shutting down \(parent process \d+ exited and no jobs or clients were left for 1 s\)/);
  });

  it('with --stop-with-parent, stops at once (the old behaviour)', async () => {
    const s = await serveFor(['--stop-with-parent']);
    s.parent.kill('SIGKILL');
    assert.equal(await s.exited, 0);
    assert.match(s.stderr(), /shutting down \(parent process \d+ exited\)/);
  });

  it('refuses --stop-with-parent without --parent-pid, naming both flags', () => {
    const r = runCli(['serve', '--stop-with-parent']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--stop-with-parent and --grace-period go with --parent-pid/);
  });
});
