/**
 * Geometry Nodes sync, measured in one run:
 *
 * - latency: `gn.set` from a script (this process, with the TypeScript client) until another Blender shows the value:
 *   a background Blender running the add-on (test/addon/sync_peer.py, its loop draining at the pace the add-on's timer
 *   asks for, 20 ms while something is synced, and evaluating the depsgraph as the event loop would) reports when the
 *   grid's Count has changed and the mesh is evaluated again; this process times it when that line arrives. Sets are
 *   spaced by a random 0-25 ms so they land at every point of the timer's period. Goal: p95 under 50 ms.
 * - throughput: `SyncStore.set` in-process (no-op persistence; bench/gnsync-store.ts), then the same dispatcher the
 *   sidecar uses answering `gn.set` and `sidecar.ping` in-process (no socket), then one WebSocket to a sidecar
 *   process (its journal fsync'd per write) with 64 calls in flight, `gn.set` beside `sidecar.ping`. The ratios say
 *   what a set costs over the plain RPC round trip. Goal: at least 50,000 sets/s in-process.
 *
 * Numbers also go to bench/results/gnsync-<blender>.json. Needs `npm run build` first (the sidecar process runs the
 * bundle). The Blender is the machine's own (`blender`, $BLENDER) unless --blender names another (.ci/blender-5.2).
 *
 *   npm run bench:gnsync [-- --sets 200 --blender PATH --calls 20000]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { gnHandlers } from '../sidecar/api/handlers/gn.js';
import type { CallContext } from '../sidecar/api/session.js';
import { methods } from '../sidecar/api/spec/index.js';
import type { SidecarClient } from '../sidecar/client/sidecar-client.js';
import { SyncStore } from '../sidecar/domain/sync/store.js';
import { Dispatcher } from '../sidecar/protocol/dispatcher.js';
import { blendersUnderTest, suiteEnv, type BlenderUnderTest } from '../test/addon/blenders.js';
import { changes, GOAL as STORE_GOAL, storeSetsPerSecond, valueFor } from './gnsync-store.js';
import { root, saveResult, sidecarProcess, table } from './lib.js';

const LATENCY_GOAL_MS = 50;
const IN_FLIGHT = 64;
const COUNT = { object: 'Grid', modifier: 'GeometryNodes', input: 'Count' };

const { values: opts } = parseArgs({
  options: {
    sets: { type: 'string', default: '200' },
    calls: { type: 'string', default: '20000' },
    store: { type: 'string', default: '200000' },
    blender: { type: 'string' },
  },
});

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

const rate = (n: number) => Math.round(n).toLocaleString('en-US');
const ms = (n: number) => `${n.toFixed(1)} ms`;
const ratio = (r: { set: number; ping: number }) => (r.set / r.ping).toFixed(2);

// -- throughput ---------------------------------------------------------------------------------------------------

/** gn.set and sidecar.ping through the sidecar's dispatcher, in-process: text in, text out, no socket. */
async function dispatcherRates(calls: number): Promise<{ set: number; ping: number }> {
  const store = new SyncStore({ persist: () => {} });
  const table = { 'sidecar.ping': methods['sidecar.ping'], 'gn.set': methods['gn.set'] };
  const dispatcher = new Dispatcher<typeof table, CallContext>(table, {
    'sidecar.ping': ({ echo }) => (echo === undefined ? { pong: true as const } : { pong: true as const, echo }),
    'gn.set': gnHandlers(store)['gn.set'],
  });
  const ctx = {} as CallContext; // gn.set with a clientName needs no session
  let id = 0;
  const set = async (n: number) => {
    const started = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      const c = changes[i % changes.length]!;
      const params = { key: c.key, type: c.type, value: valueFor(c, i), baseRevision: store.revision('default'), clientName: 'bench' };
      const request = JSON.stringify({ jsonrpc: '2.0', id: ++id, method: 'gn.set', params });
      const text = await dispatcher.handleText(request, ctx);
      if (JSON.parse(text!).error) throw new Error(`gn.set failed: ${text}`);
    }
    return n / (Number(process.hrtime.bigint() - started) / 1e9);
  };
  const ping = async (n: number) => {
    const started = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      const request = JSON.stringify({ jsonrpc: '2.0', id: ++id, method: 'sidecar.ping', params: {} });
      const text = await dispatcher.handleText(request, ctx);
      if (JSON.parse(text!).error) throw new Error(`sidecar.ping failed: ${text}`);
    }
    return n / (Number(process.hrtime.bigint() - started) / 1e9);
  };
  await set(Math.min(calls, 5000));
  await ping(Math.min(calls, 5000));
  // Alternate, keep the best of each: a burst of load from elsewhere hurts both alike.
  let best = { set: 0, ping: 0 };
  for (let round = 0; round < 3; round++) {
    best = { set: Math.max(best.set, await set(calls)), ping: Math.max(best.ping, await ping(calls)) };
  }
  return best;
}

