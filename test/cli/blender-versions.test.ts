/**
 * A command that starts a sidecar of its own (`blender-sidecar render` in a script) asks each Blender its version once
 * per install, not once per command: the answer is kept in the state folder's blender-versions.json. The Blender here
 * is the real one behind a wrapper script that writes down how it was called.
 */
import assert from 'node:assert/strict';
import { chmodSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { blenderPath, makeScene } from '../helpers/blender.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/sidecar.js';

describe("a command's own sidecar and Blender's version", () => {
  let dir: string;
  let wrapper: string;
  let calls: string;
  let scene: string;
  before(() => {
    dir = tempDir('cli-versions-');
    calls = join(dir, 'calls.log');
    wrapper = join(dir, 'blender-wrapper');
    writeFileSync(wrapper, `#!/bin/sh\necho "$*" >> '${calls}'\nexec '${blenderPath()}' "$@"\n`);
    chmodSync(wrapper, 0o755);
    scene = makeScene(dir, 'one.blend', { frames: 1, size: '32x24', samples: 1 });
  });

  const render = (out: string) => {
    const r = runCli([
      'render',
      scene,
      '--output',
      `${join(dir, out)}/`,
      '--blender',
      wrapper,
      '--state-dir',
      join(dir, 'state'),
      '--json',
    ]);
    assert.equal(r.status, 0, r.stderr);
    const { job } = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    assert.equal(job.result.rendered, 1);
    return job;
  };
  const versionCalls = () =>
    readFileSync(calls, 'utf8')
      .split('\n')
      .filter((l) => l.trim() === '--version').length;

  it('asks once, then reads the answer from the state folder', () => {
    const first = render('a');
    assert.equal(versionCalls(), 1, 'the first command asked Blender');
    const stored = JSON.parse(readFileSync(join(dir, 'state', 'blender-versions.json'), 'utf8'));
    assert.equal(stored.versions[wrapper].version, first.blender.version);
    const second = render('b');
    assert.equal(versionCalls(), 1, 'the second command did not');
    assert.equal(second.blender.version, first.blender.version);
  });

  it('asks again when the Blender there changed, when the stored answer is cut short, and after a day', () => {
    const later = new Date(Date.now() + 60_000);
    utimesSync(wrapper, later, later); // an upgrade in place: same path, another file
    render('c');
    assert.equal(versionCalls(), 2);
    const file = join(dir, 'state', 'blender-versions.json');
    writeFileSync(file, readFileSync(file, 'utf8').slice(0, 15));
    const job = render('d');
    assert.equal(versionCalls(), 3);
    assert.equal(JSON.parse(readFileSync(file, 'utf8')).versions[wrapper].version, job.blender.version, 'written anew');
    // A wrapper keeps its size and time when the Blender it runs moves under it: an answer a day old is asked again.
    const stored = JSON.parse(readFileSync(file, 'utf8'));
    stored.versions[wrapper].at = Date.now() - 25 * 3600 * 1000;
    writeFileSync(file, JSON.stringify(stored));
    render('e');
    assert.equal(versionCalls(), 4);
  });
});
