/**
 * Fuzzing over a real socket: thousands of random frames (bytes, broken JSON, deep nesting, huge numbers, requests
 * with hostile method names, mixed batches, binary frames). The sidecar must answer every frame JSON-RPC says to
 * answer, with a well-formed response, and nothing else; it must not crash or leak an unhandled error; and it must
 * still serve a new connection afterwards.
 *
 * The run is seeded: FUZZ_SEED=<n> replays one, FUZZ_FRAMES=<n> changes its length.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { methods, notifications } from '../../sidecar/api/spec/index.js';
import { testSidecar, type TestSidecar } from '../helpers/sidecar.js';
import { until } from '../helpers/until.js';

const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 32));
const FRAMES = Number(process.env.FUZZ_FRAMES ?? 5000);
const CONNECTIONS = 4;
const MAX_BATCH = 100; // app.ts's Dispatcher maxBatch

/** mulberry32: small, fast, and the same sequence for the same seed everywhere. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  const int = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!;
  const chance = (p: number) => next() < p;
  return { next, int, pick, chance };
}
type Rng = ReturnType<typeof prng>;

interface Frame {
  kind: string;
  data: string | Buffer;
  binary: boolean;
}

const hostileMethods = [
  'constructor',
  '__proto__',
  'toString',
  'hasOwnProperty',
  'valueOf',
  'prototype',
  '__defineGetter__',
  'rpc.x',
  'rpc.discover',
  'rpc.',
  '',
  ' sidecar.ping',
  'sidecar.ping ',
  'SIDECAR.PING',
  'sidecar',
  'sidecar.',
  'events.subscribe.constructor',
  'job',
  '\u0000',
  '💥',
  'a'.repeat(5000),
];
// sidecar.stop is left out: a fuzzer that finds it ends the run, as a user calling it would.
const realMethods = Object.keys(methods).filter((m) => m !== 'sidecar.stop');
const topics = Object.keys(notifications);
const paramKeys = [
  'echo',
  'topics',
  'jobId',
  'state',
  'kind',
  'limit',
  'timeoutMs',
  'blendFile',
  'output',
  'frames',
  '__proto__',
  'constructor',
];
const hugeNumbers = [
  '1e308',
  '1e400',
  '-1e400',
  '1e-400',
  '123456789012345678901234567890',
  '-0',
  '0.0000000000000000000001',
  '9007199254740993',
];

function randomString(r: Rng, max = 24): string {
  const n = r.int(0, max);
  let s = '';
  for (let i = 0; i < n; i++) {
    const roll = r.next();
    if (roll < 0.7) s += String.fromCharCode(r.int(0x20, 0x7e));
    else if (roll < 0.8) s += String.fromCharCode(r.int(0, 0x1f));
    else if (roll < 0.9) s += String.fromCodePoint(r.int(0x80, 0x10ffff));
    else s += String.fromCharCode(r.int(0xd800, 0xdfff)); // a lone surrogate: not encodable, sent as U+FFFD
  }
  return s;
}

/** A random JSON text (not a value: huge numbers are spelled out as text). */
function randomJson(r: Rng, depth = 0): string {
  const roll = r.next();
  if (depth > 4 || roll < 0.45) {
    switch (r.int(0, 6)) {
      case 0:
        return 'null';
      case 1:
        return r.pick(['true', 'false']);
      case 2:
        return String(r.int(-1e9, 1e9));
      case 3:
        return r.pick(hugeNumbers);
      case 4:
        return String(r.next() * 1e6);
      default:
        return JSON.stringify(randomString(r));
    }
  }
  if (roll < 0.7) return `[${Array.from({ length: r.int(0, 5) }, () => randomJson(r, depth + 1)).join(',')}]`;
  const keys = Array.from({ length: r.int(0, 5) }, () => (r.chance(0.5) ? r.pick(paramKeys) : randomString(r, 8)));
  return `{${keys.map((k) => `${JSON.stringify(k)}:${randomJson(r, depth + 1)}`).join(',')}}`;
}

