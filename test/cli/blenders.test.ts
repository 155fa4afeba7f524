/**
 * Naming Blenders on the command line: `serve --blender` is repeatable and takes a command name from PATH as a shell
 * would; `export --blender` pins the job's Blender, by version or path; a file newer than every Blender is refused.
 */
import assert from 'node:assert/strict';
import { copyFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { corpusDir } from '../helpers/corpus.js';
import { runCli, startCli, waitForLine } from '../helpers/cli.js';
import { tempDir } from '../helpers/sidecar.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const ci43 = join(root, '.ci', 'blender-4.3');

describe('--blender on the command line', () => {
  let dir: string;
  let state: string;
  let serve: ReturnType<typeof startCli>;
  before(async () => {
    dir = tempDir('cli-blenders-');
    state = join(dir, 'state');
    for (const name of ['B.blend', '28_sk_no_reset.blend']) copyFileSync(join(corpusDir(), name), join(dir, name));
    // "blender" is a bare command name: found through PATH, as a shell would (it used to be "not an executable file").
    serve = startCli(['serve', '--state-dir', state, '--instances', '1', '--blender', 'blender', '--blender', ci43]);
    await waitForLine(serve, /^listening on ws:\/\//, 60_000);
  });
  after(async () => {
    runCli(['call', 'sidecar.stop', '--state-dir', state]);
    await new Promise((r) => (serve.exitCode === null ? serve.once('exit', r) : r(undefined)));
  });

  it('serve takes --blender more than once, and a command name from PATH', () => {
    const r = runCli(['call', 'sidecar.info', '--state-dir', state]);
    assert.equal(r.status, 0, r.stderr);
    const info = JSON.parse(r.stdout);
    assert.deepEqual(
      info.blenders.map((b: { version: string }) => b.version.split('.').slice(0, 2).join('.')),
      ['3.4', '4.3'],
    );
    assert.match(info.blenders[0].path, /\/blender$/);
    assert.ok(existsSync(info.blenders[0].path));
  });

  it('export --blender pins the job to a version; without it the file goes to the Blender it needs', () => {
    const pinned = runCli([
      'export',
      join(dir, 'B.blend'),
      '--format',
      'glb',
      '--output',
      join(dir, 'pinned.glb'),
      '--blender',
      '4.3',
      '--state-dir',
      state,
      '--json',
    ]);
    assert.equal(pinned.status, 0, pinned.stderr);
    const job = JSON.parse(pinned.stdout.trim().split('\n').at(-1)!).job;
    assert.match(job.blender.version, /^4\.3\./);
    assert.match(job.blender.why, /pinned to 4\.3/);
    const routed = runCli([
      'export',
      join(dir, 'B.blend'),
      '--format',
      'glb',
      '--output',
      join(dir, 'routed.glb'),
      '--state-dir',
      state,
      '--json',
    ]);
    assert.equal(routed.status, 0, routed.stderr);
    assert.match(JSON.parse(routed.stdout.trim().split('\n').at(-1)!).job.blender.version, /^3\.4\./);
  });

  it('says what to fix for a pin no installed Blender has, and for a file newer than all of them', () => {
    const badPin = runCli([
      'export',
      join(dir, 'B.blend'),
      '--format',
      'glb',
      '--output',
      join(dir, 'x.glb'),
      '--blender',
      '9.9',
      '--state-dir',
      state,
    ]);
    assert.equal(badPin.status, 1);
    assert.match(badPin.stderr, /blender: no installed Blender is 9\.9; installed: 3\.4\.\d+ \(.*\), 4\.3\.\d+/);
    const newer = runCli([
      'export',
      join(dir, '28_sk_no_reset.blend'),
      '--format',
      'glb',
      '--output',
      join(dir, 'y.glb'),
      '--state-dir',
      state,
    ]);
    assert.equal(newer.status, 1);
    assert.match(newer.stderr, /saved by Blender 5\.3, newer than every installed Blender \(3\.4\.\d+ .*4\.3\.\d+/);
  });
});
