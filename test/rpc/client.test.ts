/**
 * The typed TypeScript client (sidecar/client/sidecar-client.ts) against real sidecars: in-process ones, and CLI ones
 * where a test needs to freeze (suspend: SIGSTOP, NtSuspendProcess on Windows) or kill the sidecar under the client.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { SidecarClient } from '../../sidecar/client/sidecar-client.js';
import { CallTimeoutError, ConnectionClosedError, RpcCallError, SidecarNotFoundError } from '../../sidecar/client/errors.js';
import { setSuspended } from '../../sidecar/platform.js';
import { startCli, waitForLine } from '../helpers/cli.js';
import { tempDir as makeTempDir, testSidecar } from '../helpers/sidecar.js';
import { until } from '../helpers/until.js';

const dirs: string[] = [];
function tempDir(): string {
  const d = makeTempDir();
  dirs.push(d);
  return d;
}
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A free port that is not `avoid` (so a restarted sidecar provably moved). */
async function freePortOtherThan(avoid: number): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const srv = createServer();
      srv.once('error', reject);
      srv.listen(0, '127.0.0.1', () => {
        const p = (srv.address() as { port: number }).port;
        srv.close(() => resolve(p));
      });
    });
    if (port !== avoid) return port;
  }
}

/** `blender-sidecar serve` as its own process, so a test can stop or kill it under the client. */
async function serveProcess(stateDir: string): Promise<{ proc: ChildProcess; url: string; token: string; end(): Promise<void> }> {
  const proc = startCli(['serve', '--state-dir', stateDir, '--port', '0', '--blender', '/nonexistent/blender']);
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const [, url] = await waitForLine(proc, /^listening on (ws:\/\/\S+)$/);
  const { token } = JSON.parse(readFileSync(join(stateDir, 'sidecar.json'), 'utf8')) as { token: string };
  return {
    proc,
    url: url!,
    token,
    async end() {
      if (proc.exitCode === null && proc.signalCode === null) {
        setSuspended(proc.pid!, false);
        proc.kill('SIGKILL');
      }
      await exited;
    },
  };
}

