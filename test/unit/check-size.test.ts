import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { tempDir } from '../helpers/sidecar.js';

const script = join(import.meta.dirname, '..', '..', 'build', 'check-size.mjs');

/** Writes `files` (path → text) into a new tree and runs the size check on it, as `npm run lint` does. */
function check(files: Record<string, string>): { status: number | null; listed: string[] } {
  const root = tempDir('check-size-');
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  const r = spawnSync(process.execPath, [script, '--root', root], { encoding: 'utf8' });
  assert.equal(r.stderr, '');
  return { status: r.status, listed: r.stdout.split('\n').filter((l) => /^\S+:\d+ {2}/.test(l)) };
}

const lines = (n: number, line = 'x = 1') => `${Array.from({ length: n }, () => line).join('\n')}\n`;
const tsFunction = (name: string, bodyLines: number) => `export function ${name}(): number {\n${lines(bodyLines - 2, '  let x = 1;')}}\n`;
const pyFunction = (name: string, bodyLines: number) => `def ${name}():\n${lines(bodyLines - 1, '    x = 1')}`;

describe('build/check-size.mjs', () => {
  it('lists a sidecar file over 400 lines and functions over 80, TypeScript and Python, with their line', () => {
    const { status, listed } = check({
      'sidecar/long.ts': lines(401, 'export const x = 1;'),
      'sidecar/short.ts': lines(400, 'export const x = 1;'),
      'sidecar/fn.ts': `// two functions\n${tsFunction('fits', 80)}${tsFunction('tooLong', 81)}`,
      'sidecar/worker/w.py': `import os\n\n\n${pyFunction('fits', 80)}\n\n${pyFunction('too_long', 81)}`,
      'addon/blender_sidecar/ops.py': `class Op:\n    @staticmethod\n${pyFunction('execute', 90).replace(/^/gm, '    ')}`,
    });
    assert.equal(status, 1);
    assert.deepEqual(listed.sort(), [
      'addon/blender_sidecar/ops.py:2  function execute has 90 lines (limit 80)',
      'sidecar/fn.ts:82  function tooLong has 81 lines (limit 80)',
      'sidecar/long.ts:1  file has 401 lines (limit 400)',
      'sidecar/worker/w.py:86  function too_long has 81 lines (limit 80)',
    ]);
  });

  it('counts an arrow function from its statement, by the name it is given', () => {
    const { listed } = check({ 'sidecar/arrow.ts': `export const handler = async () => {\n${lines(85, '  await 1;')}};\n` });
    assert.deepEqual(listed, ['sidecar/arrow.ts:1  function handler has 87 lines (limit 80)']);
  });

  it('leaves alone a file or function whose note says why, and only that one', () => {
    const { status, listed } = check({
      'sidecar/table.ts': `// size: one generated table, read top to bottom\n${lines(500, 'export const x = 1;')}`,
      'sidecar/fn.ts': `/**\n * Parses it.\n * size: a state machine that reads best in one piece\n */\n${tsFunction('noted', 120)}${tsFunction('unnoted', 90)}`,
      'sidecar/worker/w.py': `# size: one long straight-line script Blender runs\n@decorated\n${pyFunction('noted', 90)}`,
    });
    assert.equal(status, 1);
    assert.deepEqual(listed, ['sidecar/fn.ts:125  function unnoted has 90 lines (limit 80)']);
  });

  it('passes a tree where everything fits, and checks file length only under sidecar/', () => {
    const { status, listed } = check({ 'sidecar/a.ts': tsFunction('a', 80), 'addon/big.py': lines(900) });
    assert.deepEqual(listed, []);
    assert.equal(status, 0);
  });
});