function randomParams(r: Rng, method: string): string | undefined {
  const roll = r.next();
  if (roll < 0.15) return undefined;
  if (roll < 0.25) return randomJson(r); // anything, including non-objects
  if (method === 'events.subscribe' && r.chance(0.5)) {
    return JSON.stringify({ topics: Array.from({ length: r.int(0, 3) }, () => (r.chance(0.6) ? r.pick(topics) : randomString(r, 10))) });
  }
  if (method === 'sidecar.ping' && r.chance(0.5)) return `{"echo":${randomJson(r)}}`;
  const keys = Array.from({ length: r.int(0, 3) }, () => (r.chance(0.7) ? r.pick(paramKeys) : randomString(r, 8)));
  return `{${keys.map((k) => `${JSON.stringify(k)}:${randomJson(r, 1)}`).join(',')}}`;
}

function randomId(r: Rng): string | undefined {
  switch (r.int(0, 9)) {
    case 0:
      return undefined; // a notification
    case 1:
      return 'null';
    case 2:
      return JSON.stringify(randomString(r, 12));
    case 3:
      return r.pick(hugeNumbers);
    case 4:
      return r.pick(['{}', '[]', 'true', '{"a":1}', '[1]']); // not a valid id
    case 5:
      return String(r.next());
    default:
      return String(r.int(0, 1e6));
  }
}

/** A request that looks right, with random parts (method, id, params, sometimes jsonrpc) made hostile. */
function randomRequest(r: Rng): string {
  const method = r.chance(0.5) ? r.pick(realMethods) : r.chance(0.7) ? r.pick(hostileMethods) : randomString(r, 20);
  const parts: string[] = [];
  const jsonrpc = r.chance(0.9) ? '"2.0"' : r.pick(['"1.0"', '2', '2.0', 'null', '"2.0 "']);
  if (!r.chance(0.03)) parts.push(`"jsonrpc":${jsonrpc}`);
  const id = randomId(r);
  if (id !== undefined) parts.push(`"id":${id}`);
  parts.push(`"method":${r.chance(0.95) ? JSON.stringify(method) : randomJson(r)}`);
  const params = randomParams(r, method);
  if (params !== undefined) parts.push(`"params":${params}`);
  if (r.chance(0.05)) parts.push(`${JSON.stringify(r.pick(paramKeys))}:${randomJson(r)}`);
  // Shuffle the member order: nothing may depend on it.
  for (let i = parts.length - 1; i > 0; i--) {
    const j = r.int(0, i);
    [parts[i], parts[j]] = [parts[j]!, parts[i]!];
  }
  return `{${parts.join(',')}}`;
}

function deep(r: Rng): string {
  const depth = r.chance(0.02) ? 1_000_000 : r.chance(0.2) ? 100_000 : 10_000;
  const shape = r.pick(['array', 'object', 'mixed']);
  let open = '';
  let close = '';
  if (shape === 'array') [open, close] = ['['.repeat(depth), ']'.repeat(depth)];
  else if (shape === 'object') [open, close] = ['{"a":'.repeat(depth), `1${'}'.repeat(depth)}`];
  else [open, close] = ['[{"a":'.repeat(depth / 2), `null${'}]'.repeat(depth / 2)}`];
  const nested = open + close;
  switch (r.int(0, 6)) {
    case 0:
      return nested;
    case 1:
      return `{"jsonrpc":"2.0","id":1,"method":"sidecar.ping","params":{"echo":${nested}}}`;
    case 2:
      return `{"jsonrpc":"2.0","id":${nested},"method":"sidecar.ping"}`;
    case 3:
      return `{"jsonrpc":"2.0","id":2,"method":${nested}}`;
    case 4:
      return `{"jsonrpc":"2.0","id":3,"method":"${r.pick(realMethods)}","params":{"${r.pick(paramKeys)}":${nested}}}`;
    case 5:
      return `[{"jsonrpc":"2.0","id":4,"method":"sidecar.ping"},${nested},{"jsonrpc":"2.0","id":5,"method":"sidecar.ping","params":{"echo":${nested}}}]`;
    default:
      return open; // never closed
  }
}