describe('SidecarClient', () => {
  it('connects through the discovery file in stateDir', async () => {
    const sidecar = await testSidecar();
    const client = await SidecarClient.connect({ stateDir: sidecar.stateDir });
    try {
      assert.equal(client.url, sidecar.url);
      assert.equal(client.connected, true);
      assert.deepEqual(await client.call('sidecar.ping', { echo: 'via sidecar.json' }), { pong: true, echo: 'via sidecar.json' });
    } finally {
      await client.close();
      await sidecar.stop();
    }
    assert.equal(client.connected, false);
  });

  it('connects with a URL and token, without a discovery file', async () => {
    const sidecar = await testSidecar({ discoverable: false });
    const client = await SidecarClient.connect({ url: sidecar.url, token: sidecar.token });
    try {
      assert.deepEqual(await client.call('sidecar.ping', {}), { pong: true });
    } finally {
      await client.close();
      await sidecar.stop();
    }
  });

  it("rejects a refused token with the server's reason", async () => {
    const sidecar = await testSidecar();
    try {
      await assert.rejects(SidecarClient.connect({ url: sidecar.url, token: 'not-the-token' }), (err: Error) => {
        assert.ok(err instanceof ConnectionClosedError, `got ${err.name}`);
        assert.match(err.message, /refused the connection \(HTTP 401\): .*token is wrong/);
        return true;
      });
    } finally {
      await sidecar.stop();
    }
  });

  it('says how to start a sidecar when none is running', async () => {
    await assert.rejects(SidecarClient.connect({ stateDir: tempDir() }), (err: Error) => {
      assert.ok(err instanceof SidecarNotFoundError, `got ${err.name}`);
      assert.match(err.message, /no sidecar is running.*blender-sidecar serve/);
      return true;
    });
  });

  it('rejects a refused call with RpcCallError carrying the code and the fields in data', async () => {
    const sidecar = await testSidecar();
    const client = await sidecar.client();
    try {
      await assert.rejects(client.call('sidecar.ping', { nope: 1 } as never), (err: Error) => {
        assert.ok(err instanceof RpcCallError, `got ${err.name}`);
        assert.equal(err.code, -32602);
        assert.equal(err.method, 'sidecar.ping');
        assert.deepEqual(
          (err.data as { errors: Array<{ field: string }> }).errors.map((e) => e.field),
          ['nope'],
        );
        return true;
      });
    } finally {
      await sidecar.stop();
    }
  });

  it('delivers a subscribed notification to every `on` listener, and not to one that stopped listening', async () => {
    const sidecar = await testSidecar();
    const client = await sidecar.client();
    const heard: string[] = [];
    const stopped: string[] = [];
    client.on('sidecar.shutdown', (p) => heard.push(p.reason));
    client.on('sidecar.shutdown', (p) => heard.push(`again: ${p.reason}`));
    const off = client.on('sidecar.shutdown', (p) => stopped.push(p.reason));
    off();
    assert.deepEqual(await client.subscribe(['sidecar.shutdown']), ['sidecar.shutdown']);
    await sidecar.close('maintenance');
    await until(() => heard.length === 2, { timeoutMs: 5000, what: 'the sidecar.shutdown notification' });
    assert.deepEqual(heard, ['maintenance', 'again: maintenance']);
    assert.deepEqual(stopped, []);
    await sidecar.stop();
  });

  it('rejects an unknown topic when subscribing, naming it', async () => {
    const sidecar = await testSidecar();
    const client = await sidecar.client();
    try {
      await assert.rejects(client.subscribe(['no.such.topic']), /no\.such\.topic/);
    } finally {
      await sidecar.stop();
    }
  });

  it('times out a call that gets no answer with CallTimeoutError, and drops the late answer', { timeout: 60_000 }, async () => {
    const dir = tempDir();
    const serve = await serveProcess(dir);
    const client = await SidecarClient.connect({ stateDir: dir });
    try {
      assert.deepEqual(await client.call('sidecar.ping', {}), { pong: true });
      setSuspended(serve.proc.pid!, true); // the socket stays open; nothing answers
      await assert.rejects(client.call('sidecar.ping', { echo: 'late' }, { timeoutMs: 300 }), (err: Error) => {
        assert.ok(err instanceof CallTimeoutError, `got ${err.name}`);
        assert.equal(err.method, 'sidecar.ping');
        assert.equal(err.timeoutMs, 300);
        return true;
      });
      setSuspended(serve.proc.pid!, false); // the late answer to the timed-out call arrives now, and must be ignored
      assert.deepEqual(await client.call('sidecar.ping', { echo: 'next' }), { pong: true, echo: 'next' });
    } finally {
      await client.close();
      await serve.end();
    }
  });

  it('rejects calls pending when the connection drops with ConnectionClosedError, and reports it', { timeout: 60_000 }, async () => {
    const dir = tempDir();
    const serve = await serveProcess(dir);
    const client = await SidecarClient.connect({ stateDir: dir });
    const states: string[] = [];
    client.onConnection((s) => states.push(s));
    try {
      setSuspended(serve.proc.pid!, true); // so the calls below are surely still unanswered when it dies
      const pending = [client.call('sidecar.ping', {}, { timeoutMs: 0 }), client.call('job.list', {}, { timeoutMs: 0 })];
      const outcomes = Promise.allSettled(pending);
      serve.proc.kill('SIGKILL');
      for (const outcome of await outcomes) {
        assert.equal(outcome.status, 'rejected');
        assert.ok(outcome.reason instanceof ConnectionClosedError, `got ${outcome.reason}`);
        assert.match(outcome.reason.message, /closed before (sidecar\.ping|job\.list) was answered/);
      }
      assert.deepEqual(states, ['closed']);
      assert.equal(client.connected, false);
      await assert.rejects(client.call('sidecar.ping', {}), ConnectionClosedError);
    } finally {
      await client.close();
      await serve.end();
    }
  });

  describe('with reconnect: true', () => {
    it('follows the sidecar to a restart on another port and token, renewing its subscriptions', { timeout: 60_000 }, async () => {
      const dir = tempDir();
      const first = await testSidecar({ stateDir: dir });
      const client = await SidecarClient.connect({ stateDir: dir, reconnect: true });
      const states: string[] = [];
      client.onConnection((s) => states.push(s));
      const heard: string[] = [];
      client.on('sidecar.shutdown', (p) => heard.push(p.reason));
      await client.subscribe(['sidecar.shutdown']);
      let second: Awaited<ReturnType<typeof testSidecar>> | undefined;
      try {
        await first.close('first one stops');
        await until(() => states.length === 1, { timeoutMs: 5000, what: "'closed'" });
        assert.deepEqual(heard, ['first one stops']);

        second = await testSidecar({ stateDir: dir, port: await freePortOtherThan(first.port) });
        assert.notEqual(second.port, first.port);
        assert.notEqual(second.token, first.token);
        await until(() => states.length === 2, { timeoutMs: 15_000, what: "'open' again" });
        assert.deepEqual(states, ['closed', 'open']);
        assert.equal(client.url, second.url, 'sidecar.json was read again');
        // The renewal (events.subscribe) is sent right after 'open'; a call sent after it is answered after it.
        await new Promise((r) => setImmediate(r));
        assert.deepEqual(await client.call('sidecar.ping', { echo: 2 }), { pong: true, echo: 2 });

        // Proof that the subscription was renewed: the second sidecar's shutdown is heard, though the client never
        // called subscribe on it.
        await second.close('second one stops');
        await until(() => heard.length === 2, { timeoutMs: 5000, what: 'the second sidecar.shutdown' });
        assert.deepEqual(heard, ['first one stops', 'second one stops']);
      } finally {
        await client.close();
        await second?.stop();
        await first.stop();
      }
    });

    it('stops trying when closed while waiting to reconnect, and opens nothing afterwards', { timeout: 30_000 }, async () => {
      const dir = tempDir();
      const first = await testSidecar({ stateDir: dir });
      const client = await SidecarClient.connect({ stateDir: dir, reconnect: true });
      const states: string[] = [];
      client.onConnection((s) => states.push(s));
      await first.close('gone');
      await until(() => states.length === 1, { timeoutMs: 5000, what: "'closed'" });
      // Let two tries fail (at 100 and 300 ms), so the client is in a longer wait (until 700 ms) when it is closed
      // and the new sidecar is up before that wait ends.
      await new Promise((r) => setTimeout(r, 400));
      await client.close();
      const second = await testSidecar({ stateDir: dir });
      try {
        await new Promise((r) => setTimeout(r, 1000)); // past that wait and the next
        const metrics = await (await fetch(`http://127.0.0.1:${second.port}/metrics`)).text();
        assert.match(metrics, /sidecar_ws_connections 0\b/);
        assert.deepEqual(states, ['closed']);
      } finally {
        await second.stop();
        await first.stop();
      }
    });
  });
});
