/**
 * What the JSON-RPC layer costs over a bare WebSocket: the real sidecar (its own process, from the built bundle)
 * beside a bare `ws` echo server (its own process too, same ws settings), both driven from this process the same way:
 * the same `sidecar.ping` text, the same parse of each answer.
 *
 *   - latency: sequential calls (one in flight), p50 and p99;
 *   - throughput: calls per second with 256 in flight on one connection, and the server process's CPU time per call
 *     meanwhile (on Linux, from /proc): with 2 cores the client itself is often what limits calls/s, so the CPU
 *     cost says more about the server.
 *
 * Goals: sidecar p50 within 2x of the bare echo, and at least 20,000 calls/s on one connection. The targets run in
 * alternating rounds and each reports its best round, so a burst of load from elsewhere hurts both alike.
 * Numbers also go to bench/results/rpc.json. Needs `npm run build` first.
 *
 *   node --import tsx bench/rpc.ts [--rounds N] [--sequential N] [--pipelined N] [--in-flight N]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { WebSocket, WebSocketServer } from 'ws';

const root = fileURLToPath(new URL('..', import.meta.url));

/** The baseline: accept, and send every text frame straight back. Settings as the sidecar's transport has them. */
function runEchoServer() {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, maxPayload: 16 * 1024 * 1024 });
  wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
  wss.on('listening', () => {
    const { port } = wss.address() as { port: number };
    process.stdout.write(`listening on ws://127.0.0.1:${port}/\n`);
  });
  process.on('SIGTERM', () => process.exit(0));
  process.stdin.on('end', () => process.exit(0)); // the bench died: do not linger
  process.stdin.resume();
}

interface Target {
  name: string;
  url: string;
  headers: Record<string, string>;
  pid: number;
}

interface Measurement {
  p50us: number;
  p99us: number;
  callsPerSecond: number;
  /** The server's CPU time (user + system) per call during the pipelined run; null where /proc is not there. */
  serverCpuUsPerCall: number | null;
}

