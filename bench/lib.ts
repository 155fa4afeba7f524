/** Shared bits of the benchmarks: timing, running Blender, a sidecar in its own process, a result file. */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { locateBlender } from '../sidecar/domain/blender/locate.js';
import { SidecarClient } from '../sidecar/client/sidecar-client.js';

export const root = fileURLToPath(new URL('..', import.meta.url));
export const blender = () => locateBlender().path;

export function seconds(startNs: bigint): number {
  return Number(process.hrtime.bigint() - startNs) / 1e9;
}

export function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: 'ignore', env: { ...process.env, ...env } });
    p.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}`))));
    p.once('error', reject);
  });
}

/** Runs tasks with at most `limit` at once. */
export async function parallel<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  await Promise.all(
    Array.from({ length: limit }, async () => {
      for (let item = queue.shift(); item !== undefined; item = queue.shift()) await fn(item);
    }),
  );
}

/** Resolves with the seconds until a first file appears in `dir` (polling every 20 ms). */
export function firstFile(dir: string, startNs: bigint, stop: { stopped: boolean }): Promise<number | undefined> {
  return new Promise((resolve) => {
    const tick = () => {
      if (stop.stopped) return resolve(undefined);
      if (existsSync(dir) && readdirSync(dir).some((n) => !n.startsWith('.'))) return resolve(seconds(startNs));
      setTimeout(tick, 20);
    };
    tick();
  });
}

export async function sidecarProcess(
  stateDir: string,
  args: string[] = [],
): Promise<{ client: SidecarClient; proc: ChildProcess; stop(): Promise<void> }> {
  const proc = spawn(process.execPath, [join(root, 'dist/blender-sidecar.mjs'), 'serve', '--state-dir', stateDir, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    proc.stdout!.on('data', (d: Buffer) => d.toString().includes('listening on') && resolve());
    proc.once('exit', (code) => reject(new Error(`the sidecar exited with ${code}`)));
  });
  const client = await SidecarClient.connect({ stateDir });
  return {
    client,
    proc,
    async stop() {
      await client.close();
      proc.kill('SIGTERM');
      await new Promise((r) => proc.once('exit', r));
    },
  };
}

export function saveResult(name: string, data: unknown): string {
  const dir = join(root, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name}.json`);
  writeFileSync(path, `${JSON.stringify({ at: new Date().toISOString(), ...(data as object) }, null, 2)}\n`);
  return path;
}

export function table(rows: Array<[string, ...string[]]>): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')).join('\n');
}

/** Runs `fn` after emptying `out`, printing and returning its wall time and when the first frame appeared in `out`. */
export async function timedFrames(name: string, out: string, fn: () => Promise<void>): Promise<{ wall: number; first: number }> {
  rmSync(out, { recursive: true, force: true });
  const t0 = process.hrtime.bigint();
  const stop = { stopped: false };
  const first = firstFile(out, t0, stop);
  await fn();
  const wall = seconds(t0);
  stop.stopped = true;
  const f = await first;
  console.log(`  ${name}: ${wall.toFixed(2)} s (first frame ${f?.toFixed(2) ?? '-'} s)`);
  return { wall, first: f ?? wall };
}