function randomBytes(r: Rng, max: number): Buffer {
  const b = Buffer.alloc(r.int(0, max));
  for (let i = 0; i < b.length; i++) b[i] = r.int(0, 255);
  return b;
}

function corrupt(r: Rng, text: string): string {
  const chars = [...text];
  for (let n = r.int(1, 4); n > 0 && chars.length > 0; n--) {
    const i = r.int(0, chars.length - 1);
    switch (r.int(0, 2)) {
      case 0:
        chars[i] = r.pick(['{', '}', '[', ']', '"', ',', ':', '\\', 'x', '\u0000', ' ']);
        break;
      case 1:
        chars.splice(i, 1);
        break;
      default:
        chars.splice(i, 0, r.pick(['{', '"', ',', '1e999', 'null', '\\u12']));
    }
  }
  return chars.join('');
}

function makeFrame(r: Rng): Frame {
  const text = (kind: string, data: string): Frame => ({ kind, data, binary: false });
  const roll = r.next();
  if (roll < 0.08) return { kind: 'random bytes, binary frame', data: randomBytes(r, 512), binary: true };
  if (roll < 0.12) return { kind: 'random bytes, text frame', data: randomBytes(r, 64), binary: false };
  if (roll < 0.16) return text('random text', randomString(r, 200));
  if (roll < 0.26) {
    const t = r.chance(0.5) ? randomRequest(r) : randomJson(r);
    return text('truncated JSON', t.slice(0, r.int(0, Math.max(0, t.length - 1))));
  }
  if (roll < 0.36) return text('corrupted JSON', corrupt(r, randomRequest(r)));
  if (roll < 0.38) return text('deep nesting', deep(r));
  if (roll < 0.41)
    return text(
      'huge numbers',
      `{"jsonrpc":"2.0","id":${r.pick(hugeNumbers)},"method":"sidecar.ping","params":{"echo":[${r.pick(hugeNumbers)},${'9'.repeat(r.int(400, 20_000))}]}}`,
    );
  if (roll < 0.44) return text('random JSON value', randomJson(r));
  if (roll < 0.47) return { kind: 'request in a binary frame', data: Buffer.from(randomRequest(r)), binary: true };
  if (roll < 0.55) {
    const n = r.chance(0.05) ? r.int(MAX_BATCH - 2, MAX_BATCH + 20) : r.int(0, 12);
    const items = Array.from({ length: n }, () => (r.chance(0.7) ? randomRequest(r) : randomJson(r)));
    return text('mixed batch', `[${items.join(',')}]`);
  }
  if (roll < 0.551)
    return text(
      'large echo',
      `{"jsonrpc":"2.0","id":"big","method":"sidecar.ping","params":{"echo":"${'x'.repeat(r.int(100_000, 2_000_000))}"}}`,
    );
  if (roll < 0.56)
    return text(
      'odd text',
      r.pick([
        '',
        ' ',
        '\uFEFF{"jsonrpc":"2.0","id":1,"method":"sidecar.ping"}',
        'null',
        '[]',
        '[[]]',
        '{}',
        '"\\ud800"',
        'NaN',
        'Infinity',
        '1e400',
      ]),
    );
  return text('request', randomRequest(r));
}

// What JSON-RPC 2.0 says must come back for one frame, computed independently of the server's code.
const has = (o: object, k: string) => Object.hasOwn(o, k);
function isNotification(v: unknown): boolean {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const o = v as Record<string, unknown>;
  const paramsOk = !has(o, 'params') || (o.params !== null && typeof o.params === 'object');
  return o.jsonrpc === '2.0' && typeof o.method === 'string' && !has(o, 'id') && paramsOk;
}
/** Messages and response objects the frame must produce. */
function expectedAnswer(text: string): { messages: number; objects: number } {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return { messages: 1, objects: 1 };
  }
  if (!Array.isArray(v)) return isNotification(v) ? { messages: 0, objects: 0 } : { messages: 1, objects: 1 };
  if (v.length === 0 || v.length > MAX_BATCH) return { messages: 1, objects: 1 };
  const answered = v.filter((x) => !isNotification(x)).length;
  return answered === 0 ? { messages: 0, objects: 0 } : { messages: 1, objects: answered };
}

