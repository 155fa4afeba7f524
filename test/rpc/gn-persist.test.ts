import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { SidecarClient } from '../../sidecar/client/sidecar-client.js';
import { startCli, waitForLine } from '../helpers/cli.js';
import { tempDir } from '../helpers/sidecar.js';

describe('sync channels across a sidecar crash', () => {
  it('loses no acknowledged write when the sidecar is SIGKILLed, and a client resyncs from its last revision', async () => {
    const state = join(tempDir('gn-persist-'), 'state');
    const first = startCli(['serve', '--state-dir', state]);
    await waitForLine(first, /^listening on/);
    const a = await SidecarClient.connect({ stateDir: state });
    const key = (i: number) => ({ object: 'Grid', modifier: 'GeometryNodes', input: `Input ${i % 5}` });
    let revision = 0;
    const acknowledged = new Map<string, number>();
    for (let i = 0; i < 200; i++) {
      revision = (await a.call('gn.set', { channel: 'shot', key: key(i), type: 'float', value: i, baseRevision: revision })).revision;
      acknowledged.set(key(i).input, i);
    }
    const before = await a.call('gn.get', { channel: 'shot' });
    const seenRevision = 150; // a subscriber that had heard up to here
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    await a.close();

    const second = startCli(['serve', '--state-dir', state]);
    try {
      await waitForLine(second, /^listening on/);
      const b = await SidecarClient.connect({ stateDir: state });
      const after = await b.call('gn.get', { channel: 'shot' });
      assert.equal(after.revision, 200);
      assert.equal(after.epoch, before.epoch, 'the same history, not a new one');
      assert.deepEqual(Object.fromEntries(after.entries.map((e) => [e.key.input, e.value])), Object.fromEntries(acknowledged));
      const resync = await b.call('gn.subscribe', { channel: 'shot', sinceRevision: seenRevision, epoch: before.epoch });
      assert.ok('changes' in resync && resync.changes, 'the missed changes, not a snapshot');
      assert.deepEqual(
        resync.changes.map((c) => c.revision),
        Array.from({ length: 50 }, (_, i) => 151 + i),
        'every change after 150, in revision order',
      );
      await b.close();
    } finally {
      second.kill('SIGTERM');
      await new Promise((r) => second.once('exit', r));
    }
  });
});
