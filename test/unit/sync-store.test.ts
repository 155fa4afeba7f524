import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { DomainError, InvalidInputError } from '../../sidecar/domain/errors.js';
import {
  RevisionConflictError,
  SyncStore,
  type SyncEntry,
  type SyncEvent,
  type SyncRecord,
  type SyncSnapshot,
} from '../../sidecar/domain/sync/store.js';
import { keyId, sameValue, type EntryKey } from '../../sidecar/domain/sync/value.js';

const count: EntryKey = { object: 'Cube', modifier: 'GeometryNodes', input: 'Count' };
const scale: EntryKey = { object: 'Cube', modifier: 'GeometryNodes', input: 'Scale' };
const offset: EntryKey = { object: 'Plane', modifier: 'Scatter', input: 'Offset' };

/** A store whose persistence keeps the records, with a clock that ticks one second per write. */
function recordingStore(options: { historyLimit?: number } = {}) {
  const records: SyncRecord[] = [];
  let t = Date.parse('2026-01-01T00:00:00Z');
  const store = new SyncStore({ persist: (r) => records.push(structuredClone(r)) }, { ...options, now: () => new Date((t += 1000)) });
  return { store, records };
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  assert.fail('expected it to throw');
}

function field(err: unknown): string {
  return ((err as DomainError).data as { errors: Array<{ field: string }> }).errors[0]!.field;
}