/** Returns what is wrong with a message the server sent, or undefined when it is a valid JSON-RPC 2.0 response. */
function responseProblem(text: string): string | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return 'not JSON';
  }
  const one = (r: unknown): string | undefined => {
    if (r === null || typeof r !== 'object' || Array.isArray(r)) return 'a response must be an object';
    const o = r as Record<string, unknown>;
    if (o.jsonrpc !== '2.0') return 'jsonrpc is not "2.0"';
    if (has(o, 'result') === has(o, 'error')) return 'needs exactly one of result and error';
    if (!has(o, 'id')) return 'no id';
    if (!(o.id === null || typeof o.id === 'string' || (typeof o.id === 'number' && Number.isFinite(o.id)))) return 'bad id';
    for (const k of Object.keys(o)) if (!['jsonrpc', 'id', 'result', 'error'].includes(k)) return `unexpected member ${k}`;
    if (has(o, 'error')) {
      const e = o.error as Record<string, unknown> | null;
      if (!e || typeof e !== 'object' || !Number.isInteger(e.code) || typeof e.message !== 'string') return 'malformed error object';
    }
    return undefined;
  };
  if (Array.isArray(v)) {
    if (v.length === 0) return 'an empty array';
    for (const r of v) {
      const p = one(r);
      if (p) return `in a batch: ${p}`;
    }
    return undefined;
  }
  return one(v);
}

/** A fuzzing connection: counts and checks everything that comes back. */
class Tally {
  messages = 0;
  objects = 0;
  expectedMessages = 0;
  expectedObjects = 0;
  sentinelSeen = false;
  readonly problems: string[] = [];
  closed: number | undefined;
  lastKinds: string[] = [];

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const text = data.toString();
      this.messages++;
      const problem = responseProblem(text);
      if (problem) this.problems.push(`${problem}: ${text.slice(0, 300)}`);
      const v = problem ? undefined : JSON.parse(text);
      this.objects += Array.isArray(v) ? v.length : 1;
      if (v && !Array.isArray(v) && v.id === 'fuzz-sentinel') this.sentinelSeen = true;
    });
    ws.on('close', (code) => (this.closed = code));
  }

  send(frame: Frame) {
    const expected = expectedAnswer(Buffer.from(frame.data).toString('utf8'));
    this.expectedMessages += expected.messages;
    this.expectedObjects += expected.objects;
    this.lastKinds = [...this.lastKinds.slice(-9), frame.kind];
    this.ws.send(frame.data, { binary: frame.binary });
  }
}

function open(url: string, token: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers: { Authorization: `Bearer ${token}` }, maxPayload: 64 * 1024 * 1024 });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

function isValidUtf8(b: Buffer): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(b);
    return true;
  } catch {
    return false;
  }
}

