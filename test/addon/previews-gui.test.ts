// Render previews in Blender's interface under Xvfb (previews_gui_test.py): "Render in Background" with "Preview
// Movie" on, the job's thumbnail changing as frames land, then "Flipbook" showing the frames as an image sequence in
// an Image Editor that changes picture when the timeline moves. Screenshots: test/artifacts/previews-panel*.png
// (Blender 3.4), previews-panel-4.3*.png, previews-panel-5.2*.png; docs/img/render-previews*.png are copies of 3.4's.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { blendersUnderTest, root, run, suiteEnv } from './blenders.js';
import { answerHostRequest, colours, have } from './host-requests.js';

const script = join(root, 'test', 'addon', 'previews_gui_test.py');
const artifacts = join(root, 'test', 'artifacts');

const missing = ['xvfb-run', 'import', 'xdotool'].filter((c) => !have(c));

describe('render previews in the Blender interface (Xvfb)', () => {
  for (const blender of blendersUnderTest()) {
    const skip =
      (missing.length > 0 && `needs ${missing.join(', ')} (apt-get install xvfb xauth imagemagick xdotool)`) ||
      (blender.version === undefined && `${blender.name} is not available (${blender.path} does not start)`);
    const suffix = blender.main ? '' : `-${blender.name.slice('blender-'.length)}`;
    const out = join(artifacts, `previews-panel${suffix}.png`);
    const shots = [out, out.replace(/\.png$/, '-flipbook-a.png'), out.replace(/\.png$/, '-flipbook-b.png')];

    it(`shows the newest frame's thumbnail as frames land, and a flipbook of them, on ${blender.name}`, {
      skip,
      timeout: 200_000,
    }, async (t) => {
      for (const shot of shots) rmSync(shot, { force: true });
      rmSync(`${out}.request.failed`, { force: true });
      const r = await run(
        'xvfb-run',
        ['-a', '-s', '-screen 0 1280x800x24', blender.path, '--factory-startup', '--python', script, '--', '--out', out],
        { env: suiteEnv(blender), timeoutMs: 190_000, onTick: () => answerHostRequest(out) },
      );
      const report = existsSync(out.replace(/\.png$/, '.json')) ? JSON.parse(readFileSync(out.replace(/\.png$/, '.json'), 'utf8')) : {};
      t.diagnostic(
        `Blender ${report.blender ?? '?'}: ${(r.ms / 1000).toFixed(1)} s, thumbnails of frames ${report.thumbnails_seen}, screenshots ${out}`,
      );
      assert.equal(r.status, 0, `previews_gui_test.py exited ${r.status}:\n${r.output}`);
      assert.match(r.output, /GUI TEST PASSED/, r.output);
      assert.equal(report.ok, true, JSON.stringify(report));
      assert.ok(report.thumbnails_seen.length >= 2, `the thumbnail changed as frames landed: ${report.thumbnails_seen}`);
      assert.equal(report.flipbook.source, 'SEQUENCE');
      assert.equal(report.flipbook.frame_duration, 6);
      assert.equal(report.job.movie.frames, 6);
      for (const shot of shots) {
        assert.ok(existsSync(shot), `no screenshot at ${shot}`);
        assert.ok(colours(shot) >= 20, `the screenshot ${shot} looks blank`);
      }
      for (const [name, ms] of Object.entries(report.stalls_ms as Record<string, number>)) {
        if (name !== 'save copy') assert.ok(ms < 50, `${name} held the main thread for ${ms} ms`);
      }
    });
  }
});
