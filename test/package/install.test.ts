/**
 * Issue 8's install test, as a studio would do it: the packaged zip (npm run package) installed into a fresh, empty
 * Blender user config with Blender's own commands (addon_install on 3.x, `extension install-file` on 4.2+), enabled,
 * its bundled sidecar started, an export job run, the add-on disabled and removed, nothing left running. On every
 * Blender of the matrix that is set up here, printing each one's version; and `extension validate` on 4.2+.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { blendersUnderTest, root } from '../addon/blenders.js';
import { tempDir } from '../helpers/sidecar.js';

const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version as string;
const zip = join(root, 'dist', `blender_sidecar-${version}.zip`);

describe('the studio package installs and works on each Blender', () => {
  before(() => {
    const r = spawnSync(process.execPath, [join(root, 'build', 'package.mjs')], { cwd: root, encoding: 'utf8' });
    assert.equal(r.status, 0, `npm run package failed:\n${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /platforms with a self-contained sidecar: linux-x64/);
    assert.ok(existsSync(zip));
  });

  for (const blender of blendersUnderTest()) {
    it(`${blender.name}: installs with Blender's own commands, starts its sidecar, exports, and uninstalls cleanly`, (t) => {
      if (!blender.version) {
        t.skip(`${blender.path} is not set up here (.ci/blender-roots.sh makes it)`);
        return;
      }
      const home = tempDir(`install-${blender.name}-`);
      const env = {
        ...process.env,
        BLENDER_USER_CONFIG: join(home, 'config'),
        BLENDER_USER_SCRIPTS: join(home, 'scripts'),
        BLENDER_USER_EXTENSIONS: join(home, 'extensions'),
        BLENDER_USER_DATAFILES: join(home, 'datafiles'),
        // No Node preference is set: the add-on must pick its bundled executable (the test checks the command line).
      };
      for (const d of ['config', 'scripts', 'extensions', 'datafiles']) mkdirSync(join(home, d), { recursive: true });
      const modern = Number(blender.version.split('.')[0]) >= 4;
      if (modern) {
        const valid = spawnSync(blender.path, ['--command', 'extension', 'validate', zip], { encoding: 'utf8', env });
        assert.equal(valid.status, 0, `extension validate: ${valid.stdout}${valid.stderr}`);
        const install = spawnSync(blender.path, ['--command', 'extension', 'install-file', '-r', 'user_default', '-e', zip], {
          encoding: 'utf8',
          env,
        });
        assert.equal(install.status, 0, `extension install-file: ${install.stdout}${install.stderr}`);
      }
      const script = join(root, 'test', 'package', 'install_test.py');
      const run = spawnSync(
        blender.path,
        ['-b', '--python-exit-code', '1', '--python', script, '--', zip, modern ? 'extension' : 'legacy', home],
        {
          encoding: 'utf8',
          env,
          timeout: 300_000,
        },
      );
      const line = (run.stdout ?? '').split('\n').find((l) => l.startsWith('INSTALL-'));
      assert.ok(
        line?.startsWith('INSTALL-OK'),
        `${blender.name} ${blender.version}: ${line ?? 'no result'}\n${(run.stdout ?? '').slice(-3000)}\n${(run.stderr ?? '').slice(-2000)}`,
      );
      const report = JSON.parse(line!.slice('INSTALL-OK '.length));
      t.diagnostic(`Blender ${report.blender}: installed as ${report.mode} into ${report.installed}; sidecar: ${report.sidecar}`);
      assert.ok(report.installed.startsWith(home), 'installed into the fresh user folders');
    });
  }
});
