import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { startSidecar, type SidecarOptions } from '../../sidecar/app.js';
import { tempDir, testSidecar } from '../helpers/sidecar.js';

describe('startSidecar options', () => {
  const refused: Array<[SidecarOptions, RegExp]> = [
    [{ instances: 0 }, /^instances: must be 'auto' or a whole number from 1 to 64, not 0$/],
    [{ instances: 'many' as unknown as number }, /^instances: must be 'auto' or a whole number from 1 to 64, not "many"$/],
    [{ port: 70000 }, /^port: must be a whole number from 0 to 65535, not 70000$/],
    [{ threads: 1.5 }, /^threads: must be a whole number from 1 to 1024, not 1.5$/],
    [{ memoryBudgetMB: 10 }, /^memoryBudgetMB: must be a whole number 64 or more, not 10$/],
    [{ retention: { keepDays: -1 } }, /^retention\.keepDays: must be a whole number from 0 to 36500, not -1$/],
    [{ logLevel: 'loud' as 'info' }, /^logLevel: must be debug, info, warn, error, not "loud"$/],
  ];
  for (const [options, message] of refused) {
    it(`refuses ${JSON.stringify(options)} naming the option, before the state folder is touched`, async () => {
      const stateDir = join(tempDir(), 'state');
      await assert.rejects(startSidecar({ ...options, stateDir, logToStderr: false }), (err: Error) => message.test(err.message));
      assert.equal(existsSync(stateDir), false, 'no state folder was made for a start that could not go ahead');
    });
  }

  it('starts with the defaults filled in: loopback, a free port, a discovery file', async () => {
    const s = await testSidecar({ blender: '/nonexistent/blender' });
    try {
      assert.equal(s.host, '127.0.0.1');
      assert.ok(s.port > 0, 'port 0 became a free port');
      assert.equal(s.url, `ws://127.0.0.1:${s.port}/rpc`);
      assert.ok(s.discoveryFile && existsSync(s.discoveryFile));
      const c = await s.client();
      const { alerts } = await c.call('alert.list', {});
      assert.ok(
        alerts.some((a) => a.key === 'blender-missing'),
        'alert.list answers, with the missing Blender in it',
      );
    } finally {
      await s.stop();
    }
  });
});
