import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { routeBlend } from '../../sidecar/domain/blender/routing.js';
import type { InstalledBlender } from '../../sidecar/domain/blender/installations.js';
import type { BlendHeader } from '../../sidecar/domain/blender/blend-header.js';

const installed: InstalledBlender[] = [
  { path: '/usr/bin/blender', source: 'PATH', version: '3.4.1', versionNumber: 304 },
  { path: '/opt/blender-4.3/blender', source: 'install location', version: '4.3.2', versionNumber: 403 },
  { path: '/opt/blender-5.2/blender', source: 'install location', version: '5.2.2', versionNumber: 502 },
  { path: '/opt/broken/blender', source: 'install location', problem: 'did not say its version' },
];
const saved = (n: number): BlendHeader => ({ isBlend: true, versionNumber: n, version: `${Math.floor(n / 100)}.${n % 100}` });

describe('which Blender runs a file', () => {
  it('takes the Blender with the same major.minor', async () => {
    assert.equal((await routeBlend('/f.blend', saved(403), installed, undefined, 'blendFile')).path, '/opt/blender-4.3/blender');
    assert.equal((await routeBlend('/f.blend', saved(304), installed, undefined, 'blendFile')).version, '3.4.1');
  });

  it('otherwise the oldest installed Blender newer than the file', async () => {
    const old = await routeBlend('/f.blend', saved(278), installed, undefined, 'blendFile');
    assert.equal(old.path, '/usr/bin/blender');
    assert.match(old.why, /oldest installed Blender newer/);
    assert.equal((await routeBlend('/f.blend', saved(306), installed, undefined, 'blendFile')).version, '4.3.2');
    assert.equal((await routeBlend('/f.blend', saved(405), installed, undefined, 'blendFile')).version, '5.2.2');
  });

  it('refuses a file newer than every installed Blender with -32602, naming its version and the installed ones', async () => {
    await assert.rejects(routeBlend('/shots/f.blend', saved(503), installed, undefined, 'blendFile'), (err: Error & { kind: string }) => {
      assert.equal(err.kind, 'bad-input');
      assert.match(
        err.message,
        /^blendFile: \/shots\/f\.blend was saved by Blender 5\.3, newer than every installed Blender \(3\.4\.1 \(\/usr\/bin\/blender\), 4\.3\.2 .*5\.2\.2/,
      );
      return true;
    });
  });

  it('follows a pin by version, and says when no installed Blender has it', async () => {
    const pinned = await routeBlend('/f.blend', saved(304), installed, '5.2', 'blendFile');
    assert.equal(pinned.path, '/opt/blender-5.2/blender');
    const older = await routeBlend('/f.blend', saved(402), installed, '3.4', 'blendFile');
    assert.match(older.why, /pinned to 3\.4; the file was saved by newer Blender 4\.2/);
    await assert.rejects(
      routeBlend('/f.blend', saved(304), installed, '4.2', 'blendFile'),
      /blender: no installed Blender is 4\.2; installed: 3\.4\.1/,
    );
  });

  it('says what a bad pin path is', async () => {
    await assert.rejects(
      routeBlend('/f.blend', saved(304), installed, '/nope/blender', 'blendFile'),
      /blender: --blender|blender: blender \/nope\/blender is not an executable file/,
    );
  });
});
