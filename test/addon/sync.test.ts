// Geometry Nodes sync: the add-on's rules on plain python3 (test_sync_plain.py); on every Blender of the matrix (3.4;
// 4.3 and 5.2 when .ci/blender-roots.sh has built them) its input access for every sync type (test_sync_inputs.py)
// and, end to end, test_sync.py: two real Blenders running the add-on and a Python script client, through a real
// sidecar from dist/; and the TypeScript example of docs/gn-sync.md run as written.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { SidecarClient } from '../../sidecar/client/sidecar-client.js';
import { startCli, waitForLine } from '../helpers/cli.js';
import { tempDir } from '../helpers/sidecar.js';
import { blendersUnderTest, root, run, suiteEnv } from './blenders.js';

const suite = join(root, 'test', 'addon', 'test_sync.py');
const inputsSuite = join(root, 'test', 'addon', 'test_sync_inputs.py');
const plain = join(root, 'test', 'addon', 'test_sync_plain.py');
const python = process.env.PYTHON ?? 'python3';

/** The first ```ts block of docs/gn-sync.md. */
function typescriptExample(): string {
  const doc = readFileSync(join(root, 'docs', 'gn-sync.md'), 'utf8');
  const found = /```ts\n([\s\S]*?)```/.exec(doc);
  assert.ok(found, 'docs/gn-sync.md has no ts example');
  return found[1]!;
}

describe('Geometry Nodes sync', () => {
  it('keeps its rules (replica, values) correct on plain python3', async () => {
    const r = await run(python, [plain], { timeoutMs: 60_000 });
    assert.equal(r.status, 0, r.output);
    assert.match(r.output, /^OK/m, r.output);
  });

  for (const blender of blendersUnderTest()) {
    const skip = blender.version === undefined && `${blender.name} is not available (${blender.path} does not start)`;

    it(`reads and writes every sync type by input name on ${blender.name}`, { skip, timeout: 120_000 }, async () => {
      const r = await run(blender.path, ['-b', '--factory-startup', '--python-exit-code', '1', '--python', inputsSuite], {
        env: suiteEnv(blender),
        timeoutMs: 100_000,
      });
      assert.equal(r.status, 0, `test_sync_inputs.py on ${blender.path} exited ${r.status}:\n${r.output}`);
      assert.match(r.output, new RegExp(`^sync input tests on Blender ${blender.version!.replace(/\./g, '\\.')}`, 'm'), r.output);
      assert.match(r.output, /^OK$/m, r.output);
    });

    it(`passes test_sync.py on ${blender.name}: two Blenders and a script`, { skip, timeout: 300_000 }, async (t) => {
      const r = await run(python, [suite, '--blender', blender.path], {
        env: suiteEnv(blender, { SIDECAR_TEST_NODE: process.execPath }),
        timeoutMs: 280_000,
      });
      const used = /^sync tests on Blender (.*)$/m.exec(r.output)?.[1];
      t.diagnostic(`Blender ${used ?? '?'}: ${(r.ms / 1000).toFixed(1)} s`);
      for (const line of r.output.split('\n').filter((l) => / -> .*: \d+ ms$/.test(l))) t.diagnostic(line.trim());
      assert.equal(r.status, 0, `test_sync.py with ${blender.path} exited ${r.status}:\n${r.output}`);
      assert.ok(used?.startsWith(blender.version!), `the suite ran on Blender ${used}, not ${blender.version}`);
      assert.match(r.output, /^Ran 4 tests/m, r.output);
      assert.match(r.output, /^OK$/m, r.output);
    });
  }

  it('runs the TypeScript example of docs/gn-sync.md as written', { timeout: 60_000 }, async () => {
    const dir = tempDir('gn-example-');
    const state = join(dir, 'state');
    // The example imports 'blender-sidecar': this checkout, as an installed package.
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(root, join(dir, 'node_modules', 'blender-sidecar'));
    writeFileSync(join(dir, 'example.mts'), typescriptExample());
    const sidecar = startCli(['serve', '--state-dir', state, '--port', '0']);
    try {
      await waitForLine(sidecar, /^listening on/);
      const client = await SidecarClient.connect({ stateDir: state });
      const count = { object: 'Grid', modifier: 'GeometryNodes', input: 'Count' };
      await client.call('gn.set', { channel: 'default', key: count, type: 'int', value: 12, baseRevision: 0, clientName: 'blender:test' });
      const r = await run(process.execPath, ['--import', 'tsx', join(dir, 'example.mts')], {
        env: { ...process.env, BLENDER_SIDECAR_STATE_DIR: state },
        timeoutMs: 50_000,
      });
      assert.equal(r.status, 0, r.output);
      assert.equal(
        r.output.trim(),
        [
          'revision 2: Count = 13 (by script:example-ts)',
          'Count is 13 at revision 2',
          'conflict: script:example-ts set Count to 13 at revision 2',
          'kept theirs: Count is 13 at revision 2',
        ].join('\n'),
      );
      const snap = await client.call('gn.get', { channel: 'default' });
      assert.deepEqual(
        snap.entries.map((e) => [e.key.input, e.value, e.changedBy]),
        [['Count', 13, 'script:example-ts']],
      );
      await client.close();
    } finally {
      sidecar.kill('SIGTERM');
      await new Promise((r) => sidecar.once('exit', r));
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
