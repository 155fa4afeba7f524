import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { workerEnv } from '../../sidecar/domain/workers/blender-worker.js';

describe("a worker's environment", () => {
  const shell = { PATH: '/usr/bin', HOME: '/home/artist', PYTHONPATH: '/studio/lib', PYTHONHOME: '/opt/py', pythonstartup: 'x.py' };

  it('with a compiled-Python cache: the cache folder, and no PYTHON* variable of the shell (Blender 4 ignores them too)', () => {
    const env = workerEnv(shell, '/state/python-cache');
    assert.equal(env.PYTHONPYCACHEPREFIX, '/state/python-cache');
    assert.equal(env.PYTHONNOUSERSITE, '1', 'no user site-packages, as Blender has by default');
    assert.equal(env.PYTHONPATH, undefined);
    assert.equal(env.PYTHONHOME, undefined);
    assert.equal(env.pythonstartup, undefined);
    assert.equal(env.PATH, '/usr/bin');
    assert.equal(env.HOME, '/home/artist');
    assert.equal(env.PYTHONUNBUFFERED, '1');
  });

  it('without one: the shell environment as it is', () => {
    const env = workerEnv(shell, undefined);
    assert.equal(env.PYTHONPATH, '/studio/lib');
    assert.equal(env.PYTHONPYCACHEPREFIX, undefined);
    assert.equal(env.PYTHONNOUSERSITE, undefined);
  });
});
