import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { testSidecar, type RawClient, type TestSidecar } from '../helpers/sidecar.js';

// Each row: what a client sends, and the answer JSON-RPC 2.0 requires (null: no answer at all).
const table: Array<[string, string, unknown]> = [
  ['invalid JSON', '{"jsonrpc": "2.0", "method": "sidecar.ping", "params": {', { jsonrpc: '2.0', id: null, error: { code: -32700 } }],
  ['null', 'null', { jsonrpc: '2.0', id: null, error: { code: -32600 } }],
  ['a number', '42', { jsonrpc: '2.0', id: null, error: { code: -32600 } }],
  ['a string', '"sidecar.ping"', { jsonrpc: '2.0', id: null, error: { code: -32600 } }],
  ['an empty batch', '[]', { jsonrpc: '2.0', id: null, error: { code: -32600 } }],
  ['[null]', '[null]', [{ jsonrpc: '2.0', id: null, error: { code: -32600 } }]],
  ['[1,2,3]', '[1,2,3]', [1, 2, 3].map(() => ({ jsonrpc: '2.0', id: null, error: { code: -32600 } }))],
  ['a batch of one', '[{"jsonrpc":"2.0","id":7,"method":"sidecar.ping"}]', [{ jsonrpc: '2.0', id: 7, result: { pong: true } }]],
  ['wrong jsonrpc', '{"jsonrpc":"1.0","id":1,"method":"sidecar.ping"}', { jsonrpc: '2.0', id: 1, error: { code: -32600 } }],
  ['missing jsonrpc', '{"id":1,"method":"sidecar.ping"}', { jsonrpc: '2.0', id: 1, error: { code: -32600 } }],
  ['non-string method', '{"jsonrpc":"2.0","id":1,"method":1}', { jsonrpc: '2.0', id: 1, error: { code: -32600 } }],
  ['object id', '{"jsonrpc":"2.0","id":{"a":1},"method":"sidecar.ping"}', { jsonrpc: '2.0', id: null, error: { code: -32600 } }],
  ['array id', '{"jsonrpc":"2.0","id":[1],"method":"sidecar.ping"}', { jsonrpc: '2.0', id: null, error: { code: -32600 } }],
  ['string params', '{"jsonrpc":"2.0","id":1,"method":"sidecar.ping","params":"x"}', { jsonrpc: '2.0', id: 1, error: { code: -32600 } }],
  ['unknown method', '{"jsonrpc":"2.0","id":1,"method":"no.such"}', { jsonrpc: '2.0', id: 1, error: { code: -32601 } }],
  ['"constructor" as method', '{"jsonrpc":"2.0","id":1,"method":"constructor"}', { jsonrpc: '2.0', id: 1, error: { code: -32601 } }],
  ['"__proto__" as method', '{"jsonrpc":"2.0","id":1,"method":"__proto__"}', { jsonrpc: '2.0', id: 1, error: { code: -32601 } }],
  ['"toString" as method', '{"jsonrpc":"2.0","id":1,"method":"toString"}', { jsonrpc: '2.0', id: 1, error: { code: -32601 } }],
  ['reserved rpc. name', '{"jsonrpc":"2.0","id":1,"method":"rpc.other"}', { jsonrpc: '2.0', id: 1, error: { code: -32601 } }],
  [
    'positional params',
    '{"jsonrpc":"2.0","id":1,"method":"sidecar.ping","params":[1]}',
    { jsonrpc: '2.0', id: 1, error: { code: -32602 } },
  ],
  [
    'an unknown param',
    '{"jsonrpc":"2.0","id":1,"method":"sidecar.ping","params":{"nope":1}}',
    { jsonrpc: '2.0', id: 1, error: { code: -32602, data: { errors: [{ field: 'nope', message: 'unknown field' }] } } },
  ],
  ['a notification', '{"jsonrpc":"2.0","method":"sidecar.ping"}', null],
  ['a notification of an unknown method', '{"jsonrpc":"2.0","method":"no.such"}', null],
  ['a batch of notifications', '[{"jsonrpc":"2.0","method":"sidecar.ping"},{"jsonrpc":"2.0","method":"sidecar.ping"}]', null],
  ['null id', '{"jsonrpc":"2.0","id":null,"method":"sidecar.ping"}', { jsonrpc: '2.0', id: null, result: { pong: true } }],
  ['string id', '{"jsonrpc":"2.0","id":"abc","method":"sidecar.ping"}', { jsonrpc: '2.0', id: 'abc', result: { pong: true } }],
];

