import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync, mkdirSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readDiscovery } from '../../sidecar/discovery.js';
import { defaultStateDir } from '../../sidecar/state-dir.js';
import { SidecarClient } from '../../sidecar/client/sidecar-client.js';
import { tempDir, testSidecar } from '../helpers/sidecar.js';
import { startCli, waitForLine } from '../helpers/cli.js';

describe('the discovery file sidecar.json', () => {
  it('is written with mode 0600 in a 0700 folder, with port, pid, token, version and startedAt', async () => {
    const dir = join(tempDir(), 'state');
    const s = await testSidecar({ stateDir: dir });
    try {
      const file = join(dir, 'sidecar.json');
      assert.equal(statSync(file).mode & 0o777, 0o600);
      assert.equal(statSync(dir).mode & 0o777, 0o700);
      const info = JSON.parse(readFileSync(file, 'utf8'));
      assert.equal(info.port, s.port);
      assert.equal(info.pid, process.pid);
      assert.equal(info.token, s.token);
      assert.ok(info.token.length >= 40, 'a 32-byte random token');
      assert.match(info.version, /^\d+\.\d+\.\d+/);
      assert.ok(!Number.isNaN(Date.parse(info.startedAt)));
    } finally {
      await s.stop();
    }
  });

  it('makes an existing, too-open state folder private', async () => {
    const dir = tempDir();
    chmodSync(dir, 0o755);
    const s = await testSidecar({ stateDir: dir });
    await s.stop();
    assert.equal(statSync(dir).mode & 0o777, 0o700);
  });

  it('gets a fresh token each start', async () => {
    const dir = tempDir();
    const a = await testSidecar({ stateDir: dir });
    await a.stop();
    const b = await testSidecar({ stateDir: dir });
    await b.stop();
    assert.notEqual(a.token, b.token);
  });

  it('ignores a stale file left by a dead process', async () => {
    const dir = tempDir();
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, 'sidecar.json'),
      JSON.stringify({ port: 1, pid: 2 ** 22 + 12345, token: 'x'.repeat(43), version: '0.0.0', startedAt: new Date().toISOString() }),
    );
    assert.equal(readDiscovery(dir).state, 'stale');
    await assert.rejects(SidecarClient.connect({ stateDir: dir }), /no longer running/);
    const s = await testSidecar({ stateDir: dir });
    try {
      assert.equal(readDiscovery(dir).state, 'running');
      const c = await s.client();
      assert.deepEqual(await c.call('sidecar.ping', {}), { pong: true });
    } finally {
      await s.stop();
    }
  });

  it('refuses to start a second sidecar on the same state folder, saying which one runs', async () => {
    const dir = tempDir();
    const a = await testSidecar({ stateDir: dir });
    try {
      await assert.rejects(
        testSidecar({ stateDir: dir }),
        new RegExp(`another sidecar \\(pid ${process.pid}, started [^)]+\\) on port ${a.port} holds the state folder`),
      );
    } finally {
      await a.stop();
    }
  });

  it('defaults to $XDG_STATE_HOME/blender-sidecar', () => {
    assert.equal(defaultStateDir({ XDG_STATE_HOME: '/x/state' }, 'linux'), '/x/state/blender-sidecar');
    assert.match(defaultStateDir({}, 'linux'), /\.local\/state\/blender-sidecar$/);
  });

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`is removed when the CLI server stops on ${signal}`, async () => {
      const dir = tempDir();
      const proc = startCli(['serve', '--state-dir', dir, '--port', '0']);
      const line = await waitForLine(proc, /^listening on (ws:\/\/127\.0\.0\.1:\d+\/rpc)$/);
      assert.ok(existsSync(join(dir, 'sidecar.json')));
      assert.equal(JSON.parse(readFileSync(join(dir, 'sidecar.json'), 'utf8')).url, line[1]);
      const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
      proc.kill(signal);
      assert.equal(await exited, 0);
      assert.ok(!existsSync(join(dir, 'sidecar.json')), 'sidecar.json removed on clean exit');
    });
  }

  it('warns when bound to a non-loopback address', async () => {
    const dir = tempDir();
    const proc = startCli(['serve', '--state-dir', dir, '--port', '0', '--host', '0.0.0.0']);
    let stderr = '';
    proc.stderr!.on('data', (d) => (stderr += d));
    await waitForLine(proc, /^listening on/);
    proc.kill('SIGTERM');
    await new Promise((r) => proc.once('exit', r));
    assert.match(stderr, /WARN.*not loopback/);
  });

  void spawn;
});

describe('sidecar.stop', () => {
  it('stops a served sidecar cleanly after answering: the process exits 0 and sidecar.json is gone', async () => {
    const dir = tempDir();
    const proc = startCli(['serve', '--state-dir', dir, '--port', '0']);
    await waitForLine(proc, /^listening on/);
    const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
    const c = await SidecarClient.connect({ stateDir: dir });
    assert.deepEqual(await c.call('sidecar.stop', { reason: 'test' }), { stopping: true });
    assert.equal(await exited, 0);
    assert.ok(!existsSync(join(dir, 'sidecar.json')));
    await c.close();
  });

  it('answers sidecar.info at once with probe: false, before Blender has been asked', async () => {
    const s = await testSidecar();
    try {
      const c = await s.client();
      const quick = await c.call('sidecar.info', { probe: false });
      assert.equal(typeof quick.version, 'string');
      assert.ok(quick.pool.instances >= 1);
    } finally {
      await s.stop();
    }
  });
});
