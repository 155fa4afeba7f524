import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { until } from '../helpers/until.js';

describe("until (the tests' one way to wait)", () => {
  it('gives back the first truthy value the condition returns', async () => {
    let calls = 0;
    const value = await until(() => ++calls >= 3 && { calls }, { what: 'a third call', intervalMs: 1 });
    assert.deepEqual(value, { calls: 3 });
  });

  it('tries again when the condition throws, as when what it reads does not exist yet', async () => {
    let calls = 0;
    const value = await until(
      async () => {
        if (++calls < 3) throw new Error('not there yet');
        return 'there';
      },
      { what: 'the file', intervalMs: 1 },
    );
    assert.equal(value, 'there');
  });

  it('fails after the deadline naming what it waited for and the last error', async () => {
    await assert.rejects(
      until(() => false, { what: 'the job running', timeoutMs: 50, intervalMs: 5 }),
      /^Error: timed out after 50 ms waiting for the job running$/,
    );
    await assert.rejects(
      until(
        () => {
          throw new Error('ENOENT: no such file');
        },
        { what: async () => 'the frame (3 of 5 seen)', timeoutMs: 30, intervalMs: 5 },
      ),
      /waiting for the frame \(3 of 5 seen\) \(last try failed: ENOENT: no such file\)$/,
    );
  });
});