/** Checks that `actual` contains everything in `expected` (error messages are free text, codes are not). */
function assertMatches(actual: unknown, expected: unknown, path = '$') {
  if (expected === null || typeof expected !== 'object') return assert.deepEqual(actual, expected, path);
  if (Array.isArray(expected)) {
    assert.ok(Array.isArray(actual), `${path}: expected an array, got ${JSON.stringify(actual)}`);
    assert.equal(actual.length, expected.length, `${path}: length`);
    for (const [i, e] of expected.entries()) assertMatches(actual[i], e, `${path}[${i}]`);
    return;
  }
  assert.ok(actual && typeof actual === 'object', `${path}: expected an object, got ${JSON.stringify(actual)}`);
  for (const [k, v] of Object.entries(expected)) assertMatches((actual as any)[k], v, `${path}.${k}`);
}

describe('JSON-RPC 2.0 envelope, over a real socket', () => {
  let sidecar: TestSidecar;
  let raw: RawClient;
  before(async () => {
    sidecar = await testSidecar();
    raw = await sidecar.raw();
  });
  after(() => sidecar.stop());

  for (const [name, input, expected] of table) {
    it(`answers ${name} as the spec says`, async () => {
      if (expected === null) {
        raw.send(input);
        assert.ok(await raw.silentFor(300), 'a notification must get no answer');
        return;
      }
      const answer = await raw.exchange(input);
      assertMatches(answer, expected);
      for (const r of Array.isArray(answer) ? answer : [answer]) {
        if (r.error) assert.equal(typeof r.error.message, 'string');
        assert.ok(!('result' in r && 'error' in r), 'never both result and error');
      }
    });
  }

  it('answers a mixed batch in order, leaving out notifications', async () => {
    const answer = await raw.exchange(
      JSON.stringify([
        { jsonrpc: '2.0', id: 1, method: 'sidecar.ping', params: { echo: 'a' } },
        { jsonrpc: '2.0', method: 'sidecar.ping' },
        { jsonrpc: '2.0', id: 2, method: 'no.such' },
        5,
        { jsonrpc: '2.0', id: 3, method: 'sidecar.ping', params: { echo: 'c' } },
      ]),
    );
    assert.deepEqual(
      answer.map((r: any) => [r.id, r.result?.echo ?? r.error?.code]),
      [
        [1, 'a'],
        [2, -32601],
        [null, -32600],
        [3, 'c'],
      ],
    );
  });

  it('refuses a batch over the cap as a whole', async () => {
    const batch = Array.from({ length: 101 }, (_, i) => ({ jsonrpc: '2.0', id: i, method: 'sidecar.ping' }));
    const answer = await raw.exchange(JSON.stringify(batch));
    assert.equal(answer.error.code, -32600);
    assert.match(answer.error.message, /at most 100/);
  });

  it('names each bad field and why in -32602 data', async () => {
    const answer = await raw.exchange('{"jsonrpc":"2.0","id":9,"method":"events.subscribe","params":{"topics":"job.state","extra":true}}');
    assert.equal(answer.error.code, -32602);
    const fields = answer.error.data.errors.map((e: any) => e.field).sort();
    assert.deepEqual(fields, ['extra', 'topics']);
    assert.match(answer.error.message, /topics/);
  });

  it('closes a connection whose message is over the size cap, and keeps serving others', async () => {
    const small = await testSidecar({ limits: { maxMessageBytes: 1024 } });
    try {
      const c = await small.raw();
      const closed = new Promise<number>((r) => c.ws.once('close', (code) => r(code)));
      c.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'sidecar.ping', params: { echo: 'x'.repeat(4096) } }));
      assert.equal(await closed, 1009);
      const d = await small.raw();
      assert.deepEqual((await d.exchange('{"jsonrpc":"2.0","id":1,"method":"sidecar.ping"}')).result, { pong: true });
    } finally {
      await small.stop();
    }
  });
});