/** `calls` calls with IN_FLIGHT outstanding on one connection; returns calls per second. */
async function pipelined(calls: number, call: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      for (let i = next++; i < calls; i = next++) await call(i);
    }),
  );
  return calls / (Number(process.hrtime.bigint() - started) / 1e9);
}

async function wireRates(client: SidecarClient, calls: number): Promise<{ set: number; ping: number }> {
  // IN_FLIGHT distinct inputs: a set's base revision is the last one answered, which covers the previous write of
  // the same input (IN_FLIGHT calls earlier), so pipelined sets never conflict.
  let revision = (await client.call('gn.get', { channel: 'wire' })).revision;
  const set = (i: number) => {
    const key = { object: 'Grid', modifier: 'GeometryNodes', input: `Input ${i % IN_FLIGHT}` };
    return client
      .call('gn.set', { channel: 'wire', key, type: 'float', value: i * 0.5, baseRevision: revision, clientName: 'bench' })
      .then((r) => (revision = Math.max(revision, r.revision)));
  };
  const ping = () => client.call('sidecar.ping', {});
  await pipelined(Math.min(calls, 2000), set);
  await pipelined(Math.min(calls, 2000), ping);
  let best = { set: 0, ping: 0 };
  for (let round = 0; round < 3; round++) {
    const s = await pipelined(calls, set);
    const p = await pipelined(calls, ping);
    best = { set: Math.max(best.set, s), ping: Math.max(best.ping, p) };
  }
  return best;
}

// -- latency ------------------------------------------------------------------------------------------------------

interface PeerLine {
  event?: string;
  reply?: number;
  values?: Record<string, number>;
  verts?: number;
  blender?: string;
  error?: string;
  stalls?: Record<string, { longest: number; count: number; total: number }>;
  channels?: Record<string, { revision: number; live: boolean; unsent: number }>;
}

/** sync_peer.py in `blender`, with a way to wait for its lines. */
function startPeer(blender: BlenderUnderTest, stateDir: string) {
  const script = join(root, 'test/addon/sync_peer.py');
  const args = ['-b', '--factory-startup', '--python-exit-code', '1', '--python', script, '--', '--state-dir', stateDir];
  const proc = spawn(blender.path, [...args, '--name', 'bench'], { cwd: root, env: suiteEnv(blender), stdio: ['pipe', 'pipe', 'pipe'] });
  const waiting = new Set<{ test: (line: PeerLine) => boolean; resolve: (line: PeerLine) => void }>();
  let output = '';
  proc.stderr.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
  createInterface({ input: proc.stdout }).on('line', (text) => {
    if (!text.startsWith('@@peer ')) {
      output = `${output + text}\n`.slice(-4000);
      return;
    }
    const line = JSON.parse(text.slice('@@peer '.length)) as PeerLine;
    for (const w of waiting) {
      if (w.test(line)) {
        waiting.delete(w);
        w.resolve(line);
      }
    }
  });
  const exited = new Promise<never>((_, reject) =>
    proc.once('exit', (code) => reject(new Error(`the Blender peer exited (${code}):\n${output}`))),
  );
  exited.catch(() => {});
  const next = (test: (line: PeerLine) => boolean, timeoutMs = 30_000) =>
    Promise.race([
      exited,
      new Promise<PeerLine>((resolve, reject) => {
        const w = { test, resolve };
        waiting.add(w);
        setTimeout(() => {
          if (waiting.delete(w)) reject(new Error(`the Blender peer did not answer within ${timeoutMs} ms:\n${output}`));
        }, timeoutMs).unref();
      }),
    ]);
  let ids = 0;
  const command = async (cmd: string, fields: Record<string, unknown> = {}) => {
    const id = ++ids;
    const reply = next((l) => l.reply === id);
    proc.stdin.write(`${JSON.stringify({ ...fields, id, cmd })}\n`);
    const line = await reply;
    if (line.error) throw new Error(`${cmd} failed in the Blender peer: ${line.error}`);
    return line;
  };
  const quit = async () => {
    proc.stdin.end(`${JSON.stringify({ cmd: 'quit' })}\n`);
    await Promise.race([exited.catch(() => undefined), new Promise((r) => setTimeout(r, 20_000))]);
    if (proc.exitCode === null) proc.kill('SIGKILL');
  };
  return { ready: next((l) => l.event === 'ready', 90_000), next, command, quit };
}

