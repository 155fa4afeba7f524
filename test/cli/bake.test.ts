import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { makeBakeScene } from '../helpers/bake.js';
import { runCli } from '../helpers/cli.js';
import { pixels } from '../helpers/images.js';
import { tempDir } from '../helpers/sidecar.js';

/** `blender-sidecar bake` as a user runs it, with a sidecar started for the call. */
describe('blender-sidecar bake', () => {
  let dir: string;
  let asset: string;
  const env = () => ({ XDG_STATE_HOME: join(dir, 'state') });
  before(() => {
    dir = tempDir('cli-bake-');
    asset = makeBakeScene(dir);
  });

  it('bakes normal and AO maps from a high-poly source into a folder, listing each map', () => {
    const out = join(dir, 'textures');
    const r = runCli(
      [
        'bake',
        asset,
        '--objects',
        'Low',
        '--from',
        'High',
        '--extrusion',
        '0.3',
        '--maps',
        'normal,ao',
        '--size',
        '64',
        '--samples',
        '2',
        '--output',
        `${out}/`,
      ],
      env(),
    );
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(readdirSync(out).sort(), ['Low_ao.png', 'Low_normal.png']);
    assert.equal(pixels(join(out, 'Low_normal.png')).width, 64);
    assert.match(r.stdout, /Low_normal\.png\s+64x64\s+\(normal, \d+% of the pixels baked\)/);
  });

  it('exits 1 naming the object when a target cannot be baked, and 2 for usage mistakes', () => {
    const r = runCli(['bake', asset, '--objects', 'NoUV', '--maps', 'normal', '--size', '16', '--output', `${dir}/nouv/`], env());
    assert.equal(r.status, 1);
    assert.match(r.stderr, /error: the bake failed: 'NoUV' has no UV map/);
    const usage = runCli(['bake', asset, '--objects', 'Low', '--output', `${dir}/x/`], env());
    assert.equal(usage.status, 2);
    assert.match(usage.stderr, /--maps is required/);
    const stray = runCli(['bake', asset, '--objects', 'Low', '--maps', 'ao', '--cage', 'Cage', '--output', `${dir}/x/`], env());
    assert.equal(stray.status, 2);
    assert.match(stray.stderr, /--cage belongs to a selected-to-active bake: add --from HIGH/);
  });
});
