import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmodSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { VERSION } from '../../sidecar/version.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/sidecar.js';

/** The CLI's compiled form, kept between runs (sidecar/cli/code-cache.ts): a shortcut that must never change an answer. */
describe("the CLI's compile cache", () => {
  const version = (env: NodeJS.ProcessEnv) => {
    const r = runCli(['--version'], env);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), VERSION);
  };
  const caches = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.v8'));
  const whole = (file: string) => {
    const data = readFileSync(file);
    return createHash('sha256').update(data.subarray(32)).digest().equals(data.subarray(0, 32));
  };

  it('is written by the first run in the user cache folder, then used as it is', () => {
    const home = tempDir('code-cache-');
    const dir = join(home, 'blender-sidecar', 'code');
    version({ XDG_CACHE_HOME: home, BLENDER_SIDECAR_CODE_CACHE: '' });
    const [name] = caches(dir);
    assert.ok(name, 'a cache file after the first run');
    assert.equal(statSync(dir).mode & 0o777, 0o700, 'a folder of the user alone');
    const file = join(dir, name);
    assert.ok(whole(file), 'its digest matches its content');
    const first = readFileSync(file);
    const { mtimeMs } = statSync(file);
    version({ XDG_CACHE_HOME: home, BLENDER_SIDECAR_CODE_CACHE: '' });
    // A cache V8 refused would be written again: this one was taken.
    assert.deepEqual(caches(dir), [name]);
    assert.equal(statSync(file).mtimeMs, mtimeMs, 'not written again');
    assert.ok(readFileSync(file).equals(first));
  });

  it('ignores a cut or damaged cache, and writes a whole one in its place', () => {
    const dir = tempDir('code-cache-damaged-');
    version({ BLENDER_SIDECAR_CODE_CACHE: dir });
    const file = join(dir, caches(dir)[0]!);
    const good = readFileSync(file);
    writeFileSync(file, good.subarray(0, Math.floor(good.length / 2)));
    version({ BLENDER_SIDECAR_CODE_CACHE: dir });
    assert.ok(whole(file) && readFileSync(file).length > good.length / 2, 'the cut file was replaced by a whole one');
    const flipped = Buffer.from(good);
    for (let i = 1000; i < flipped.length; i += 997) flipped[i] = flipped[i]! ^ 0xff;
    writeFileSync(file, flipped);
    version({ BLENDER_SIDECAR_CODE_CACHE: dir });
    assert.ok(whole(file), 'the damaged file was replaced');
  });

  it("keeps this bundle's caches only: another bundle's go when one of this one's is written", () => {
    const dir = tempDir('code-cache-old-');
    writeFileSync(join(dir, 'cli-0123456789abcdef01234567-render.v8'), 'a cache of an older bundle');
    version({ BLENDER_SIDECAR_CODE_CACHE: dir });
    const [mine] = caches(dir);
    assert.deepEqual(caches(dir), [mine], "the older bundle's cache is gone");
    // Each command has its own (it holds what that command compiled): a second command adds one of the same bundle.
    assert.equal(runCli(['render', '--help'], { BLENDER_SIDECAR_CODE_CACHE: dir }).status, 0);
    assert.equal(caches(dir).length, 2);
    assert.ok(caches(dir).some((f) => f.endsWith('-render.v8')));
  });

  it('runs without one where it cannot be kept: off, a folder others can write to, a path that cannot be a folder', () => {
    const off = tempDir('code-cache-off-');
    version({ XDG_CACHE_HOME: off, BLENDER_SIDECAR_CODE_CACHE: 'off' });
    assert.deepEqual(readdirSync(off), []);
    const shared = tempDir('code-cache-shared-');
    chmodSync(shared, 0o777);
    version({ BLENDER_SIDECAR_CODE_CACHE: shared });
    assert.deepEqual(caches(shared), [], 'code others could have written is never run, so nothing is kept there');
    const file = join(tempDir('code-cache-file-'), 'not-a-folder');
    writeFileSync(file, '');
    version({ BLENDER_SIDECAR_CODE_CACHE: join(file, 'code') });
  });
});
