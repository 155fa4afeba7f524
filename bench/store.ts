/**
 * bench/store: what the sidecar's state costs, measured on a `serve` process of this tree and of `main` ("today"),
 * side by side in one run:
 *   - bytes written per rendered frame (the serve process's own writes, /proc/PID/io write_bytes: job files, logs)
 *   - bytes written per gn.set, and gn.set per second over the wire (each one fsync'd before it is answered)
 *   - restart time (spawn to "listening on") with 10,000 jobs and a 100,000-entry channel in the state folder
 * "today" is built from `main` in a temporary git worktree (or --today DIR, an existing checkout).
 * Linux only (/proc).   Run: npm run bench:store [-- --frames 200 --sets 2000 --jobs 10000 --entries 100000]
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SidecarClient } from '../sidecar/client/sidecar-client.js';
import { makeScene } from '../test/helpers/blender.js';
import { tempDir } from '../test/helpers/sidecar.js';
import { root, saveResult, seconds, table } from './lib.js';

const { values } = parseArgs({
  options: {
    frames: { type: 'string', default: '200' },
    sets: { type: 'string', default: '2000' },
    jobs: { type: 'string', default: '10000' },
    entries: { type: 'string', default: '100000' },
    today: { type: 'string' },
  },
});
const frames = Number(values.frames);
const sets = Number(values.sets);
const jobs = Number(values.jobs);
const entries = Number(values.entries);
const dir = tempDir('bench-store-');
const scene = makeScene(dir, 'bench.blend', { frames, size: '32x24', samples: 1 });

function todayTree(): string {
  if (values.today) return values.today;
  const tree = join(dir, 'today');
  execFileSync('git', ['worktree', 'add', '--detach', tree, 'main'], { cwd: root, stdio: 'ignore' });
  symlinkSync(join(root, 'node_modules'), join(tree, 'node_modules'));
  execFileSync(process.execPath, ['build/build.mjs', '--quiet'], { cwd: tree, stdio: 'inherit' });
  return tree;
}

function writtenBytes(pid: number): number {
  return Number(readFileSync(`/proc/${pid}/io`, 'utf8').match(/^write_bytes: (\d+)/m)![1]);
}

async function serve(
  tree: string,
  state: string,
): Promise<{ proc: ChildProcess; client: SidecarClient; startSeconds: number; stop(): Promise<void> }> {
  const t0 = process.hrtime.bigint();
  const proc = spawn(process.execPath, [join(tree, 'dist/blender-sidecar.mjs'), 'serve', '--state-dir', state, '--instances', '1'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  await new Promise<void>((resolve, reject) => {
    proc.stdout!.on('data', (d: Buffer) => d.toString().includes('listening on') && resolve());
    proc.once('exit', (code) => reject(new Error(`the sidecar exited with ${code}`)));
  });
  const startSeconds = seconds(t0);
  const client = await SidecarClient.connect({ stateDir: state });
  return {
    proc,
    client,
    startSeconds,
    async stop() {
      await client.close();
      proc.kill('SIGTERM');
      await new Promise((r) => proc.once('exit', r));
    },
  };
}

async function measure(label: string, tree: string) {
  const state = join(dir, `state-${label}`);
  const s = await serve(tree, state);
  const c = s.client;
  // Rendered frames: warm the worker with a first job, then measure a second.
  const warm = (await c.call('render.submit', { blendFile: scene, frames: '1', output: `${dir}/warm-${label}/` })).jobId;
  await c.call('job.wait', { jobId: warm, timeoutMs: 600_000 }, { timeoutMs: 610_000 });
  let before = writtenBytes(s.proc.pid!);
  const { jobId } = await c.call('render.submit', { blendFile: scene, output: `${dir}/frames-${label}/` });
  const job = await c.call('job.wait', { jobId, timeoutMs: 1_800_000 }, { timeoutMs: 1_810_000 });
  if (job.state !== 'completed') throw new Error(`${label}: the render ${job.state}: ${job.error}`);
  const perFrame = (writtenBytes(s.proc.pid!) - before) / frames;

  const key = { object: 'Grid', modifier: 'GeometryNodes', input: 'Count' };
  before = writtenBytes(s.proc.pid!);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < sets; i++) await c.call('gn.set', { channel: 'bench', key, type: 'int', value: i, baseRevision: i });
  const setSeconds = seconds(t0);
  const perSet = (writtenBytes(s.proc.pid!) - before) / sets;

  for (let r = 0; r < entries / 1000; r++) {
    const changes = Array.from({ length: 1000 }, (_, i) => ({
      key: { object: `Obj.${r}`, modifier: 'GN', input: `In ${i}` },
      type: 'float' as const,
      value: i,
    }));
    await c.call('gn.setMany', { channel: 'large', changes, baseRevision: r }, { timeoutMs: 120_000 });
  }
  await s.stop();
  // 10,000 jobs: copies of the finished one-frame job under new ids.
  const jobsDir = join(state, 'jobs');
  const text = readFileSync(join(jobsDir, `${warm}.json`), 'utf8');
  for (let i = 0; i < jobs; i++) {
    const id = `j-bench${String(i).padStart(6, '0')}`;
    writeFileSync(join(jobsDir, `${id}.json`), text.split(warm).join(id));
  }
  const restart = await serve(tree, state);
  const kept = readdirSync(jobsDir).filter((f) => f.endsWith('.json')).length;
  await restart.stop();
  const again = await serve(tree, state);
  await again.stop();
  return {
    perFrame,
    perSet,
    setsPerSecond: sets / setSeconds,
    restartSeconds: restart.startSeconds,
    secondRestartSeconds: again.startSeconds,
    jobsKept: kept,
  };
}

const today = todayTree();
console.log(`bench/store: ${frames} frames (32x24, 1 sample), ${sets} gn.set, restart with ${jobs} jobs and a ${entries}-entry channel`);
const before = await measure('today', today);
const after = await measure('this', root);
const f = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits });
console.log(
  table([
    ['', 'today (main)', 'this tree'],
    ['bytes written per rendered frame', f(before.perFrame), f(after.perFrame)],
    ['bytes written per gn.set', f(before.perSet), f(after.perSet)],
    ['gn.set per second (durable, over the wire)', f(before.setsPerSecond), f(after.setsPerSecond)],
    [`restart with ${f(jobs)} jobs + ${f(entries)}-entry channel (s)`, f(before.restartSeconds, 2), f(after.restartSeconds, 2)],
    ['job files after that restart', f(before.jobsKept), f(after.jobsKept)],
    ['the restart after (s)', f(before.secondRestartSeconds, 2), f(after.secondRestartSeconds, 2)],
  ]),
);
console.log(`result: ${saveResult('store', { frames, sets, jobs, entries, today: before, this: after })}`);
if (!values.today) execFileSync('git', ['worktree', 'remove', '--force', today], { cwd: root, stdio: 'ignore' });
rmSync(dir, { recursive: true, force: true });