async function latency(client: SidecarClient, blender: BlenderUnderTest, stateDir: string, sets: number) {
  const peer = startPeer(blender, stateDir);
  try {
    const ready = await peer.ready;
    await peer.command('sync', { channel: 'latency' });
    // The peer publishes its inputs on joining; wait for that, then drive Count from here.
    let revision = 0;
    while (revision === 0) {
      revision = (await client.call('gn.get', { channel: 'latency' })).revision;
      await new Promise((r) => setTimeout(r, 20));
    }
    await peer.command('reset_stalls'); // the drain's time from here on: sync's own work, not connecting
    const samples: number[] = [];
    let count = 3;
    for (let i = 0; i < sets; i++) {
      count = count === 9 ? 2 : count + 1;
      const want = count;
      await new Promise((r) => setTimeout(r, Math.random() * 25));
      const shown = peer.next((l) => l.event === 'values' && l.values?.Count === want && l.verts === want * want * 8);
      const started = performance.now();
      const params = { channel: 'latency', key: COUNT, type: 'int' as const, value: want, baseRevision: revision, clientName: 'bench' };
      revision = (await client.call('gn.set', params)).revision;
      await shown;
      samples.push(performance.now() - started);
    }
    const state = await peer.command('state');
    const at = state.channels?.latency?.revision;
    if (at !== revision) throw new Error(`the peer is at revision ${at}, not ${revision}`);
    const drain = state.stalls?.['drain (timer)'];
    return {
      blender: ready.blender ?? '?',
      samples,
      drainLongestMs: (drain?.longest ?? 0) * 1000,
      drainMeanMs: drain ? (drain.total / drain.count) * 1000 : 0,
    };
  } finally {
    await peer.quit();
  }
}

// -- main ---------------------------------------------------------------------------------------------------------

/** The machine's own Blender, or the one of the matrix that `path` names (.ci/blender-5.2). */
function chooseBlender(path: string | undefined): BlenderUnderTest {
  const all = blendersUnderTest();
  if (path === undefined) return all[0]!;
  const found = all.find((b) => resolve(b.path) === resolve(path));
  if (!found?.version) throw new Error(`${path} is not a Blender of the matrix that starts here: ${all.map((b) => b.path).join(', ')}`);
  return found;
}

async function main() {
  const sets = Number(opts.sets);
  const calls = Number(opts.calls);
  const blender = chooseBlender(opts.blender);

  console.log('store, in-process ...');
  const store = storeSetsPerSecond(Number(opts.store));
  console.log('dispatcher, in-process ...');
  const inProcess = await dispatcherRates(calls);

  const stateDir = mkdtempSync(join(tmpdir(), 'bench-gnsync-'));
  const sidecar = await sidecarProcess(stateDir, ['--port', '0', '--instances', '1', '--blender', blender.path]);
  try {
    console.log('one WebSocket to a sidecar process ...');
    const wire = await wireRates(sidecar.client, calls);
    console.log(`latency to ${blender.name} (${sets} sets) ...`);
    const lat = await latency(sidecar.client, blender, stateDir, sets);

    const p50 = percentile(lat.samples, 0.5);
    const p95 = percentile(lat.samples, 0.95);
    const max = Math.max(...lat.samples);
    const round = `${calls.toLocaleString('en-US')} calls a round`;
    console.log(`\nGeometry Nodes sync (${lat.samples.length} sets to Blender ${lat.blender}; ${round})\n`);
    console.log(
      table([
        ['latency: gn.set in a script -> value applied in another Blender', 'p50', 'p95', 'max'],
        ["  (background Blender, drained at the add-on timer's 20 ms pace)", ms(p50), ms(p95), ms(max)],
      ]),
    );
    console.log(`  the Blender's drain: longest ${ms(lat.drainLongestMs)}, mean ${lat.drainMeanMs.toFixed(2)} ms\n`);
    console.log(
      table([
        ['throughput', 'gn.set /s', 'sidecar.ping /s', 'set / ping'],
        ['SyncStore.set in-process (no-op persistence)', rate(store), '', ''],
        ['dispatcher in-process (no socket)', rate(inProcess.set), rate(inProcess.ping), ratio(inProcess)],
        [`one WebSocket, ${IN_FLIGHT} in flight (journal fsync'd)`, rate(wire.set), rate(wire.ping), ratio(wire)],
      ]),
    );
    const latencyMet = p95 < LATENCY_GOAL_MS;
    const storeMet = store >= STORE_GOAL;
    console.log(`\ngoal p95 < ${LATENCY_GOAL_MS} ms: ${latencyMet ? 'met' : 'NOT met'} (${ms(p95)})`);
    const inStore = `${rate(store)} sets/s in the store, ${rate(inProcess.set)} through the dispatcher`;
    console.log(`goal >= ${rate(STORE_GOAL)} sets/s in-process: ${storeMet ? 'met' : 'NOT met'} (${inStore})`);
    const path = saveResult(`gnsync-${blender.name}`, {
      blender: lat.blender,
      sets: lat.samples.length,
      latencyMs: { p50, p95, max },
      drainMs: { longest: lat.drainLongestMs, mean: lat.drainMeanMs },
      setsPerSecond: { store, dispatcher: inProcess.set, websocket: wire.set },
      pingsPerSecond: { dispatcher: inProcess.ping, websocket: wire.ping },
      goals: { p95Under50ms: latencyMet, store50kPerSecond: storeMet },
    });
    console.log(`(saved to ${path})`);
    process.exitCode = latencyMet && storeMet ? 0 : 1;
  } finally {
    await sidecar.stop();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

await main();