async function main() {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '3' },
      sequential: { type: 'string', default: '20000' },
      pipelined: { type: 'string', default: '100000' },
      'in-flight': { type: 'string', default: '256' },
    },
  });
  const rounds = Number(values.rounds);
  const sequentialCalls = Number(values.sequential);
  const pipelinedCalls = Number(values.pipelined);
  const inFlight = Number(values['in-flight']);
  const bundle = join(root, 'dist/blender-sidecar.mjs');
  if (!existsSync(bundle)) throw new Error('dist/blender-sidecar.mjs is missing: run npm run build first');

  const children: ChildProcess[] = [];
  const stateDir = mkdtempSync(join(tmpdir(), 'bench-rpc-'));
  process.on('exit', () => {
    for (const c of children) c.kill('SIGKILL');
    rmSync(stateDir, { recursive: true, force: true });
  });

  const echo = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--echo-server'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  children.push(echo);
  const sidecar = spawn(process.execPath, [bundle, 'serve', '--state-dir', stateDir, '--port', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let sidecarLog = '';
  sidecar.stderr!.on('data', (d) => (sidecarLog += d));
  sidecar.once('exit', (code, signal) => {
    if (signal !== 'SIGTERM' && code !== 0) console.error(`the sidecar exited (${code ?? signal}):\n${sidecarLog}`);
  });
  children.push(sidecar);
  const echoUrl = await lineFrom(echo, /^listening on (ws:\S+)$/);
  const sidecarUrl = await lineFrom(sidecar, /^listening on (ws:\S+)$/);
  const { token } = JSON.parse(readFileSync(join(stateDir, 'sidecar.json'), 'utf8')) as { token: string };

  const targets: Target[] = [
    { name: 'bare ws echo', url: echoUrl, headers: {}, pid: echo.pid! },
    { name: 'sidecar', url: sidecarUrl, headers: { Authorization: `Bearer ${token}` }, pid: sidecar.pid! },
  ];
  const results = new Map<string, Measurement[]>(targets.map((t) => [t.name, []]));
  console.log(
    `bench/rpc: ${rounds} rounds of ${sequentialCalls.toLocaleString('en-US')} sequential and ${pipelinedCalls.toLocaleString('en-US')} ` +
      `pipelined calls (${inFlight} in flight) per target; node ${process.version}, ${cpus().length} cores, load ${loadavg()[0]!.toFixed(2)}`,
  );
  for (let round = 1; round <= rounds; round++) {
    for (const target of targets) {
      const ws = await connect(target);
      if (round === 1) {
        // Warm-up: JIT in both processes, socket buffers.
        await sequential(ws, 5000);
        await pipelined(ws, 20_000, inFlight);
      }
      const latencies = await sequential(ws, sequentialCalls);
      const cpuBefore = cpuSeconds(target.pid);
      const callsPerSecond = await pipelined(ws, pipelinedCalls, inFlight);
      const cpuAfter = cpuSeconds(target.pid);
      ws.close();
      const m: Measurement = {
        p50us: percentile(latencies, 0.5),
        p99us: percentile(latencies, 0.99),
        callsPerSecond,
        serverCpuUsPerCall:
          cpuBefore === null || cpuAfter === null ? null : Math.round(((cpuAfter - cpuBefore) * 1e7) / pipelinedCalls) / 10,
      };
      results.get(target.name)!.push(m);
      console.log(
        `  round ${round} ${target.name.padEnd(13)} p50 ${fmtUs(m.p50us)}  p99 ${fmtUs(m.p99us)}  ${fmtRate(m.callsPerSecond)} calls/s` +
          `  server CPU ${fmtCpu(m.serverCpuUsPerCall)}/call`,
      );
    }
  }

  const best = (name: string): Measurement => {
    const ms = results.get(name)!;
    return {
      p50us: Math.min(...ms.map((m) => m.p50us)),
      p99us: Math.min(...ms.map((m) => m.p99us)),
      callsPerSecond: Math.max(...ms.map((m) => m.callsPerSecond)),
      serverCpuUsPerCall: ms.some((m) => m.serverCpuUsPerCall === null) ? null : Math.min(...ms.map((m) => m.serverCpuUsPerCall!)),
    };
  };
  const e = best('bare ws echo');
  const s = best('sidecar');
  const ratio = {
    p50: s.p50us / e.p50us,
    p99: s.p99us / e.p99us,
    callsPerSecond: s.callsPerSecond / e.callsPerSecond,
    serverCpuPerCall: s.serverCpuUsPerCall !== null && e.serverCpuUsPerCall ? s.serverCpuUsPerCall / e.serverCpuUsPerCall : null,
  };
  const goals = { p50Within2x: ratio.p50 <= 2, atLeast20kCallsPerSecond: s.callsPerSecond >= 20_000 };
  // Same-round ratios, kept in the JSON only: on a small shared machine a single round's latency moves by 2-3x with
  // scheduling (whether client and server share a core), so the best round of each is what the goals are judged on.
  const echoRounds = results.get('bare ws echo')!;
  const perRoundP50Ratio = results.get('sidecar')!.map((m, i) => m.p50us / echoRounds[i]!.p50us);

  console.log('');
  const x = (r: number | null, width: number) => (r === null ? 'n/a' : `${r.toFixed(2)}x`).padStart(width);
  console.log(`  best of ${rounds} rounds:`);
  console.log(`  ${''.padEnd(14)}${'p50'.padStart(10)}${'p99'.padStart(10)}${'calls/s'.padStart(12)}${'server CPU/call'.padStart(17)}`);
  console.log(
    `  ${'bare ws echo'.padEnd(14)}${fmtUs(e.p50us)}${fmtUs(e.p99us)}${fmtRate(e.callsPerSecond)}${fmtCpu(e.serverCpuUsPerCall).padStart(17)}`,
  );
  console.log(
    `  ${'sidecar'.padEnd(14)}${fmtUs(s.p50us)}${fmtUs(s.p99us)}${fmtRate(s.callsPerSecond)}${fmtCpu(s.serverCpuUsPerCall).padStart(17)}`,
  );
  console.log(
    `  ${'sidecar/echo'.padEnd(14)}${x(ratio.p50, 10)}${x(ratio.p99, 10)}${x(ratio.callsPerSecond, 12)}${x(ratio.serverCpuPerCall, 17)}`,
  );
  console.log('');
  console.log(`  p50 within 2x of the bare echo: ${goals.p50Within2x ? 'met' : 'NOT met'} (${ratio.p50.toFixed(2)}x)`);
  console.log(
    `  at least 20,000 calls/s on one connection: ${goals.atLeast20kCallsPerSecond ? 'met' : 'NOT met'} (${fmtRate(s.callsPerSecond).trim()})`,
  );

  const out = join(root, 'bench/results/rpc.json');
  mkdirSync(join(root, 'bench/results'), { recursive: true });
  writeFileSync(
    out,
    `${JSON.stringify(
      {
        date: new Date().toISOString(),
        node: process.version,
        cores: cpus().length,
        cpu: cpus()[0]?.model,
        loadAverage1m: loadavg()[0],
        config: { rounds, sequentialCalls, pipelinedCalls, inFlight },
        rounds: Object.fromEntries(results),
        best: { echo: e, sidecar: s },
        ratio,
        perRoundP50Ratio,
        goals,
      },
      null,
      2,
    )}\n`,
  );
  console.log(`  written to ${out}`);

  for (const c of children) c.kill('SIGTERM');
  await Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : undefined)));
}