describe('fuzzing the sidecar over a real socket', () => {
  let sidecar: TestSidecar;
  const unhandled: string[] = [];
  const onRejection = (reason: unknown) => unhandled.push(`unhandledRejection: ${(reason as Error)?.stack ?? String(reason)}`);
  const onException = (err: Error) => unhandled.push(`uncaughtException: ${err.stack ?? String(err)}`);

  before(async () => {
    process.on('unhandledRejection', onRejection);
    process.on('uncaughtException', onException);
    // No Blender: a random request that happens to be a valid render.submit is refused, not run.
    sidecar = await testSidecar({ blender: '/nonexistent/blender', instances: 1 });
  });
  after(async () => {
    await sidecar.stop();
    process.off('unhandledRejection', onRejection);
    process.off('uncaughtException', onException);
  });

  it(`answers ${FRAMES} random frames as JSON-RPC 2.0 says, and keeps serving`, { timeout: 300_000 }, async (t) => {
    t.diagnostic(`seed ${SEED} (replay with FUZZ_SEED=${SEED})`);
    const why = (m: string) => `${m} [FUZZ_SEED=${SEED}]`;
    const r = prng(SEED);
    const conns = await Promise.all(Array.from({ length: CONNECTIONS }, async () => new Tally(await open(sidecar.url, sidecar.token))));
    const kinds = new Map<string, number>();
    let invalidUtf8Text = 0;

    for (let i = 0; i < FRAMES; i++) {
      const frame = makeFrame(r);
      kinds.set(frame.kind, (kinds.get(frame.kind) ?? 0) + 1);
      if (!frame.binary && Buffer.isBuffer(frame.data) && !isValidUtf8(frame.data)) {
        // Invalid UTF-8 in a text frame breaks the WebSocket protocol itself: ws closes with 1007, on its own
        // connection, and the sidecar goes on.
        invalidUtf8Text++;
        const ws = await open(sidecar.url, sidecar.token);
        const code = await new Promise<number>((resolve) => {
          ws.once('close', (c) => resolve(c));
          ws.send(frame.data, { binary: false });
        });
        assert.equal(code, 1007, why(`frame ${i}: invalid UTF-8 in a text frame`));
        continue;
      }
      const conn = conns[i % CONNECTIONS]!;
      conn.send(frame);
      // Let the server keep up now and then instead of queueing megabytes in our own send buffer.
      if (i % 50 === 49 || conn.ws.bufferedAmount > 4 * 1024 * 1024) await new Promise((res) => setImmediate(res));
    }
    t.diagnostic(`frames by kind: ${[...kinds].map(([k, n]) => `${k} ${n}`).join(', ')}; invalid UTF-8 text frames ${invalidUtf8Text}`);

    // A final ping on each connection; since answers may overtake each other, then wait for every expected one.
    for (const c of conns) c.ws.send('{"jsonrpc":"2.0","id":"fuzz-sentinel","method":"sidecar.ping"}');
    for (const [n, c] of conns.entries()) {
      await until(() => c.closed !== undefined || (c.sentinelSeen && c.messages >= c.expectedMessages + 1), {
        timeoutMs: 60_000,
        what: () => why(`connection ${n}'s answers: ${c.messages} of ${c.expectedMessages + 1} arrived`),
      });
      assert.equal(c.closed, undefined, why(`connection ${n} was closed (code ${c.closed}); last frames: ${c.lastKinds.join(' | ')}`));
      assert.deepEqual(c.problems, [], why(`connection ${n} got invalid responses`));
    }
    await new Promise((res) => setTimeout(res, 200)); // room for any answer the server should not have sent
    for (const [n, c] of conns.entries()) {
      assert.equal(c.messages, c.expectedMessages + 1, why(`connection ${n}: answer messages`));
      assert.equal(c.objects, c.expectedObjects + 1, why(`connection ${n}: response objects`));
      c.ws.close();
    }

    // Still serving: a new connection, and plain HTTP.
    const ws = await open(sidecar.url, sidecar.token);
    const answer = await new Promise<string>((resolve) => {
      ws.once('message', (d) => resolve(d.toString()));
      ws.send('{"jsonrpc":"2.0","id":1,"method":"sidecar.ping","params":{"echo":"after"}}');
    });
    ws.close();
    assert.deepEqual(JSON.parse(answer), { jsonrpc: '2.0', id: 1, result: { pong: true, echo: 'after' } });
    const health = await fetch(`http://127.0.0.1:${sidecar.port}/healthz`);
    assert.equal(health.status, 200);
    assert.equal(((await health.json()) as { ok: boolean }).ok, true);

    assert.deepEqual(unhandled, [], why('unhandled errors in the process'));
  });
});
