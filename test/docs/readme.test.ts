/**
 * The README's examples, run as a user would copy them: the TypeScript and Python snippets against a real sidecar found
 * through the default state folder ($XDG_STATE_HOME), and the shell lines through the built CLI, with `/abs/` standing
 * for a real folder holding real scenes. A README example that stops working fails here.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { makeScene } from '../helpers/blender.js';
import { CLI, startCli, waitForLine } from '../helpers/cli.js';
import { tempDir } from '../helpers/sidecar.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const readme = readFileSync(join(root, 'README.md'), 'utf8');

function block(lang: string, contains: string): string {
  const found = [...readme.matchAll(/```(\w+)\n([\s\S]*?)```/g)].find((m) => m[1] === lang && m[2]!.includes(contains));
  assert.ok(found, `the README has a ${lang} example with ${contains}`);
  return found[2]!;
}

describe('the README examples', () => {
  let xdg: string;
  let abs: string;
  let serve: ReturnType<typeof startCli>;
  const env = () => ({ ...process.env, XDG_STATE_HOME: xdg });
  before(async () => {
    const home = tempDir('readme-');
    xdg = join(home, 'state');
    abs = join(home, 'abs');
    mkdirSync(abs, { recursive: true });
    makeScene(abs, 'shot.blend', { frames: 24, size: '64x48', samples: 2 });
    makeScene(abs, 'props.blend', { collections: true });
    // `npx blender-sidecar serve`: the sidecar the examples find through $XDG_STATE_HOME/blender-sidecar/sidecar.json.
    serve = startCli(['serve'], { XDG_STATE_HOME: xdg });
    await waitForLine(serve, /^listening on ws:\/\/127\.0\.0\.1:\d+\/rpc$/);
    assert.ok(existsSync(join(xdg, 'blender-sidecar', 'sidecar.json')));
  });
  after(async () => {
    serve.kill('SIGTERM');
    await new Promise((r) => serve.once('exit', r));
  });

  it('runs the TypeScript example', () => {
    const code = block('ts', 'SidecarClient.connect()').replaceAll('/abs/', `${abs}/`);
    const file = join(root, 'test', 'docs', '.readme-example.mts');
    writeFileSync(file, code);
    try {
      const r = spawnSync(process.execPath, ['--import', 'tsx', file], { env: env(), encoding: 'utf8', timeout: 300_000 });
      assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
      assert.match(r.stdout, /completed \{.*rendered: 24/s);
      assert.ok(existsSync(join(abs, 'renders', '0024.png')));
    } finally {
      spawnSync('rm', ['-f', file]);
    }
  });

  it('runs the Python example', () => {
    const code = block('python', 'from blender_sidecar.wire import SidecarClient').replaceAll('/abs/', `${abs}/`);
    const r = spawnSync('python3', ['-c', code], { cwd: root, env: env(), encoding: 'utf8', timeout: 300_000 });
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    assert.equal(r.stdout.trim(), 'completed');
    assert.ok(existsSync(join(abs, 'crate.glb')));
  });

  it('runs the shell examples that use the running sidecar', () => {
    const cli = (args: string[]) =>
      spawnSync(process.execPath, [CLI, ...args], { cwd: abs, env: env(), encoding: 'utf8', timeout: 300_000 });
    const info = cli(['call', 'sidecar.info']);
    assert.equal(info.status, 0, info.stderr);
    assert.equal(JSON.parse(info.stdout).name, 'blender-sidecar');
    const submitted = cli([
      'call',
      'render.submit',
      JSON.stringify({ blendFile: join(abs, 'shot.blend'), frames: '1-4', output: `${abs}/cli-renders/` }),
    ]);
    assert.equal(submitted.status, 0, submitted.stderr);
    const waited = cli(['call', 'job.wait', JSON.stringify({ jobId: JSON.parse(submitted.stdout).jobId })]);
    assert.equal(JSON.parse(waited.stdout).state, 'completed');
    const render = cli(['render', 'shot.blend', '--frames', '1-24', '--output', 'renders2/']);
    assert.equal(render.status, 0, render.stderr);
    assert.match(render.stdout, /done: 24 frames rendered/);
    const movie = cli(['render', 'shot.blend', '--frames', '1-4', '--output', 'renders3/', '--movie', 'renders3/preview.mp4']);
    assert.equal(movie.status, 0, movie.stderr);
    assert.match(movie.stdout, /movie: .*renders3\/preview\.mp4 \(4 frames, \d+x\d+\)/);
    const exp = cli(['export', 'props.blend', '--format', 'glb', '--output', 'crate.glb', '--collection', 'Props']);
    assert.equal(exp.status, 0, exp.stderr);
    writeFileSync(join(abs, 'items.json'), JSON.stringify([{ collection: 'Rocks', format: 'glb', output: 'rocks.glb' }]));
    const batch = cli(['export', 'props.blend', '--batch', 'items.json']);
    assert.equal(batch.status, 0, batch.stderr);
    assert.ok(existsSync(join(abs, 'rocks.glb')));
    const gn = cli(['call', 'gn.set', block('sh', 'gn.set').match(/call gn\.set '(.*)'/)![1]!]);
    assert.equal(gn.status, 0, gn.stderr);
    assert.equal(JSON.parse(gn.stdout).revision, 1);
    const pipeline = cli(['pipeline', 'run', join(root, 'sidecar/pipelines/templates/game-asset.json'), '--input', 'props.blend']);
    // props.blend's collections pass the template's checks except where a check is set to fail: either way the run
    // must end with a report, and exit 0 only when every step passed.
    assert.ok(pipeline.status === 0 || pipeline.status === 1, pipeline.stderr);
    assert.match(pipeline.stdout + pipeline.stderr, /Validate|validate/);
  });
});
