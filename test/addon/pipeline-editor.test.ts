// The Sidecar Pipeline node editor (addon/blender_sidecar/pipeline) on every Blender of the matrix, against the real
// sidecar (dist/, from `npm run build`): its no-bpy modules on plain python3 (test_pipeline_form.py), the editor in
// background Blender (test_pipeline_editor.py: templates, import/export, Validate, Run Pipeline, the CLI on the same
// JSON), and in the interface under Xvfb (pipeline_gui_test.py), which saves a screenshot of the nodes after a run:
// test/artifacts/pipeline-editor.png (the machine's Blender), pipeline-editor-4.3.png, pipeline-editor-5.2.png.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { blendersUnderTest, root, run, suiteEnv } from './blenders.js';
import { answerHostRequest, colours, have } from './host-requests.js';

const suite = join(root, 'test', 'addon', 'test_pipeline_editor.py');
const plain = join(root, 'test', 'addon', 'test_pipeline_form.py');
const gui = join(root, 'test', 'addon', 'pipeline_gui_test.py');
const artifacts = join(root, 'test', 'artifacts');
const python = process.env.PYTHON ?? 'python3';
const missing = ['xvfb-run', 'import', 'xdotool'].filter((c) => !have(c));

describe('the pipeline editor', () => {
  it('keeps its no-bpy modules importable and correct on plain python3', async () => {
    const r = await run(python, [plain], { timeoutMs: 60_000 });
    assert.equal(r.status, 0, r.output);
    assert.match(r.output, /^OK$/m, r.output);
  });

  for (const blender of blendersUnderTest()) {
    const unavailable = blender.version === undefined && `${blender.name} is not available (${blender.path} does not start)`;

    it(`passes test_pipeline_editor.py on ${blender.name}`, { skip: unavailable, timeout: 300_000 }, async (t) => {
      const r = await run(blender.path, ['-b', '--factory-startup', '--python-exit-code', '1', '--python', suite], {
        env: suiteEnv(blender),
        timeoutMs: 280_000,
      });
      const used = /^pipeline editor tests on Blender (.*)$/m.exec(r.output)?.[1];
      t.diagnostic(`Blender ${used ?? '?'}: ${(r.ms / 1000).toFixed(1)} s`);
      for (const line of r.output.match(/^ {2}game-asset from the .*$/gm) ?? []) t.diagnostic(line.trim());
      assert.equal(r.status, 0, `test_pipeline_editor.py on ${blender.path} exited ${r.status}:\n${r.output}`);
      assert.ok(used?.startsWith(blender.version!), `the suite ran on Blender ${used}, not ${blender.version}`);
      assert.match(r.output, /^OK$/m, r.output);
    });

    const suffix = blender.main ? '' : `-${blender.name.slice('blender-'.length)}`;
    const out = join(artifacts, `pipeline-editor${suffix}.png`);
    const skip = unavailable || (missing.length > 0 && `needs ${missing.join(', ')} (apt-get install xvfb xauth imagemagick xdotool)`);

    it(`runs the game-asset template in the node editor on ${blender.name}, the nodes showing their states`, {
      skip,
      timeout: 150_000,
    }, async (t) => {
      rmSync(out, { force: true });
      rmSync(`${out}.request.failed`, { force: true });
      const r = await run(
        'xvfb-run',
        ['-a', '-s', '-screen 0 1280x800x24', blender.path, '--factory-startup', '--python', gui, '--', '--out', out],
        { env: suiteEnv(blender), timeoutMs: 140_000, onTick: () => answerHostRequest(out) },
      );
      const json = out.replace(/\.png$/, '.json');
      const report = existsSync(json) ? JSON.parse(readFileSync(json, 'utf8')) : {};
      t.diagnostic(
        `Blender ${report.blender ?? '?'}: ${(r.ms / 1000).toFixed(1)} s in all, ${report.seconds ?? '?'} s from start-up to the screenshot; ${out}`,
      );
      assert.equal(r.status, 0, `pipeline_gui_test.py exited ${r.status}:\n${r.output}`);
      assert.match(r.output, /PIPELINE GUI TEST PASSED/, r.output);
      assert.equal(report.ok, true, JSON.stringify(report));
      assert.equal(report.job?.kind, 'pipeline');
      assert.equal(report.nodes?.validate?.state, 'failed');
      assert.ok(existsSync(out), `no screenshot at ${out}`);
      assert.ok(colours(out) >= 20, `the screenshot ${out} looks blank`);
      for (const [name, count] of Object.entries(report.state_pixels as Record<string, number>)) {
        assert.ok(count >= 100, `the ${name} colour is on the screenshot only ${count} times`);
      }
      for (const [name, ms] of Object.entries(report.stalls_ms as Record<string, number>)) {
        assert.ok(ms < 50, `${name} held the main thread for ${ms} ms`);
      }
    });
  }
});
