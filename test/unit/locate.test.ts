import assert from 'node:assert/strict';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { BlenderNotFoundError, locateAllBlenders, locateBlender, resolveCommand } from '../../sidecar/domain/blender/locate.js';
import { tempDir } from '../helpers/sidecar.js';

describe('finding Blender', () => {
  it('takes --blender first, then BLENDER, then PATH', () => {
    const dir = tempDir('locate-');
    const a = join(dir, 'a');
    const b = join(dir, 'b');
    const pathBlender = join(dir, 'blender');
    for (const f of [a, b, pathBlender]) {
      writeFileSync(f, '#!/bin/sh\n');
      chmodSync(f, 0o755);
    }
    assert.equal(locateBlender({ explicit: a, env: { BLENDER: b, PATH: dir } }).path, a);
    assert.equal(locateBlender({ env: { BLENDER: b, PATH: dir } }).path, b);
    const viaPath = locateBlender({ env: { PATH: dir } });
    assert.equal(viaPath.path, pathBlender);
    assert.equal(viaPath.source, 'PATH');
  });

  it('refuses an explicit path that is not an executable instead of quietly using another Blender', () => {
    const dir = tempDir('locate-');
    const notExec = join(dir, 'blender.txt');
    writeFileSync(notExec, 'x');
    assert.throws(
      () => locateBlender({ explicit: notExec, env: { PATH: '/usr/bin' } }),
      /--blender .*blender\.txt is not an executable file/,
    );
    assert.throws(
      () => locateBlender({ env: { BLENDER: '/nope/blender', PATH: '/usr/bin' } }),
      /BLENDER=\/nope\/blender is not an executable file/,
    );
  });

  it('lists every place it tried, and how to fix it, when there is no Blender', () => {
    const err = (() => {
      try {
        locateBlender({ env: { PATH: '/nonexistent-a:/nonexistent-b' }, platform: 'darwin' });
      } catch (e) {
        return e as BlenderNotFoundError;
      }
      return undefined;
    })();
    assert.ok(err instanceof BlenderNotFoundError);
    assert.ok(err.tried.includes('/nonexistent-a/blender (PATH)'));
    assert.ok(err.tried.includes('/Applications/Blender.app/Contents/MacOS/Blender (install location)'));
    assert.match(err.message, /apt-get install blender/);
    assert.match(err.message, /--blender PATH/);
    assert.equal(err.kind, 'no-blender');
  });
});

describe('naming Blenders', () => {
  it('resolves a bare command name through PATH, as a shell would', () => {
    const dir = tempDir('locate-');
    const exe = join(dir, 'blender-4.2');
    writeFileSync(exe, '#!/bin/sh\n');
    chmodSync(exe, 0o755);
    assert.equal(locateBlender({ explicit: 'blender-4.2', env: { PATH: `/nonexistent:${dir}` } }).path, exe);
    assert.equal(resolveCommand('blender-4.2', { PATH: dir }), exe);
    assert.throws(
      () => locateBlender({ explicit: 'blender-9.9', env: { PATH: dir } }),
      /--blender blender-9\.9: no executable named blender-9\.9 in PATH/,
    );
  });

  it('keeps every --blender given, once each, and only those', () => {
    const dir = tempDir('locate-');
    const [a, b] = [join(dir, 'a'), join(dir, 'b')];
    for (const f of [a, b]) {
      writeFileSync(f, '#!/bin/sh\n');
      chmodSync(f, 0o755);
    }
    const all = locateAllBlenders({ explicit: [a, b, a], env: { PATH: '/usr/bin' } });
    assert.deepEqual(
      all.map((x) => x.path),
      [a, b],
    );
  });

  it('finds every Blender in PATH and the install places when none is given, BLENDER first', () => {
    const d1 = tempDir('locate-');
    const d2 = tempDir('locate-');
    for (const f of [join(d1, 'blender'), join(d2, 'blender')]) {
      writeFileSync(f, '#!/bin/sh\n');
      chmodSync(f, 0o755);
    }
    const all = locateAllBlenders({ env: { BLENDER: join(d2, 'blender'), PATH: `${d1}:${d2}` }, platform: 'linux' }).map((x) => x.path);
    assert.deepEqual(all.slice(0, 2), [join(d2, 'blender'), join(d1, 'blender')]);
  });
});