function lineFrom(proc: ChildProcess, pattern: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    proc.stdout!.on('data', (d) => {
      buf += d;
      const m = buf.match(new RegExp(pattern.source, 'm'));
      if (m) resolve(m[1]!);
    });
    proc.once('exit', (code) => reject(new Error(`a server exited (${code}) before it listened: ${buf}`)));
  });
}

function connect(target: Target): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(target.url, { headers: target.headers, perMessageDeflate: false });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

const request = (id: number) => `{"jsonrpc":"2.0","id":${id},"method":"sidecar.ping"}`;

/** The id of an answer; the echo server's answer is the request itself, the sidecar's a response: both carry it. */
function answerId(data: WebSocket.RawData): number {
  const msg = JSON.parse(data.toString()) as { id: number; error?: unknown };
  if (msg.error) throw new Error(`the call failed: ${JSON.stringify(msg.error)}`);
  return msg.id;
}

let nextId = 1;

/** One call at a time; returns each round trip in microseconds. */
async function sequential(ws: WebSocket, calls: number): Promise<number[]> {
  const latencies = new Array<number>(calls);
  let resolveOne: ((id: number) => void) | undefined;
  const onMessage = (data: WebSocket.RawData) => resolveOne!(answerId(data));
  ws.on('message', onMessage);
  for (let i = 0; i < calls; i++) {
    const id = nextId++;
    const started = process.hrtime.bigint();
    const answered = new Promise<number>((r) => (resolveOne = r));
    ws.send(request(id));
    const got = await answered;
    latencies[i] = Number(process.hrtime.bigint() - started) / 1000;
    if (got !== id) throw new Error(`answer for ${got} where ${id} was expected`);
  }
  ws.off('message', onMessage);
  return latencies;
}

/** `inFlight` calls outstanding at all times until `calls` are answered; returns calls per second. */
function pipelined(ws: WebSocket, calls: number, inFlight: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let sent = 0;
    let received = 0;
    let sentIds = 0;
    let receivedIds = 0;
    const send = () => {
      const id = nextId++;
      sentIds += id;
      sent++;
      ws.send(request(id));
    };
    const started = process.hrtime.bigint();
    const onMessage = (data: WebSocket.RawData) => {
      try {
        receivedIds += answerId(data);
      } catch (err) {
        ws.off('message', onMessage);
        reject(err);
        return;
      }
      received++;
      if (sent < calls) send();
      if (received === calls) {
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        ws.off('message', onMessage);
        // Every call answered exactly once: the ids add up.
        if (receivedIds !== sentIds) reject(new Error('the answers do not match the calls'));
        else resolve(calls / seconds);
      }
    };
    ws.on('message', onMessage);
    for (let i = 0; i < Math.min(inFlight, calls); i++) send();
  });
}

/** User + system CPU seconds of a process so far, from /proc (Linux); null elsewhere. */
function cpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of stat(5), in clock ticks (100 a second on Linux).
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null;
  }
}

function fmtCpu(us: number | null): string {
  return us === null ? 'n/a' : `${us.toFixed(1)} µs`;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

function fmtUs(us: number): string {
  return `${us.toFixed(0)} µs`.padStart(10);
}

function fmtRate(n: number): string {
  return Math.round(n).toLocaleString('en-US').padStart(12);
}

// Last, so that every declaration above is initialised before main() uses it.
if (process.argv.includes('--echo-server')) {
  runEchoServer();
} else {
  await main();
}
