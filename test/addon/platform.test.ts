// The add-on's platform module (addon/blender_sidecar/platform.py) on plain python3: its own unittest suite
// (test_platform.py), and the state folder it finds compared with the sidecar's (sidecar/platform.ts) for each platform,
// since the add-on finds a running sidecar only where the sidecar wrote its sidecar.json. Needs no Blender.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { userStateFolder, type Os } from '../../sidecar/platform.js';
import { root, run } from './blenders.js';

const python = process.env.PYTHON ?? 'python3';

describe('the add-on platform module', () => {
  it('passes test_platform.py on plain python3', async () => {
    const r = await run(python, [join(root, 'test', 'addon', 'test_platform.py')], { timeoutMs: 60_000 });
    assert.equal(r.status, 0, r.output);
    assert.match(r.output, /^OK/m, r.output);
  });

  it('finds the same default state folder as the sidecar on Linux, macOS and Windows', () => {
    const cases: Array<[Os, NodeJS.ProcessEnv, string]> = [
      ['linux', { XDG_STATE_HOME: '/x/state' }, '/home/ann'],
      ['linux', { XDG_STATE_HOME: 'relative' }, '/home/ann'],
      ['linux', {}, '/home/ann'],
      ['darwin', {}, '/Users/ann'],
      ['win32', { LOCALAPPDATA: 'D:\\Local' }, 'C:\\Users\\ann'],
      ['win32', {}, 'C:\\Users\\ann'],
    ];
    const script = [
      'import json, sys',
      `sys.path.insert(0, ${JSON.stringify(join(root, 'addon'))})`,
      'from blender_sidecar import platform',
      'print(json.dumps([platform.state_folder(env, os, home) for os, env, home in json.load(sys.stdin)]))',
    ].join('\n');
    const r = spawnSync(python, ['-B', '-c', script], { input: JSON.stringify(cases), encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    const addon = JSON.parse(r.stdout) as string[];
    assert.deepEqual(
      addon,
      cases.map(([os, env, home]) => userStateFolder('blender-sidecar', env, os, home)),
    );
  });
});
