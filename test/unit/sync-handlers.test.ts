import assert from 'node:assert/strict';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { gnHandlers } from '../../sidecar/api/handlers/gn.js';
import { openSession, Session, type CallContext } from '../../sidecar/api/session.js';
import { gnMethods } from '../../sidecar/api/spec/gn.js';
import { SyncStore, type SyncEntry, type SyncRecord } from '../../sidecar/domain/sync/store.js';
import { EventBus } from '../../sidecar/events/bus.js';
import { Dispatcher } from '../../sidecar/protocol/dispatcher.js';
import type { Connection } from '../../sidecar/transport/server.js';

const count = { object: 'Cube', modifier: 'GeometryNodes', input: 'Count' };
const scale = { object: 'Cube', modifier: 'GeometryNodes', input: 'Scale' };

interface Changed {
  channel: string;
  revision: number;
  changes: SyncEntry[];
}

/** A connection that keeps what it was sent, parsed. */
class MemoryConnection implements Connection {
  static nextId = 1;
  readonly id = MemoryConnection.nextId++;
  readonly remote = 'memory';
  readonly sent: any[] = [];
  send(text: string): boolean {
    this.sent.push(JSON.parse(text));
    return true;
  }
  close(): void {}
  /** The gn.changed notifications received, in order. */
  changed(): Changed[] {
    return this.sent.filter((m) => m.method === 'gn.changed').map((m) => m.params);
  }
}

function setup() {
  const records: SyncRecord[] = [];
  const store = new SyncStore({ persist: (r) => records.push(r) });
  const handlers = gnHandlers(store);
  const bus = new EventBus();
  const open = () => {
    const conn = new MemoryConnection();
    const ctx: CallContext = { session: new Session(conn, bus) };
    return { conn, ctx, session: ctx.session };
  };
  /** Calls a handler as the dispatcher would: params through the method's schema first (defaults applied). */
  const call = <M extends keyof typeof gnMethods>(name: M, params: unknown, ctx: CallContext) =>
    (handlers[name] as (p: unknown, c: CallContext) => any)(gnMethods[name].params.parse(params), ctx);
  return { store, records, open, call };
}

