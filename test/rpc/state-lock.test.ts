import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { SidecarClient } from '../../sidecar/client/sidecar-client.js';
import { processStartTime } from '../../sidecar/domain/workers/proc-stat.js';
import { runCli, startCli, waitForLine } from '../helpers/cli.js';
import { tempDir } from '../helpers/sidecar.js';

interface Outcome {
  proc: ChildProcess;
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Starts `serve` n times at once; resolves when each has either printed its address or exited. */
async function startMany(state: string, n: number): Promise<Outcome[]> {
  const procs = Array.from({ length: n }, () => startCli(['serve', '--state-dir', state, '--instances', '1']));
  started.push(...procs);
  return Promise.all(
    procs.map(
      (proc) =>
        new Promise<Outcome>((resolve) => {
          const o: Outcome = { proc, code: null, stdout: '', stderr: '' };
          proc.stdout!.on('data', (d) => {
            o.stdout += d;
            if (/listening on/.test(o.stdout)) resolve(o);
          });
          proc.stderr!.on('data', (d) => (o.stderr += d));
          proc.once('exit', (code) => {
            o.code = code;
            resolve(o);
          });
        }),
    ),
  );
}

const started: ChildProcess[] = [];
after(() => {
  for (const p of started) if (p.exitCode === null) p.kill('SIGKILL');
});

async function exited(p: ChildProcess) {
  if (p.exitCode === null && p.signalCode === null) await new Promise((r) => p.once('exit', r));
}

describe('one sidecar per state folder', () => {
  it('of ten sidecars started at once, exactly one runs, the others name it and exit, and every client reaches it; again after it is killed', async () => {
    const state = join(tempDir('lock-ten-'), 'state');
    for (const round of ['fresh folder', 'after the owner was SIGKILLed (a stale lock and sidecar.json)']) {
      const outcomes = await startMany(state, 10);
      const running = outcomes.filter((o) => o.code === null);
      assert.equal(running.length, 1, `${round}: exactly one keeps running`);
      const winner = running[0]!;
      for (const o of outcomes.filter((x) => x !== winner)) {
        assert.equal(o.code, 1, `${round}: the others exit non-zero`);
        assert.match(
          o.stderr,
          new RegExp(
            `another sidecar \\(pid ${winner.proc.pid}, started [^)]+\\)(?: on port \\d+)? holds the state folder ${state}; use it`,
          ),
        );
      }
      const clients = await Promise.all(Array.from({ length: 10 }, () => SidecarClient.connect({ stateDir: state })));
      const pids = await Promise.all(clients.map(async (c) => (await c.call('sidecar.info')).pid));
      assert.deepEqual(new Set(pids), new Set([winner.proc.pid]), `${round}: every client reaches the one that runs`);
      await Promise.all(clients.map((c) => c.close()));
      winner.proc.kill('SIGKILL');
      await exited(winner.proc);
    }
  });

  it('is not fooled by a sidecar.json and lock whose pid now belongs to another process', async () => {
    const state = join(tempDir('lock-reused-'), 'state');
    mkdirSync(state, { recursive: true, mode: 0o700 });
    // A live process that is not a sidecar, holding the pid the files name (as after a reboot or pid wrap-around).
    const stranger = spawn('sleep', ['60'], { stdio: 'ignore' });
    started.push(stranger);
    const wrongStart = String(Number(processStartTime(stranger.pid!)) - 1000);
    const stale = {
      port: 9,
      pid: stranger.pid,
      token: 'x'.repeat(43),
      version: '0.0.1',
      startedAt: '2026-01-01T00:00:00Z',
      pidStartTime: wrongStart,
    };
    writeFileSync(join(state, 'sidecar.json'), JSON.stringify(stale), { mode: 0o600 });
    writeFileSync(join(state, 'sidecar.lock'), JSON.stringify({ pid: stranger.pid, startTime: wrongStart, startedAt: stale.startedAt }));

    const call = runCli(['call', 'sidecar.info', '--state-dir', state]);
    assert.equal(call.status, 1);
    assert.doesNotMatch(call.stderr, /ECONNREFUSED|port 9/, 'not sent to the dead port');

    const serve = startCli(['serve', '--state-dir', state, '--instances', '1']);
    started.push(serve);
    await waitForLine(serve, /^listening on/);
    const info = runCli(['call', 'sidecar.info', '--state-dir', state]);
    assert.equal(info.status, 0, info.stderr);
    assert.equal(JSON.parse(info.stdout).pid, serve.pid);
    serve.kill('SIGTERM');
    await exited(serve);
    assert.equal(existsSync(join(state, 'sidecar.lock')), false, 'a clean stop gives the folder back');
    assert.equal(existsSync(join(state, 'sidecar.json')), false);
  });
});
