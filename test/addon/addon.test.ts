// The Blender add-on (addon/blender_sidecar) inside real Blender against the real sidecar (dist/, from
// `npm run build`): test_addon.py on every Blender of the matrix (3.4 as a legacy add-on, 4.3 and 5.2 as an
// extension), the no-bpy modules on plain python3 (test_plain.py), and the extension manifest on 4.2+.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { blendersUnderTest, root, run, suiteEnv } from './blenders.js';

const suite = join(root, 'test', 'addon', 'test_addon.py');
const plain = join(root, 'test', 'addon', 'test_plain.py');
const bundle = join(root, 'dist', 'blender-sidecar.mjs');
const python = process.env.PYTHON ?? 'python3';

/** Blender 4.2 and later load extensions (blender_manifest.toml); older ones only legacy add-ons (bl_info). */
function hasExtensions(version: string): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return major > 4 || (major === 4 && minor >= 2);
}

describe('the Blender add-on', () => {
  it('finds the built sidecar bundle', () => {
    assert.ok(existsSync(bundle), `${bundle} is missing: run npm run build first`);
  });

  it('keeps its no-bpy modules importable and correct on plain python3', async () => {
    const r = await run(python, [plain], { timeoutMs: 60_000 });
    assert.equal(r.status, 0, r.output);
    assert.match(r.output, /^OK/m, r.output);
  });

  for (const blender of blendersUnderTest()) {
    const skip = blender.version === undefined && `${blender.name} is not available (${blender.path} does not start)`;

    it(`passes test_addon.py on ${blender.name}`, { skip, timeout: 300_000 }, async (t) => {
      const r = await run(blender.path, ['-b', '--factory-startup', '--python-exit-code', '1', '--python', suite], {
        env: suiteEnv(blender),
        timeoutMs: 280_000,
      });
      const used = /^addon tests on Blender (.*)$/m.exec(r.output)?.[1];
      t.diagnostic(`Blender ${used ?? '?'}: ${(r.ms / 1000).toFixed(1)} s`);
      assert.equal(r.status, 0, `test_addon.py on ${blender.path} exited ${r.status}:\n${r.output}`);
      assert.ok(used?.startsWith(blender.version!), `the suite ran on Blender ${used}, not ${blender.version}`);
      assert.match(r.output, /^OK$/m, r.output);
      assert.match(r.output, hasExtensions(blender.version!) ? /\(extension add-on\)/ : /\(legacy add-on\)/);
    });

    if (blender.version === undefined || hasExtensions(blender.version)) {
      it(`has a manifest ${blender.name} accepts`, { skip, timeout: 60_000 }, async () => {
        const r = await run(blender.path, ['--command', 'extension', 'validate', join(root, 'addon', 'blender_sidecar')], {
          env: suiteEnv(blender),
          timeoutMs: 50_000,
        });
        assert.equal(r.status, 0, r.output);
        assert.match(r.output, /Success parsing TOML/, r.output);
      });
    }
  }
});
