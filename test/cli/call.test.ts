/**
 * The built CLI (dist/blender-sidecar.mjs) as a user runs it: `call` against a `serve` in another process, usage
 * mistakes (exit 2, naming what is wrong), `--help` on every command, `--version`.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { newToken } from '../../sidecar/discovery.js';
import { runCli, startCli, waitForLine } from '../helpers/cli.js';
import { tempDir as makeTempDir } from '../helpers/sidecar.js';

const dirs: string[] = [];
function tempDir(prefix?: string): string {
  const d = makeTempDir(prefix);
  dirs.push(d);
  return d;
}
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

// A call without --state-dir must never reach a sidecar the user happens to run: point the default elsewhere.
const env = { XDG_STATE_HOME: tempDir('sidecar-cli-home-') };

describe('blender-sidecar call', () => {
  let dir: string;
  let serve: ChildProcess;
  before(async () => {
    dir = tempDir();
    // `runCli` blocks this process while the CLI runs, so the sidecar it calls must live in a process of its own.
    serve = startCli(['serve', '--state-dir', dir, '--port', '0', '--blender', '/nonexistent/blender'], env);
    await waitForLine(serve, /^listening on ws:/);
  });
  after(async () => {
    const exited = new Promise((r) => serve.once('exit', r));
    serve.kill('SIGTERM');
    await exited;
  });

  it('prints the result as JSON with exit status 0', () => {
    const r = runCli(['call', 'sidecar.ping', '--state-dir', dir], env);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { pong: true });
    assert.equal(r.stderr, '');
  });

  it('passes JSON params through', () => {
    const r = runCli(['call', 'sidecar.ping', '{"echo": {"a": [1, "two"]}}', '--state-dir', dir], env);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { pong: true, echo: { a: [1, 'two'] } });
  });

  it('connects with --url and --token too', () => {
    const { url, token } = JSON.parse(readFileSync(join(dir, 'sidecar.json'), 'utf8'));
    const r = runCli(['call', 'sidecar.ping', '--url', url, '--token', token], env);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { pong: true });
  });

  it('says why a wrong token is refused, with exit status 1', () => {
    const { url } = JSON.parse(readFileSync(join(dir, 'sidecar.json'), 'utf8'));
    const r = runCli(['call', 'sidecar.ping', '--url', url, '--token', 'not-the-token'], env);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^error: .*refused the connection \(HTTP 401\): .*token is wrong/);
  });

  it('prints "error: invalid params: ..." naming the bad field, with exit status 1', () => {
    const r = runCli(['call', 'sidecar.ping', '{"nope": 1}', '--state-dir', dir], env);
    assert.equal(r.status, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^error: invalid params: nope: unknown field\n$/);
  });

  it('lists every bad field on its own line when there are several', () => {
    const r = runCli(['call', 'events.subscribe', '{"topics": "job.state", "extra": true}', '--state-dir', dir], env);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^error: invalid params: /);
    assert.match(r.stderr, /^ {2}topics: /m);
    assert.match(r.stderr, /^ {2}extra: unknown field$/m);
  });

  it('names an unknown method, with exit status 1', () => {
    const r = runCli(['call', 'no.such', '--state-dir', dir], env);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^error: method not found: "no\.such"/);
  });

  it('refuses params that are not JSON with exit status 2 and says so', () => {
    const r = runCli(['call', 'sidecar.ping', '{nope', '--state-dir', dir], env);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^error: JSON-PARAMS is not valid JSON: .+\n\(see blender-sidecar call --help\)\n$/);
  });

  it('asks for the method when none is given, with exit status 2', () => {
    const r = runCli(['call', '--state-dir', dir], env);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^error: name the method to call/);
  });

  it('says how to start a sidecar when none is running, with exit status 1', () => {
    const empty = tempDir();
    const r = runCli(['call', 'sidecar.ping', '--state-dir', empty], env);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^error: no sidecar is running .*; start one with: blender-sidecar serve\n$/);
    // And the same without --state-dir, through the default folder.
    const d = runCli(['call', 'sidecar.ping'], env);
    assert.equal(d.status, 1);
    assert.match(d.stderr, /start one with: blender-sidecar serve/);
  });
});

describe('blender-sidecar usage', () => {
  it('names an unknown command, with exit status 2', () => {
    const r = runCli(['frobnicate'], env);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^error: unknown command "frobnicate"; commands: serve, .*call/);
  });

  it('names an unknown flag, with exit status 2', () => {
    const r = runCli(['call', 'sidecar.ping', '--frame', '3'], env);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^error: Unknown option '--frame'\n\(see blender-sidecar call --help\)\n$/);
  });

  it('prints the command list for --help with exit status 0, and for no command with exit status 2', () => {
    const r = runCli(['--help'], env);
    assert.equal(r.status, 0);
    assert.match(r.stdout, /^Usage: blender-sidecar COMMAND/m);
    const bare = runCli([], env);
    assert.equal(bare.status, 2);
    assert.equal(bare.stdout, r.stdout);
  });

  const listed = runCli(['--help'], env)
    .stdout.split('Commands:\n')[1]!
    .split('\n\n')[0]!
    .split('\n')
    .map((line) => line.trim().split(/\s+/)[0]!);
  it('lists at least serve, call and docs', () => {
    for (const name of ['serve', 'call', 'docs']) assert.ok(listed.includes(name), `${name} in ${listed.join(', ')}`);
  });
  for (const name of listed) {
    it(`shows ${name}'s help for ${name} --help, with exit status 0`, () => {
      for (const flag of ['--help', '-h']) {
        const r = runCli([name, flag], env);
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.stdout, new RegExp(`^Usage: blender-sidecar ${name}\\b`));
        assert.match(r.stdout, /^Options:$/m);
        assert.match(r.stdout, /^ {2}--help\s+Show this help\.$/m);
        assert.equal(r.stderr, '');
      }
    });
  }

  it("prints package.json's version for --version", () => {
    const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    const r = runCli(['--version'], env);
    assert.equal(r.status, 0);
    assert.equal(r.stdout, `${version}\n`);
  });
});

describe('the token a sidecar makes', () => {
  it('never starts with "-", which a command line would read as an option (one draw in 64 would)', () => {
    const tokens = Array.from({ length: 5000 }, () => newToken());
    assert.deepEqual(
      tokens.filter((t) => t.startsWith('-')),
      [],
    );
    assert.ok(
      tokens.every((t) => /^[A-Za-z0-9_-]{43}$/.test(t)),
      'still 32 random bytes, base64url',
    );
  });
});