describe('gn handlers', () => {
  describe('gn.subscribe', () => {
    it('answers a snapshot, then sends every later write once, in revision order, never before the answer', async () => {
      const { open, call } = setup();
      const writer = open();
      const reader = open();
      call('gn.set', { key: count, type: 'int', value: 1, baseRevision: 0 }, writer.ctx);
      const answer = call('gn.subscribe', {}, reader.ctx);
      assert.equal(answer.reason, 'requested');
      assert.deepEqual(
        answer.snapshot.entries.map((e: SyncEntry) => e.value),
        [1],
      );
      assert.equal(answer.revision, 1);
      // Written before the answer can have gone out: held until the next turn.
      call('gn.set', { key: count, type: 'int', value: 2, baseRevision: 1 }, writer.ctx);
      call(
        'gn.setMany',
        {
          changes: [
            { key: count, type: 'int', value: 3 },
            { key: scale, type: 'float', value: 0.5 },
          ],
          baseRevision: 2,
        },
        writer.ctx,
      );
      assert.deepEqual(reader.conn.sent, []);
      await nextTurn();
      assert.deepEqual(
        reader.conn.changed().map((c) => [c.channel, c.revision, c.changes.map((e) => e.value)]),
        [
          ['default', 2, [2]],
          ['default', 3, [3, 0.5]],
        ],
      );
      call('gn.set', { key: scale, type: 'float', value: 1, baseRevision: 3 }, writer.ctx);
      assert.deepEqual(
        reader.conn.changed().map((c) => c.revision),
        [2, 3, 4],
      );
      assert.deepEqual(writer.conn.sent, [], 'a writer that did not subscribe hears nothing');
    });

    it('follows only the channels subscribed to, until gn.unsubscribe', async () => {
      const { open, call } = setup();
      const writer = open();
      const reader = open();
      call('gn.subscribe', { channel: 'scene-1' }, reader.ctx);
      call('gn.subscribe', { channel: 'scene-2' }, reader.ctx);
      await nextTurn();
      call('gn.set', { channel: 'scene-1', key: count, type: 'int', value: 1, baseRevision: 0 }, writer.ctx);
      call('gn.set', { channel: 'other', key: count, type: 'int', value: 1, baseRevision: 0 }, writer.ctx);
      assert.deepEqual(call('gn.unsubscribe', { channel: 'scene-1' }, reader.ctx), { channels: ['scene-2'] });
      call('gn.set', { channel: 'scene-1', key: count, type: 'int', value: 2, baseRevision: 1 }, writer.ctx);
      call('gn.set', { channel: 'scene-2', key: count, type: 'int', value: 2, baseRevision: 0 }, writer.ctx);
      assert.deepEqual(
        reader.conn.changed().map((c) => [c.channel, c.revision]),
        [
          ['scene-1', 1],
          ['scene-2', 1],
        ],
      );
      assert.deepEqual(call('gn.unsubscribe', {}, reader.ctx), { channels: [] });
    });

    it('answers exactly the missed changes when a client reconnects with the last revision it applied', async () => {
      const { store, open, call } = setup();
      const writer = open();
      let client = open();
      const answer = call('gn.subscribe', {}, client.ctx);
      const replica = new Map<string, SyncEntry>();
      let applied: number = answer.revision;
      const epoch: string = answer.epoch;
      const apply = (changes: SyncEntry[]) => {
        for (const e of changes) replica.set(JSON.stringify(e.key), e);
      };

      for (let i = 1; i <= 3; i++) call('gn.set', { key: count, type: 'int', value: i, baseRevision: i - 1 }, writer.ctx);
      await nextTurn();
      for (const c of client.conn.changed()) {
        apply(c.changes);
        applied = c.revision;
      }
      assert.equal(applied, 3);

      client.session.close(); // The connection drops.
      const sentBefore = client.conn.sent.length;
      const missed = [
        call('gn.set', { key: scale, type: 'float', value: 2, baseRevision: 3 }, writer.ctx).revision,
        call(
          'gn.setMany',
          {
            changes: [
              { key: count, type: 'int', value: 9 },
              { key: scale, type: 'float', value: 3 },
            ],
            baseRevision: 4,
          },
          writer.ctx,
        ).revision,
      ];
      assert.equal(client.conn.sent.length, sentBefore, 'a closed session is sent nothing');

      client = open();
      const again = call('gn.subscribe', { sinceRevision: applied, epoch }, client.ctx);
      assert.equal(again.snapshot, undefined);
      assert.deepEqual(again.changes, store.changesSince('default', 3));
      assert.deepEqual(
        again.changes.map((e: SyncEntry) => e.revision),
        [missed[0], missed[1], missed[1]],
      );
      apply(again.changes);
      assert.deepEqual([...replica.values()].sort(byInput), call('gn.get', {}, client.ctx).entries.sort(byInput));

      call('gn.set', { key: count, type: 'int', value: 10, baseRevision: 5 }, writer.ctx);
      await nextTurn();
      assert.deepEqual(
        client.conn.changed().map((c) => c.revision),
        [6],
      );
    });

    it('answers a snapshot when the changes are no longer kept, the epoch differs, or the revision is ahead', () => {
      const store = new SyncStore({ persist: () => {} }, { historyLimit: 2 });
      const handlers = gnHandlers(store);
      const ctx: CallContext = { session: new Session(new MemoryConnection(), new EventBus()) };
      const subscribe = (p: object) => handlers['gn.subscribe'](gnMethods['gn.subscribe'].params.parse(p), ctx) as any;
      for (let i = 0; i < 5; i++) store.set('default', { key: count, type: 'int', value: i }, i, 'w');
      const epoch = store.get('default').epoch;
      assert.equal(subscribe({ sinceRevision: 1, epoch }).reason, 'too-old');
      assert.equal(subscribe({ sinceRevision: 4, epoch: 'another' }).reason, 'other-history');
      assert.equal(subscribe({ sinceRevision: 9 }).reason, 'other-history');
      const ok = subscribe({ sinceRevision: 4, epoch });
      assert.deepEqual(
        ok.changes.map((e: SyncEntry) => e.value),
        [4],
      );
      assert.equal(subscribe({ sinceRevision: 1, epoch }).snapshot.revision, 5);
    });
  });

  describe('gn.set', () => {
    it('records the clientName as changedBy, or connection-<id> without one', () => {
      const { open, call } = setup();
      const a = open();
      call('gn.set', { key: count, type: 'int', value: 1, baseRevision: 0, clientName: 'blender:alice' }, a.ctx);
      call('gn.set', { key: scale, type: 'float', value: 1, baseRevision: 1 }, a.ctx);
      assert.deepEqual(
        call('gn.get', {}, a.ctx).entries.map((e: SyncEntry) => e.changedBy),
        ['blender:alice', `connection-${a.conn.id}`],
      );
    });
  });

  describe('over the real dispatcher', () => {
    function wire() {
      const store = new SyncStore({ persist: () => {} });
      const dispatcher = new Dispatcher(gnMethods, gnHandlers(store));
      const conn = new MemoryConnection();
      const session = openSession(conn, new EventBus(), dispatcher, (err) => assert.fail(String(err)));
      return { store, conn, session };
    }
    const request = (id: number, method: string, params: object) => ({ jsonrpc: '2.0', id, method, params });
    const settle = async () => {
      for (let i = 0; i < 5; i++) await nextTurn();
    };

    it('sends the subscribe answer before a gn.changed of a write in the same batch', async () => {
      const { conn, session } = wire();
      session.onMessage(
        JSON.stringify([
          request(1, 'gn.subscribe', { sinceRevision: 0 }),
          request(2, 'gn.set', { key: count, type: 'int', value: 5, baseRevision: 0 }),
        ]),
      );
      await settle();
      assert.equal(conn.sent.length, 2);
      const [reply, note] = conn.sent;
      assert.deepEqual(
        reply.map((r: any) => r.result),
        [{ channel: 'default', epoch: reply[0].result.epoch, revision: 0, changes: [] }, { revision: 1 }],
      );
      assert.equal(note.method, 'gn.changed');
      assert.equal(note.params.revision, 1);
    });

    it('answers a conflict with -32010 and its data, and a wrong value or type with -32602 naming the field', async () => {
      const { conn, session } = wire();
      const send = async (msg: object) => {
        session.onMessage(JSON.stringify(msg));
        await settle();
        return conn.sent.at(-1);
      };
      await send(request(1, 'gn.set', { key: count, type: 'int', value: 1, baseRevision: 0, clientName: 'alice' }));
      await send(request(2, 'gn.set', { key: count, type: 'int', value: 2, baseRevision: 1, clientName: 'bob' }));
      const conflict = await send(request(3, 'gn.set', { key: count, type: 'int', value: 3, baseRevision: 1 }));
      assert.equal(conflict.error.code, -32010);
      assert.match(conflict.error.message, /^revision conflict: /);
      assert.deepEqual(conflict.error.data, {
        channel: 'default',
        key: count,
        current: { type: 'int', value: 2, revision: 2, changedBy: 'bob' },
        channelRevision: 2,
      });
      const badValue = await send(request(4, 'gn.set', { key: count, type: 'int', value: 2.5, baseRevision: 2 }));
      assert.equal(badValue.error.code, -32602);
      assert.equal(badValue.error.data.errors[0].field, 'value');
      const badType = await send(request(5, 'gn.set', { key: count, type: 'float', value: 2.5, baseRevision: 2 }));
      assert.equal(badType.error.code, -32602);
      assert.deepEqual(badType.error.data.errors, [{ field: 'type', message: badType.error.message.replace(/^type: /, '') }]);
      assert.equal(badType.error.data.expectedType, 'int');
      const badMany = await send(request(6, 'gn.setMany', { changes: [{ key: scale, type: 'color', value: [1, 2] }], baseRevision: 2 }));
      assert.equal(badMany.error.data.errors[0].field, 'changes[0].value');
      const badChannel = await send(request(7, 'gn.get', { channel: 'no spaces' }));
      assert.equal(badChannel.error.data.errors[0].field, 'channel');
    });

    it('accepts every method example', () => {
      for (const [name, spec] of Object.entries(gnMethods)) {
        if ('example' in spec) assert.ok(spec.params.safeParse(spec.example).success, name);
      }
    });
  });
});

function byInput(a: SyncEntry, b: SyncEntry): number {
  return a.key.input.localeCompare(b.key.input);
}
