// The add-on's Bake box on every Blender of the matrix, against the real sidecar (dist/): test_bake.py in background
// Blender (Bake in Background from the unsaved state; the maps come back as new images, then the same images reloaded
// and wired into the material), and bake_gui_test.py in the interface under Xvfb, which presses the button, waits for
// the maps to appear in the open file's images and saves a screenshot: test/artifacts/bake-panel.png (the machine's
// Blender), bake-panel-4.3.png, bake-panel-5.2.png.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { blendersUnderTest, root, run, suiteEnv } from './blenders.js';
import { answerHostRequest, colours, have } from './host-requests.js';

const suite = join(root, 'test', 'addon', 'test_bake.py');
const gui = join(root, 'test', 'addon', 'bake_gui_test.py');
const artifacts = join(root, 'test', 'artifacts');
const missing = ['xvfb-run', 'import', 'xdotool'].filter((c) => !have(c));

describe('the Bake box', () => {
  for (const blender of blendersUnderTest()) {
    const unavailable = blender.version === undefined && `${blender.name} is not available (${blender.path} does not start)`;

    it(`passes test_bake.py on ${blender.name}`, { skip: unavailable, timeout: 400_000 }, async (t) => {
      const r = await run(blender.path, ['-b', '--factory-startup', '--python-exit-code', '1', '--python', suite], {
        env: suiteEnv(blender),
        timeoutMs: 380_000,
      });
      const used = /^bake box tests on Blender (.*)$/m.exec(r.output)?.[1];
      t.diagnostic(`Blender ${used ?? '?'}: ${(r.ms / 1000).toFixed(1)} s`);
      assert.equal(r.status, 0, `test_bake.py on ${blender.path} exited ${r.status}:\n${r.output}`);
      assert.ok(used?.startsWith(blender.version!), `the suite ran on Blender ${used}, not ${blender.version}`);
      assert.match(r.output, /^OK$/m, r.output);
    });

    const suffix = blender.main ? '' : `-${blender.name.slice('blender-'.length)}`;
    const out = join(artifacts, `bake-panel${suffix}.png`);
    const skip = unavailable || (missing.length > 0 && `needs ${missing.join(', ')} (apt-get install xvfb xauth imagemagick xdotool)`);

    it(`bakes from the panel on ${blender.name}, the maps appearing in the open file's images`, { skip, timeout: 150_000 }, async (t) => {
      rmSync(out, { force: true });
      rmSync(`${out}.request.failed`, { force: true });
      const r = await run(
        'xvfb-run',
        ['-a', '-s', '-screen 0 1280x800x24', blender.path, '--factory-startup', '--python', gui, '--', '--out', out],
        {
          env: suiteEnv(blender),
          timeoutMs: 140_000,
          onTick: () => answerHostRequest(out),
        },
      );
      const report = existsSync(out.replace(/\.png$/, '.json')) ? JSON.parse(readFileSync(out.replace(/\.png$/, '.json'), 'utf8')) : {};
      t.diagnostic(`Blender ${report.blender ?? '?'}: ${(r.ms / 1000).toFixed(1)} s, screenshot ${out}`);
      assert.equal(r.status, 0, `bake_gui_test.py exited ${r.status}:\n${r.output}`);
      assert.match(r.output, /GUI TEST PASSED/, r.output);
      assert.equal(report.ok, true, JSON.stringify(report));
      assert.deepEqual(report.images, ['Cube_ao', 'Cube_diffuse', 'Cube_normal']);
      assert.ok(existsSync(out), `no screenshot at ${out}`);
      assert.ok(colours(out) >= 20, `the screenshot ${out} looks blank`);
    });
  }
});
