import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { testSidecar, type TestSidecar } from '../helpers/sidecar.js';
import { until } from '../helpers/until.js';

const key = (input: string) => ({ object: 'Grid', modifier: 'GeometryNodes', input });
const big = (i: number) => `${i}:`.padEnd(65_536, 'v');

describe('Geometry Nodes state within limits', () => {
  let sidecar: TestSidecar;
  before(async () => {
    sidecar = await testSidecar();
  });
  after(async () => sidecar.stop());

  it('answers every call of a 100-call gn.get batch on a large channel: results that fit, an error per call for the rest', async () => {
    const c = await sidecar.client();
    const changes = Array.from({ length: 200 }, (_, i) => ({ key: key(`In ${i}`), type: 'string' as const, value: big(i) }));
    await c.call('gn.setMany', { channel: 'large', changes, baseRevision: 0 });
    const raw = await sidecar.raw();
    const batch = Array.from({ length: 100 }, (_, i) => ({ jsonrpc: '2.0', id: i, method: 'gn.get', params: { channel: 'large' } }));
    raw.send(JSON.stringify(batch));
    const replies = JSON.parse(await raw.next(120_000)) as Array<{
      id: number;
      result?: { entries: unknown[] };
      error?: { code: number; message: string };
    }>;
    assert.deepEqual(
      replies.map((r) => r.id).sort((a, b) => a - b),
      batch.map((b) => b.id),
      'every call answered',
    );
    const ok = replies.filter((r) => r.result);
    const refused = replies.filter((r) => r.error);
    assert.ok(ok.length >= 1, 'what fits is answered');
    for (const r of ok) assert.equal(r.result!.entries.length, 200);
    assert.ok(refused.length >= 1, 'the batch is over the limit');
    for (const r of refused) {
      assert.equal(r.error!.code, -32006);
      assert.match(r.error!.message, /did not fit in the batch's \d+ MiB reply limit; send it again on its own or in a smaller batch/);
    }
    // And the same call on its own is answered whole.
    assert.equal((await c.call('gn.get', { channel: 'large' })).entries.length, 200);
  });

  it('takes no channel slot for 1,000 gn.get and gn.subscribe on names never written', async () => {
    const c = await sidecar.client();
    const raw = await sidecar.raw();
    for (const method of ['gn.get', 'gn.subscribe']) {
      for (let start = 0; start < 1000; start += 100) {
        const batch = Array.from({ length: 100 }, (_, i) => ({
          jsonrpc: '2.0',
          id: start + i,
          method,
          params: { channel: `unwritten-${start + i}` },
        }));
        const replies = await raw.exchange(JSON.stringify(batch));
        for (const r of replies) assert.equal(r.error, undefined, JSON.stringify(r.error));
        if (method === 'gn.get') for (const r of replies) assert.deepEqual([r.result.revision, r.result.entries], [0, []]);
      }
    }
    // Every slot is still free: 1,000 new channels can be written (one is taken by the test above).
    for (let start = 0; start < 999; start += 100) {
      const n = Math.min(100, 999 - start);
      const batch = Array.from({ length: n }, (_, i) => ({
        jsonrpc: '2.0',
        id: i,
        method: 'gn.set',
        params: { channel: `written-${start + i}`, key: key('Count'), type: 'int', value: 1, baseRevision: 0 },
      }));
      const replies = await raw.exchange(JSON.stringify(batch));
      for (const r of replies) assert.deepEqual(r.result, { revision: 1 }, JSON.stringify(r.error));
    }
    const full = await c
      .call('gn.set', { channel: 'one-too-many', key: key('Count'), type: 'int', value: 1, baseRevision: 0 })
      .catch((e) => e);
    assert.match(String(full.message), /already holds 1000 channels; write to one of them, or delete one with gn.deleteChannel/);
    assert.deepEqual(await c.call('gn.deleteChannel', { channel: 'written-0' }), { deleted: true });
    assert.deepEqual(await c.call('gn.set', { channel: 'one-too-many', key: key('Count'), type: 'int', value: 1, baseRevision: 0 }), {
      revision: 1,
    });
  });

  it('gn.deleteChannel tells followers, and the channel starts again at revision 1 under a new epoch', async () => {
    const writer = await sidecar.client();
    const follower = await sidecar.client();
    await writer.call('gn.deleteChannel', { channel: 'written-1' }); // room, after the test above filled every slot
    await writer.call('gn.set', { channel: 'gone', key: key('Count'), type: 'int', value: 5, baseRevision: 0 });
    const heard: Array<{ method: string; params: any }> = [];
    follower.on('gn.channelDeleted', (p) => heard.push({ method: 'gn.channelDeleted', params: p }));
    follower.on('gn.changed', (p) => heard.push({ method: 'gn.changed', params: p }));
    const sub = await follower.call('gn.subscribe', { channel: 'gone' });
    assert.deepEqual(await writer.call('gn.deleteChannel', { channel: 'gone' }), { deleted: true });
    assert.deepEqual(await writer.call('gn.deleteChannel', { channel: 'gone' }), { deleted: false });
    assert.deepEqual(await writer.call('gn.set', { channel: 'gone', key: key('Count'), type: 'float', value: 0.5, baseRevision: 0 }), {
      revision: 1,
    });
    await until(() => heard.length >= 2, { timeoutMs: 10_000, what: 'gn.channelDeleted and gn.changed' });
    assert.deepEqual(
      heard.map((h) => h.method),
      ['gn.channelDeleted', 'gn.changed'],
    );
    const now = await writer.call('gn.get', { channel: 'gone' });
    assert.notEqual(now.epoch, sub.epoch, 'a new history');
    assert.equal(heard[0]!.params.epoch, now.epoch);
    assert.equal(heard[1]!.params.revision, 1);
  });
});