describe('SyncStore', () => {
  describe('#set without a type', () => {
    it("takes a new entry's type from the value", () => {
      const { store } = recordingStore();
      const cases: Array<[unknown, string]> = [
        [true, 'bool'],
        ['steel', 'string'],
        [3, 'int'],
        [2.5, 'float'],
        [4e9, 'float'],
        [[0, 1], 'vector'],
        [[0, 1, 2], 'vector'],
        [[1, 0, 0, 1], 'color'],
      ];
      cases.forEach(([value, type], i) => {
        const key = { ...count, input: `In${i}` };
        store.set('default', { key, value }, i, 'alice');
        assert.equal(store.entry('default', key)!.type, type, JSON.stringify(value));
      });
    });

    it('refuses a value whose type cannot be told, saying to give one', () => {
      const { store } = recordingStore();
      for (const value of [null, [1], { a: 1 }, [1, 'x']]) {
        const err = thrown(() => store.set('default', { key: count, value }, 0, 'alice'));
        assert.ok(err instanceof InvalidInputError);
        assert.equal(field(err), 'value');
        assert.match((err as Error).message, /give "type" with it/);
      }
      assert.equal(store.get('default').revision, 0);
    });

    it("keeps an existing entry's type and refuses a value that does not fit it, naming both", () => {
      const { store } = recordingStore();
      store.set('default', { key: scale, type: 'float', value: 0.5 }, 0, 'alice');
      store.set('default', { key: scale, value: 2 }, 1, 'alice');
      assert.deepEqual([store.entry('default', scale)!.type, store.entry('default', scale)!.value], ['float', 2]);
      const err = thrown(() =>
        store.setMany(
          'default',
          [
            { key: count, value: 1 },
            { key: scale, value: 'big' },
          ],
          2,
          'bob',
        ),
      );
      assert.equal(field(err), 'changes[1].value');
      assert.match((err as Error).message, /"big" does not fit "Cube" > "GeometryNodes" > "Scale", which holds float values/);
      assert.equal(store.entry('default', count), undefined, 'nothing applied');
    });
  });

  describe('#set', () => {
    it('takes the next revision and records who changed the entry and when', () => {
      const { store } = recordingStore();
      assert.equal(store.set('default', { key: count, type: 'int', value: 3 }, 0, 'alice').revision, 1);
      assert.equal(store.set('default', { key: scale, type: 'float', value: 0.5 }, 1, 'bob').revision, 2);
      const snap = store.get('default');
      assert.equal(snap.revision, 2);
      assert.deepEqual(snap.entries, [
        { key: count, type: 'int', value: 3, revision: 1, changedBy: 'alice', changedAt: '2026-01-01T00:00:01.000Z' },
        { key: scale, type: 'float', value: 0.5, revision: 2, changedBy: 'bob', changedAt: '2026-01-01T00:00:02.000Z' },
      ]);
    });

    it('refuses a write to an entry that changed after baseRevision, with its current value in the error', () => {
      const { store } = recordingStore();
      store.set('default', { key: count, type: 'int', value: 1 }, 0, 'alice');
      store.set('default', { key: count, type: 'int', value: 2 }, 1, 'bob');
      const err = thrown(() => store.set('default', { key: count, type: 'int', value: 7 }, 1, 'alice'));
      assert.ok(err instanceof RevisionConflictError);
      assert.equal(err.kind, 'conflict');
      assert.match(err.message, /^revision conflict: "Cube" > "GeometryNodes" > "Count"/);
      assert.deepEqual(err.data, {
        channel: 'default',
        key: count,
        current: { type: 'int', value: 2, revision: 2, changedBy: 'bob' },
        channelRevision: 2,
      });
      assert.equal(store.entry('default', count)?.value, 2);
    });

    it('accepts a write based on an older revision when only other entries changed since', () => {
      const { store } = recordingStore();
      store.set('default', { key: count, type: 'int', value: 1 }, 0, 'alice');
      store.set('default', { key: scale, type: 'float', value: 2 }, 1, 'bob');
      assert.equal(store.set('default', { key: count, type: 'int', value: 5 }, 1, 'alice').revision, 3);
    });

    it('changes nothing, and answers the current revision, when the value is already there', () => {
      const { store, records } = recordingStore();
      store.set('default', { key: offset, type: 'vector', value: [1, 2, 3] }, 0, 'alice');
      store.set('default', { key: count, type: 'int', value: 1 }, 1, 'alice');
      const event = store.set('default', { key: offset, type: 'vector', value: [1, 2, 3] }, 2, 'bob');
      assert.deepEqual(event, { channel: 'default', revision: 2, changes: [] });
      assert.equal(records.length, 2);
      assert.equal(store.entry('default', offset)?.changedBy, 'alice');
    });

    it('refuses a value that does not fit its type, naming the field', () => {
      const { store } = recordingStore();
      const cases: Array<[string, unknown]> = [
        ['int', 1.5],
        ['int', 2 ** 31],
        ['float', '1'],
        ['bool', 0],
        ['vector', [1]],
        ['vector', [1, 2, 3, 4, 5]],
        ['color', [1, 2]],
        ['color', [1, 2, 'x']],
        ['string', null],
        ['object', ''],
        ['material', 3],
      ];
      for (const [type, value] of cases) {
        const err = thrown(() => store.set('default', { key: count, type: type as 'int', value }, 0, 'alice'));
        assert.ok(err instanceof InvalidInputError, `${type} ${JSON.stringify(value)}`);
        assert.equal(err.kind, 'bad-input');
        assert.equal(field(err), 'value');
      }
      assert.equal(store.revision('default'), 0);
    });

    it('accepts every type of value, references by name or null', () => {
      const { store } = recordingStore();
      const values = [
        ['float', 0.25],
        ['int', -7],
        ['bool', true],
        ['vector', [0, 1]],
        ['color', [1, 0.5, 0, 1]],
        ['string', 'hello'],
        ['object', 'Suzanne'],
        ['material', null],
        ['collection', 'Trees'],
      ] as const;
      values.forEach(([type, value], i) => {
        store.set('default', { key: { ...count, input: type }, type, value }, i, 'alice');
      });
      assert.deepEqual(
        store.get('default').entries.map((e) => [e.type, e.value]),
        values.map(([t, v]) => [t, v]),
      );
    });

    it('refuses a type other than the one the first write fixed, naming the field and the expected type', () => {
      const { store } = recordingStore();
      store.set('default', { key: count, type: 'int', value: 1 }, 0, 'alice');
      const err = thrown(() => store.set('default', { key: count, type: 'float', value: 1.5 }, 1, 'alice'));
      assert.ok(err instanceof InvalidInputError);
      assert.equal(field(err), 'type');
      assert.equal((err.data as { expectedType: string }).expectedType, 'int');
      assert.match(err.message, /holds int values/);
    });

    it('refuses a baseRevision ahead of the channel, and a bad channel name', () => {
      const { store } = recordingStore();
      const ahead = thrown(() => store.set('default', { key: count, type: 'int', value: 1 }, 5, 'alice'));
      assert.ok(ahead instanceof InvalidInputError);
      assert.equal(field(ahead), 'baseRevision');
      for (const name of ['', 'a b', 'x'.repeat(65), 'ü', '../etc']) {
        const err = thrown(() => store.set(name, { key: count, type: 'int', value: 1 }, 0, 'alice'));
        assert.ok(err instanceof InvalidInputError, name);
        assert.equal(field(err), 'channel');
      }
      assert.deepEqual(store.channelNames(), [], 'a refused first write takes no channel slot');
    });

    it('keeps channels apart', () => {
      const { store } = recordingStore();
      store.set('a', { key: count, type: 'int', value: 1 }, 0, 'alice');
      store.set('b.2', { key: count, type: 'float', value: 1.5 }, 0, 'alice');
      assert.equal(store.revision('a'), 1);
      assert.equal(store.revision('b.2'), 1);
      assert.notEqual(store.get('a').epoch, store.get('b.2').epoch);
    });
  });

  describe('#setMany', () => {
    it('applies every change at one revision', () => {
      const { store, records } = recordingStore();
      const event = store.setMany(
        'default',
        [
          { key: count, type: 'int', value: 1 },
          { key: offset, type: 'vector', value: [0, 0, 1] },
        ],
        0,
        'alice',
      );
      assert.equal(event.revision, 1);
      assert.deepEqual(
        event.changes.map((c) => c.revision),
        [1, 1],
      );
      assert.equal(records.length, 1);
    });

    it('applies nothing when one entry conflicts, and lists every conflict', () => {
      const { store, records } = recordingStore();
      const events: SyncEvent[] = [];
      store.onChanged((e) => events.push(e));
      store.setMany(
        'default',
        [
          { key: count, type: 'int', value: 1 },
          { key: scale, type: 'float', value: 1 },
        ],
        0,
        'alice',
      );
      store.set('default', { key: scale, type: 'float', value: 2 }, 1, 'bob');
      const err = thrown(() =>
        store.setMany(
          'default',
          [
            { key: count, type: 'int', value: 10 },
            { key: scale, type: 'float', value: 10 },
            { key: offset, type: 'vector', value: [1, 1, 1] },
          ],
          1,
          'alice',
        ),
      );
      assert.ok(err instanceof RevisionConflictError);
      const data = err.data as { key: EntryKey; conflicts: Array<{ key: EntryKey }> };
      assert.deepEqual(data.key, scale);
      assert.deepEqual(
        data.conflicts.map((c) => c.key),
        [scale],
      );
      assert.equal(store.revision('default'), 2);
      assert.equal(store.entry('default', count)?.value, 1);
      assert.equal(store.entry('default', offset), undefined);
      assert.equal(records.length, 2);
      assert.equal(events.length, 2);
    });

    it('applies nothing when one change has the wrong type, naming its field', () => {
      const { store } = recordingStore();
      store.set('default', { key: scale, type: 'float', value: 1 }, 0, 'alice');
      const err = thrown(() =>
        store.setMany(
          'default',
          [
            { key: count, type: 'int', value: 1 },
            { key: scale, type: 'int', value: 2 },
          ],
          1,
          'alice',
        ),
      );
      assert.equal(field(err), 'changes[1].type');
      const bad = thrown(() =>
        store.setMany(
          'default',
          [
            { key: count, type: 'int', value: 1 },
            { key: offset, type: 'color', value: [1] },
          ],
          1,
          'alice',
        ),
      );
      assert.equal(field(bad), 'changes[1].value');
      assert.equal(store.entry('default', count), undefined);
      assert.equal(store.revision('default'), 1);
    });

    it('refuses the same entry twice', () => {
      const { store } = recordingStore();
      const err = thrown(() =>
        store.setMany(
          'default',
          [
            { key: count, type: 'int', value: 1 },
            { key: { ...count }, type: 'int', value: 2 },
          ],
          0,
          'alice',
        ),
      );
      assert.equal(field(err), 'changes[1].key');
    });
  });

  describe('#changesSince', () => {
    it('gives the changes after a revision in revision order, [] when up to date, undefined when ahead', () => {
      const { store } = recordingStore();
      store.set('default', { key: count, type: 'int', value: 1 }, 0, 'a');
      store.setMany(
        'default',
        [
          { key: scale, type: 'float', value: 1 },
          { key: count, type: 'int', value: 2 },
        ],
        1,
        'b',
      );
      store.set('default', { key: scale, type: 'float', value: 3 }, 2, 'c');
      assert.deepEqual(
        store.changesSince('default', 1)?.map((c) => [c.revision, c.key.input, c.value]),
        [
          [2, 'Scale', 1],
          [2, 'Count', 2],
          [3, 'Scale', 3],
        ],
      );
      assert.equal(store.changesSince('default', 0)?.length, 4);
      assert.deepEqual(store.changesSince('default', 3), []);
      assert.equal(store.changesSince('default', 4), undefined);
    });

    it('answers undefined when the changes are older than the kept history, keeping whole writes', () => {
      const { store } = recordingStore({ historyLimit: 3 });
      for (let i = 0; i < 5; i++) store.set('default', { key: count, type: 'int', value: i }, i, 'a');
      assert.equal(store.changesSince('default', 1), undefined);
      assert.deepEqual(
        store.changesSince('default', 2)?.map((c) => c.revision),
        [3, 4, 5],
      );
      store.setMany(
        'default',
        [
          { key: scale, type: 'float', value: 1 },
          { key: offset, type: 'vector', value: [1, 1] },
        ],
        5,
        'a',
      );
      // 3 kept: revision 5 (one change) and revision 6 (two); never half of a write.
      assert.equal(store.changesSince('default', 3), undefined);
      assert.deepEqual(
        store.changesSince('default', 4)?.map((c) => c.revision),
        [5, 6, 6],
      );
    });
  });

  describe('#onChanged', () => {
    it('hears every accepted write after it is persisted, in revision order, even when a listener writes', () => {
      const { store, records } = recordingStore();
      const heard: Array<[string, number, number]> = [];
      store.onChanged((e) => {
        heard.push(['first', e.revision, records.length]);
        if (e.revision === 1) store.set('default', { key: scale, type: 'float', value: 1 }, 1, 'listener');
      });
      store.onChanged((e) => heard.push(['second', e.revision, records.length]));
      store.set('default', { key: count, type: 'int', value: 1 }, 0, 'alice');
      assert.deepEqual(
        heard.filter(([who]) => who === 'second').map(([, rev]) => rev),
        [1, 2],
      );
      assert.deepEqual(
        heard.filter(([who]) => who === 'first').map(([, rev]) => rev),
        [1, 2],
      );
      for (const [, rev, persisted] of heard) assert.ok(persisted >= rev);
    });
  });

  describe('persistence', () => {
    it('persists before applying; a failed persist applies nothing and makes the store read-only', () => {
      let fail = false;
      const store = new SyncStore({
        persist: (r) => {
          assert.equal(store.revision(r.channel), r.revision - 1, 'not applied yet while persisting');
          if (fail) throw new Error('disk full');
        },
      });
      store.set('default', { key: count, type: 'int', value: 1 }, 0, 'alice');
      fail = true;
      const err = thrown(() => store.set('default', { key: count, type: 'int', value: 2 }, 1, 'alice'));
      assert.ok(err instanceof DomainError);
      assert.equal(err.kind, 'unavailable');
      assert.match(err.message, /disk full/);
      assert.equal(store.entry('default', count)?.value, 1);
      fail = false;
      const later = thrown(() => store.set('default', { key: scale, type: 'float', value: 2 }, 1, 'alice'));
      assert.equal((later as DomainError).kind, 'unavailable');
      assert.equal(store.get('default').revision, 1);
    });

    it('restores the exact state, revisions, epochs and history included, from the persisted records', () => {
      const { store, records } = recordingStore({ historyLimit: 4 });
      store.set('default', { key: count, type: 'int', value: 1 }, 0, 'alice');
      store.set('scene-2', { key: offset, type: 'color', value: [1, 0, 0] }, 0, 'bob');
      store.setMany(
        'default',
        [
          { key: scale, type: 'float', value: 1 },
          { key: offset, type: 'vector', value: [2, 2] },
        ],
        1,
        'bob',
      );
      store.set('default', { key: count, type: 'int', value: 3 }, 2, 'carol');
      store.set('default', { key: count, type: 'int', value: 3 }, 3, 'carol'); // no change: no record
      store.set('default', { key: { ...count, input: 'Target' }, type: 'object', value: null }, 3, 'carol');
      const restored = SyncStore.restore(JSON.parse(JSON.stringify(records)), { persist: () => {} }, { historyLimit: 4 });
      assert.deepEqual(restored.channelNames(), store.channelNames());
      for (const name of store.channelNames()) {
        assert.deepEqual(restored.get(name), store.get(name));
        for (let rev = 0; rev <= store.revision(name) + 1; rev++) {
          assert.deepEqual(restored.changesSince(name, rev), store.changesSince(name, rev), `${name} since ${rev}`);
        }
      }
      // And it goes on from there: the next write takes the next revision.
      assert.equal(restored.set('default', { key: count, type: 'int', value: 4 }, 4, 'dave').revision, 5);
    });

    it('restores the same state from compacted records (toRecords)', () => {
      const { store } = recordingStore();
      for (let i = 0; i < 20; i++)
        store.set('default', { key: i % 2 ? count : scale, type: i % 2 ? 'int' : 'float', value: i }, i, `w${i}`);
      const compacted = store.toRecords();
      assert.deepEqual(
        compacted.map((r) => r.revision),
        [19, 20],
      );
      const restored = SyncStore.restore(compacted, { persist: () => {} });
      assert.deepEqual(restored.get('default'), store.get('default'));
      assert.equal(restored.changesSince('default', 10), undefined);
      assert.deepEqual(
        restored.changesSince('default', 18)?.map((c) => c.revision),
        [19, 20],
      );
    });

    it('refuses records out of order or of the wrong type, naming the record', () => {
      const { store, records } = recordingStore();
      store.set('default', { key: count, type: 'int', value: 1 }, 0, 'a');
      store.set('default', { key: count, type: 'int', value: 2 }, 1, 'a');
      assert.throws(() => SyncStore.restore([records[1]!, records[0]!], { persist: () => {} }), /sync record 1: .*out of order/);
      const wrongType = { ...records[1]!, changes: [{ key: count, type: 'float' as const, value: 2.5 }] };
      assert.throws(() => SyncStore.restore([records[0]!, wrongType], { persist: () => {} }), /sync record 1: .*holds int values/);
      const badValue = { ...records[0]!, changes: [{ key: count, type: 'int' as const, value: 'x' as unknown as number }] };
      assert.throws(() => SyncStore.restore([badValue], { persist: () => {} }), /sync record 0: changes.0.value/);
    });
  });

  describe('under concurrent read-modify-write clients (property)', () => {
    it('converges, loses no acknowledged write, counts revisions one by one, and restores', () => {
      fc.assert(fc.property(scenario, runScenario), { numRuns: Number(process.env.SYNC_PROPERTY_RUNS ?? 300) });
    });
  });
});

