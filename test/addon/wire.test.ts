// The add-on's Python wire client (addon/blender_sidecar/wire): its own unittest suites, run once on plain python3
// and once inside Blender's Python, both against the built sidecar bundle (dist/, from `npm run build`).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
const runner = join(root, 'test', 'addon', 'wire', 'run.py');
const bundle = join(root, 'dist', 'blender-sidecar.mjs');
const python = process.env.PYTHON ?? 'python3';
const blender = process.env.BLENDER ?? 'blender';

function available(command: string, args: string[]): boolean {
  return !spawnSync(command, args, { stdio: 'ignore', timeout: 30_000 }).error;
}

/** Runs a command to the end; resolves with its exit status and everything it printed. */
function run(command: string, args: string[], timeoutMs: number): Promise<{ status: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const timer = setTimeout(() => {
      output += `\n[killed after ${timeoutMs} ms]`;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, output });
    });
  });
}

describe('the add-on wire client (Python)', () => {
  it('finds the built sidecar bundle', () => {
    assert.ok(existsSync(bundle), `${bundle} is missing: run npm run build first`);
  });

  it('passes its tests on plain python3', { skip: !available(python, ['--version']) && `no ${python} on PATH` }, async () => {
    const { status, output } = await run(python, [runner], 120_000);
    assert.equal(status, 0, `python3 run.py exited ${status}:\n${output}`);
    assert.match(output, /^OK/m, output);
  });

  it('passes its tests inside Blender', {
    skip: !available(blender, ['--version']) && `no ${blender} on PATH (set BLENDER to run this)`,
  }, async () => {
    const { status, output } = await run(blender, ['-b', '--factory-startup', '--python-exit-code', '1', '--python', runner], 180_000);
    assert.equal(status, 0, `blender --python run.py exited ${status}:\n${output}`);
    assert.match(output, /wire tests on Python .* \(Blender /, output);
    assert.match(output, /^OK/m, output);
  });
});
