// The add-on in Blender's interface under Xvfb, with a real event loop (gui_test.py): Start Automatically connects,
// the sidebar's Sidecar tab opens, Export in Background is pressed, the job finishes, and a screenshot of the display
// is saved: test/artifacts/addon-panel.png (Blender 3.4), addon-panel-4.3.png, addon-panel-5.2.png, each with a
// -lower.png twin (the sidebar scrolled down to Jobs, Workers and Alerts).
//
// A Blender in a chroot has neither xdotool nor ImageMagick: gui_test.py then writes PNG.request (the command, its
// DISPLAY and XAUTHORITY) and this file runs it outside.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { blendersUnderTest, root, run, suiteEnv } from './blenders.js';
import { answerHostRequest, colours, have } from './host-requests.js';

const script = join(root, 'test', 'addon', 'gui_test.py');
const artifacts = join(root, 'test', 'artifacts');

const missing = ['xvfb-run', 'import', 'xdotool'].filter((c) => !have(c));

describe('the add-on in the Blender interface (Xvfb)', () => {
  for (const blender of blendersUnderTest()) {
    const skip =
      (missing.length > 0 && `needs ${missing.join(', ')} (apt-get install xvfb xauth imagemagick xdotool)`) ||
      (blender.version === undefined && `${blender.name} is not available (${blender.path} does not start)`);
    const suffix = blender.main ? '' : `-${blender.name.slice('blender-'.length)}`;
    const out = join(artifacts, `addon-panel${suffix}.png`);

    it(`exports in the background from the Sidecar tab on ${blender.name}, and shows it`, { skip, timeout: 150_000 }, async (t) => {
      rmSync(out, { force: true });
      rmSync(`${out}.request.failed`, { force: true });
      const r = await run(
        'xvfb-run',
        ['-a', '-s', '-screen 0 1280x800x24', blender.path, '--factory-startup', '--python', script, '--', '--out', out],
        { env: suiteEnv(blender), timeoutMs: 140_000, onTick: () => answerHostRequest(out) },
      );
      const report = existsSync(out.replace(/\.png$/, '.json')) ? JSON.parse(readFileSync(out.replace(/\.png$/, '.json'), 'utf8')) : {};
      t.diagnostic(`Blender ${report.blender ?? '?'}: ${(r.ms / 1000).toFixed(1)} s, screenshot ${out}`);
      assert.equal(r.status, 0, `gui_test.py exited ${r.status}:\n${r.output}`);
      assert.match(r.output, /GUI TEST PASSED/, r.output);
      assert.equal(report.ok, true, JSON.stringify(report));
      assert.equal(report.job?.state, 'completed');
      for (const shot of [out, out.replace(/\.png$/, '-lower.png')]) {
        assert.ok(existsSync(shot), `no screenshot at ${shot}`);
        assert.ok(colours(shot) >= 20, `the screenshot ${shot} looks blank`);
      }
      for (const [name, ms] of Object.entries(report.stalls_ms as Record<string, number>)) {
        if (name !== 'save copy') assert.ok(ms < 50, `${name} held the main thread for ${ms} ms`);
      }
    });
  }
});