// ---- The property: several clients, each a read-modify-write loop with retries, interleaved at random. ----

type Op = 'inc' | 'put' | 'many' | 'sync';

const scenario = fc.record({
  clients: fc.integer({ min: 2, max: 4 }),
  historyLimit: fc.integer({ min: 1, max: 30 }),
  /** How each client handles a conflict: resync from the store, or take `current` from the error and retry. */
  useConflictData: fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
  steps: fc.array(
    fc.record({
      client: fc.nat(3),
      op: fc.constantFrom<Op>('inc', 'put', 'many', 'sync'),
      x: fc.double({ min: -1000, max: 1000, noNaN: true }),
    }),
    { maxLength: 250 },
  ),
});

interface Replica {
  epoch: string;
  revision: number;
  entries: Map<string, SyncEntry>;
}

interface Pending {
  op: 'inc' | 'put' | 'many';
  base: number;
  /** The counter value this client believes current (for inc and many). */
  counter: number;
  x: number;
  attempts: number;
}

interface Ack {
  key: EntryKey;
  value: unknown;
  revision: number;
}

type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never;

function runScenario(s: Scenario): void {
  const records: SyncRecord[] = [];
  const store = new SyncStore({ persist: (r) => records.push(structuredClone(r)) }, { historyLimit: s.historyLimit });
  const channel = 'default';
  const heard: number[] = [];
  store.onChanged((e) => heard.push(e.revision));
  const acks: Ack[] = [];
  let increments = 0;
  let changingWrites = 0;

  const clients = Array.from({ length: s.clients }, (_, i) => ({
    name: `client-${i}`,
    replica: { epoch: '', revision: 0, entries: new Map<string, SyncEntry>() } as Replica,
    pending: undefined as Pending | undefined,
    useConflictData: s.useConflictData[i]!,
  }));

  const sync = (r: Replica) => {
    const changes = r.epoch === store.get(channel).epoch ? store.changesSince(channel, r.revision) : undefined;
    if (changes) {
      for (const c of changes) r.entries.set(keyId(c.key), c);
      r.revision = store.revision(channel);
      // Catching up on the changes must give exactly what a snapshot would.
      assert.deepEqual(sortedEntries([...r.entries.values()]), sortedEntries(store.get(channel).entries));
      return;
    }
    const snap = store.get(channel);
    r.epoch = snap.epoch;
    r.revision = snap.revision;
    r.entries = new Map(snap.entries.map((e) => [keyId(e.key), e]));
  };
  const counterOf = (r: Replica) => (r.entries.get(keyId(count))?.value as number | undefined) ?? 0;

  for (const step of s.steps) {
    const c = clients[step.client % clients.length]!;
    if (!c.pending) {
      if (step.op === 'sync') sync(c.replica);
      else c.pending = { op: step.op, base: c.replica.revision, counter: counterOf(c.replica), x: step.x, attempts: 0 };
      continue;
    }
    // The write half of the loop: it runs at a later step than the read, so other clients interleave in between.
    const p = c.pending;
    const changes =
      p.op === 'inc'
        ? [{ key: count, type: 'int' as const, value: p.counter + 1 }]
        : p.op === 'put'
          ? [{ key: scale, type: 'float' as const, value: p.x }]
          : [
              { key: count, type: 'int' as const, value: p.counter + 1 },
              { key: offset, type: 'vector' as const, value: [p.x, clients.indexOf(c), p.attempts] },
            ];
    try {
      const event =
        changes.length === 1 ? store.set(channel, changes[0]!, p.base, c.name) : store.setMany(channel, changes, p.base, c.name);
      for (const ch of changes) acks.push({ key: ch.key, value: ch.value, revision: event.revision });
      if (p.op !== 'put') increments++;
      if (event.changes.length > 0) changingWrites++;
      // A client that saw everything up to this write may apply it itself.
      if (event.changes.length > 0 && event.revision === c.replica.revision + 1) {
        for (const e of event.changes) c.replica.entries.set(keyId(e.key), e);
        c.replica.revision = event.revision;
      }
      c.pending = undefined;
    } catch (err) {
      assert.ok(err instanceof RevisionConflictError, String(err));
      const data = err.data as {
        current: { value: unknown; revision: number };
        conflicts?: Array<{ key: EntryKey; current: { value: unknown; revision: number } }>;
      };
      assert.ok(data.current.revision > p.base);
      if (++p.attempts > 50) {
        c.pending = undefined; // Gives up: its write was never acknowledged, so nothing is owed to it.
        continue;
      }
      if (c.useConflictData) {
        const conflicts = data.conflicts ?? [{ key: changes[0]!.key, current: data.current }];
        for (const conflict of conflicts) {
          if (keyId(conflict.key) === keyId(count)) p.counter = conflict.current.value as number;
          p.base = Math.max(p.base, conflict.current.revision);
        }
      } else {
        sync(c.replica);
        p.base = c.replica.revision;
        p.counter = counterOf(c.replica);
      }
    }
  }

  const final = store.get(channel);
  // Every client converges on the same snapshot.
  for (const c of clients) {
    sync(c.replica);
    assert.equal(c.replica.revision, final.revision);
    assert.deepEqual(sortedEntries([...c.replica.entries.values()]), sortedEntries(final.entries));
  }
  // Revisions: one per accepted change, heard in order, each persisted once.
  assert.equal(final.revision, changingWrites);
  assert.deepEqual(
    heard,
    Array.from({ length: final.revision }, (_, i) => i + 1),
  );
  assert.deepEqual(
    records.map((r) => r.revision),
    heard,
  );
  // No acknowledged write lost: each is the final value, or a later revision superseded it.
  const finalByKey = new Map(final.entries.map((e) => [keyId(e.key), e]));
  for (const ack of acks) {
    const now = finalByKey.get(keyId(ack.key));
    assert.ok(now, `acknowledged entry ${keyId(ack.key)} missing`);
    assert.ok(sameValue(now.value, ack.value as number) || now.revision > ack.revision, `lost write ${JSON.stringify(ack)}`);
  }
  // Read-modify-write increments are never lost: the counter counts exactly the acknowledged ones.
  assert.equal(finalByKey.get(keyId(count))?.value ?? 0, increments);
  // The records rebuild the same state, history included.
  // (A channel never written has no records: it comes back empty, under a new epoch.)
  const sameEpoch = (snap: SyncSnapshot) => (final.revision === 0 ? { ...snap, epoch: final.epoch } : snap);
  const restored = SyncStore.restore(records, { persist: () => {} }, { historyLimit: s.historyLimit });
  assert.deepEqual(sameEpoch(restored.get(channel)), final);
  for (let rev = 0; rev <= final.revision; rev++) assert.deepEqual(restored.changesSince(channel, rev), store.changesSince(channel, rev));
  assert.deepEqual(sameEpoch(SyncStore.restore(store.toRecords(), { persist: () => {} }).get(channel)), final);
}

function sortedEntries(entries: SyncEntry[]): SyncEntry[] {
  return [...entries].sort((a, b) => keyId(a.key).localeCompare(keyId(b.key)));
}
