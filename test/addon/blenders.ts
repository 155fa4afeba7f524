/**
 * The Blenders the add-on's suites run on, and how to run a Python suite inside one. Shared by addon.test.ts,
 * gui.test.ts and bench/addon-stall.ts.
 *
 * Blender 3.4 (Debian's, on PATH or $BLENDER) always; Blender 4.3 and 5.2 through the `.ci/blender-X.Y` wrappers when
 * their Debian roots are built (`.ci/blender-roots.sh`). Those Blenders run in a chroot that sees /tmp, /root and
 * /work but not the host's /usr/bin/node, so the add-on gets a copy of this Node under /tmp through
 * BLENDER_SIDECAR_TEST_NODE (the preference an artist would set).
 */
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..');

export interface BlenderUnderTest {
  /** "blender-3.4", "blender-4.3", "blender-5.2" (from the version; the path's name when it does not start) */
  name: string;
  path: string;
  /** As `blender --version` prints it, e.g. "3.4.1"; undefined when that Blender cannot start. */
  version: string | undefined;
  /** Runs in a chroot (one of the .ci wrappers), which cannot see the host's Node. */
  chroot: boolean;
  /** The machine's own Blender ($BLENDER or blender on PATH), the first of the list. */
  main: boolean;
}

function versionOf(path: string): string | undefined {
  const r = spawnSync(path, ['--version'], { encoding: 'utf8', timeout: 60_000 });
  return /^Blender (\d+\.\d+\.\d+)/m.exec(r.stdout ?? '')?.[1];
}

function describe(path: string, main: boolean): BlenderUnderTest {
  const ci = join(root, '.ci');
  const resolved = existsSync(path) ? resolve(path) : path;
  const version = versionOf(path);
  const fallback = /blender-(\d+\.\d+)$/.exec(path)?.[0] ?? 'blender';
  const name = version ? `blender-${version.split('.').slice(0, 2).join('.')}` : fallback;
  return { name, path, version, chroot: resolved.startsWith(ci + sep), main };
}

/** Every Blender of the matrix, missing ones included (version undefined) so a suite can say it skipped them. */
export function blendersUnderTest(): BlenderUnderTest[] {
  const main = describe(process.env.BLENDER ?? 'blender', true);
  const list = [main];
  for (const v of ['4.3', '5.2']) {
    const path = join(root, '.ci', `blender-${v}`);
    if (resolve(main.path) !== path) list.push(describe(path, false));
  }
  return list;
}

/** A copy of this Node that a chrooted Blender can run (under /tmp, which the chroot shares); made once. */
function nodeForChroot(): string {
  const dir = join('/tmp', `blender-sidecar-test-node-${process.version}`);
  const node = join(dir, 'node');
  const size = statSync(process.execPath).size;
  if (existsSync(node) && statSync(node).size === size) return node;
  mkdirSync(dir, { recursive: true });
  const partial = `${node}.${process.pid}.partial`;
  copyFileSync(process.execPath, partial);
  renameSync(partial, node);
  return node;
}

/** The environment a Python suite inside `blender` needs. */
export function suiteEnv(blender: BlenderUnderTest, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, PYTHONDONTWRITEBYTECODE: '1', ...extra };
  if (blender.chroot) env.BLENDER_SIDECAR_TEST_NODE = nodeForChroot();
  return env;
}

export interface RunResult {
  status: number | null;
  output: string;
  ms: number;
}

/**
 * Runs a command to the end (SIGKILL after `timeoutMs`), collecting what it prints; `onOutput` sees each chunk as it
 * comes (the GUI suite watches for screenshot requests with it).
 */
export function run(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; timeoutMs: number; onTick?: () => void },
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(command, args, { cwd: root, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const tick = options.onTick ? setInterval(options.onTick, 200) : undefined;
    const timer = setTimeout(() => {
      output += `\n[killed after ${options.timeoutMs} ms]`;
      child.kill('SIGKILL');
    }, options.timeoutMs);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      if (tick) clearInterval(tick);
      resolve({ status, output, ms: Date.now() - started });
    });
  });
}
