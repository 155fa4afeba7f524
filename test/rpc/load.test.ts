/**
 * Load: 50 typed clients, each making 1,000 pipelined `sidecar.ping` calls, every answer matched to its request; then
 * the same again, to show that memory stays bounded. No timing thresholds: machines are noisy (bench/rpc.ts measures).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { SidecarClient } from '../../sidecar/client/sidecar-client.js';
import { testSidecar, type TestSidecar } from '../helpers/sidecar.js';

const CLIENTS = 50;
const CALLS_PER_CLIENT = 1000;
const IN_FLIGHT_PER_CLIENT = 100;

/** One client's share of a round: calls in chunks of IN_FLIGHT_PER_CLIENT, each echo unique across the whole run. */
async function pingRound(client: SidecarClient, round: number, clientNo: number): Promise<number> {
  let matched = 0;
  for (let start = 0; start < CALLS_PER_CLIENT; start += IN_FLIGHT_PER_CLIENT) {
    const echoes = Array.from({ length: IN_FLIGHT_PER_CLIENT }, (_, i) => `r${round}-c${clientNo}-n${start + i}`);
    const answers = await Promise.all(echoes.map((echo) => client.call('sidecar.ping', { echo })));
    answers.forEach((answer, i) => {
      assert.deepEqual(answer, { pong: true, echo: echoes[i] }, `client ${clientNo}, call ${start + i}`);
      matched++;
    });
  }
  return matched;
}

const MB = 2 ** 20;

// A full GC before each sample, so that the numbers say what is still alive rather than when V8 last collected
// (without it, RSS after the same round swings by tens of MB). Exposing gc at run time needs no command-line flag.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
function sample() {
  gc();
  gc(); // the second pass frees what the first one only unlinked (weak references, finalizers)
  const { rss, heapUsed } = process.memoryUsage();
  return { rss: rss / MB, heap: heapUsed / MB };
}

describe('50 concurrent clients', () => {
  let sidecar: TestSidecar;
  let clients: SidecarClient[];
  before(async () => {
    sidecar = await testSidecar({ blender: '/nonexistent/blender' });
    clients = await Promise.all(Array.from({ length: CLIENTS }, () => sidecar.client()));
  });
  after(() => sidecar.stop());

  it(`each get all ${CALLS_PER_CLIENT} answers, matched to their requests, twice, with memory bounded`, { timeout: 300_000 }, async (t) => {
    // The sidecar runs in this process (testSidecar), so this RSS is the sidecar's plus the clients'.
    const samples = [sample()];
    for (const round of [1, 2]) {
      const matched = await Promise.all(clients.map((c, n) => pingRound(c, round, n)));
      assert.equal(
        matched.reduce((a, b) => a + b, 0),
        CLIENTS * CALLS_PER_CLIENT,
      );
      samples.push(sample());
    }
    const [start, first, second] = samples as [ReturnType<typeof sample>, ReturnType<typeof sample>, ReturnType<typeof sample>];
    const fmt = (s: ReturnType<typeof sample>, prev?: ReturnType<typeof sample>) =>
      `RSS ${s.rss.toFixed(1)} MB${prev ? ` (${s.rss - prev.rss >= 0 ? '+' : ''}${(s.rss - prev.rss).toFixed(1)})` : ''}, heap ${s.heap.toFixed(1)} MB`;
    t.diagnostic(`before: ${fmt(start)}; after round 1: ${fmt(first, start)}; after round 2: ${fmt(second, first)}`);
    // Round 1 pays for JIT code, V8 heap growth and socket buffers. Round 2 does the same work again, so only a leak
    // should make it grow much: 50,000 calls that each left 1 KB behind (a pending entry, a listener, a closure)
    // would add 50 MB. The bound is that generous because RSS also counts what the allocator and V8 keep for reuse
    // after a GC, which is theirs to decide; measured here, round 2 adds 0 to 20 MB.
    assert.ok(second.rss - first.rss < 50, `RSS grew ${(second.rss - first.rss).toFixed(1)} MB in round 2 (bound 50 MB)`);
    // The live heap after a full GC is the sharper test: a leak of 400 bytes a call would cross 20 MB. (Measured: it
    // stays within a few MB of where round 1 left it; socket and compiled-code state account for that much.)
    assert.ok(second.heap - first.heap < 20, `live heap grew ${(second.heap - first.heap).toFixed(1)} MB in round 2 (bound 20 MB)`);

    // And the sidecar still answers as before, with every connection still there.
    const check = await sidecar.client();
    assert.deepEqual(await check.call('sidecar.ping', { echo: 'after' }), { pong: true, echo: 'after' });
    const metrics = await (await fetch(`http://127.0.0.1:${sidecar.port}/metrics`)).text();
    assert.match(metrics, new RegExp(`sidecar_ws_connections ${CLIENTS + 1}\\b`));
  });
});
