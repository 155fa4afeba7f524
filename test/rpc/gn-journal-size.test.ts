import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { SidecarClient } from '../../sidecar/client/sidecar-client.js';
import { startCli, waitForLine } from '../helpers/cli.js';
import { tempDir } from '../helpers/sidecar.js';

const key = (input: string) => ({ object: 'Grid', modifier: 'GeometryNodes', input });

describe('a Geometry Nodes journal after 600 MiB of writes', () => {
  it('stays near the size of what it holds, over five channels, and a killed sidecar restarts with every acknowledged value', async () => {
    const state = join(tempDir('gn-size-'), 'state');
    const first = startCli(['serve', '--state-dir', state]);
    after(() => void first.kill('SIGKILL')); // a failed assertion must not leave it running
    await waitForLine(first, /^listening on/);
    const client = await SidecarClient.connect({ stateDir: state });
    const value = (call: number, i: number) => `${call}/${i}:`.padEnd(65_536, 'w');
    const channels = ['c0', 'c1', 'c2', 'c3', 'c4'];
    const revisions = new Map(channels.map((c) => [c, 0]));
    let written = 0;
    let largest = 0;
    for (let call = 0; call < 48; call++) {
      const channel = channels[call % channels.length]!;
      const changes = Array.from({ length: 200 }, (_, i) => ({ key: key(`In ${i}`), type: 'string' as const, value: value(call, i) }));
      const { revision } = await client.call(
        'gn.setMany',
        { channel, changes, baseRevision: revisions.get(channel)! },
        { timeoutMs: 120_000 },
      );
      revisions.set(channel, revision);
      written += 200 * 65_536;
      largest = Math.max(largest, statSync(join(state, 'gn-journal.jsonl')).size);
    }
    assert.ok(written >= 600 * 2 ** 20);
    // Five channels of 200 x 64 KiB hold 64 MiB; the journal never grows past a small multiple of that.
    assert.ok(largest < 3 * 5 * 200 * 65_536, `the journal peaked at ${Math.round(largest / 2 ** 20)} MiB`);
    await client.close();
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));

    const second = startCli(['serve', '--state-dir', state]);
    try {
      await waitForLine(second, /^listening on/, 60_000);
      const again = await SidecarClient.connect({ stateDir: state });
      for (const [index, channel] of channels.entries()) {
        const snap = await again.call('gn.get', { channel }, { timeoutMs: 60_000 });
        assert.equal(snap.revision, revisions.get(channel));
        const lastCall = 45 + index - (index >= 3 ? 5 : 0); // the last of the 48 calls that went to this channel
        assert.equal(snap.entries.find((e) => e.key.input === 'In 199')?.value, value(lastCall, 199), channel);
      }
      await again.close();
      assert.doesNotMatch(readFileSync(join(state, 'sidecar.log'), 'utf8'), /torn|damaged|skipped/);
    } finally {
      second.kill('SIGTERM');
      await new Promise((r) => second.once('exit', r));
    }
  });
});
