import assert from 'node:assert/strict';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { makeScene } from '../helpers/blender.js';
import { runCli } from '../helpers/cli.js';
import { readMovie } from '../helpers/movie.js';
import { tempDir } from '../helpers/sidecar.js';

/** The CLI's render, export and demo commands as a user runs them, each starting its own sidecar for the call. */
describe('blender-sidecar render, export and demo', () => {
  let dir: string;
  let scene: string;
  let props: string;
  const env = () => ({ XDG_STATE_HOME: join(dir, 'state') });
  before(() => {
    dir = tempDir('cli-jobs-');
    scene = makeScene(dir, 'scene.blend', { frames: 3 });
    props = makeScene(dir, 'props.blend', { collections: true });
  });

  it('renders with a sidecar started for the call, reporting progress and the result as JSON lines', () => {
    const r = runCli(['render', scene, '--frames', '1-3', '--output', `${join(dir, 'out')}/`, '--instances', '2', '--json'], env());
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.ok(lines.some((l) => l.event === 'job.progress' && l.done === 3));
    const result = lines.find((l) => l.event === 'result');
    assert.equal(result.job.state, 'completed');
    assert.deepEqual(
      readdirSync(join(dir, 'out'))
        .filter((n) => n !== '.previews')
        .sort(),
      ['0001.png', '0002.png', '0003.png'],
    );
    assert.ok(!existsSync(join(dir, 'state', 'blender-sidecar', 'sidecar.json')), 'the embedded sidecar is gone afterwards');
  });

  it("renders with --movie: --json events carry previews, the result lists every frame's, and the movie has every frame", () => {
    const movie = join(dir, 'movie', 'preview.mp4');
    const r = runCli(
      ['render', scene, '--frames', '1-3', '--output', `${join(dir, 'movie-frames')}/`, '--movie', movie, '--movie-fps', '8', '--json'],
      env(),
    );
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    // A progress event names the frame that finished last, with its preview. Frames that finish in the same instant
    // (two workers, tiny frames) share one event, so not every frame is named; the result lists every preview.
    const previews = new Map<number, string>();
    for (const l of lines) if (l.event === 'job.progress' && l.last?.preview) previews.set(l.last.key, l.last.preview);
    assert.ok(previews.size >= 1, 'progress events carry previews');
    for (const [frame, path] of previews) {
      assert.equal(path, join(dir, 'movie-frames', '.previews', `000${frame}.png`));
      assert.ok(existsSync(path), `${path} exists`);
    }
    const result = lines.find((l) => l.event === 'result');
    assert.equal(result.job.state, 'completed', result.job.error);
    assert.deepEqual(
      result.job.previews,
      [1, 2, 3].map((f) => ({ frame: f, path: join(dir, 'movie-frames', '.previews', `000${f}.png`) })),
    );
    for (const { path } of result.job.previews) assert.ok(existsSync(path), `${path} exists`);
    assert.deepEqual(result.job.result.movie.frames, 3);
    assert.deepEqual(readMovie(movie), { frames: 3, width: 96, height: 72 });
  });

  it('says what is wrong with --movie before rendering', () => {
    const r = runCli(['render', scene, '--output', `${join(dir, 'bad-movie')}/`, '--movie', join(dir, 'preview.gif')], env());
    assert.equal(r.status, 1);
    assert.match(r.stderr, /movie\.output: .*preview\.gif" must end in \.mp4, \.mov, \.mkv/);
    assert.equal(existsSync(join(dir, 'bad-movie')), false);
  });

  it('exits 1 with the reason when the render fails', () => {
    const r = runCli(['render', scene, '--scene', 'Nope', '--output', `${join(dir, 'nope')}/`], env());
    assert.equal(r.status, 1);
    assert.match(r.stderr, /error: the render failed: scene: the file has no scene named "Nope"; its scenes: Scene/);
  });

  it('exits 2 naming the flag for usage mistakes', () => {
    const r = runCli(['render', scene, '--frames', '1-3'], env());
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--output is required/);
    const bad = runCli(['export', props, '--batch', join(dir, 'missing.json')], env());
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /cannot read --batch .*missing\.json: no such file/);
    writeFileSync(join(dir, 'bad.json'), '{"items": 3}');
    const shape = runCli(['export', props, '--batch', join(dir, 'bad.json')], env());
    assert.equal(shape.status, 2);
    assert.match(shape.stderr, /must hold a non-empty list of items/);
  });

  it('exports a batch file, outputs relative to it, listing each output with what it holds', () => {
    writeFileSync(
      join(dir, 'items.json'),
      JSON.stringify([
        { collection: 'Props', format: 'glb', output: 'batch/props.glb' },
        { collection: 'Rocks', format: 'obj', output: 'batch/' },
      ]),
    );
    const r = runCli(['export', props, '--batch', join(dir, 'items.json')], env());
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /batch\/props\.glb\s+\d+ KB\s+\(1 meshes, 80 triangles, 1 materials\)/);
    assert.ok(existsSync(join(dir, 'batch', 'Rocks.obj')));
  });

  it('tells the user what to do when the demo finds no Blender', () => {
    const r = runCli(['demo', '--blender', '/nonexistent/blender', '--out', join(dir, 'demo')], env());
    assert.equal(r.status, 1);
    assert.match(r.stderr, /The demo needs Blender, and none was found\./);
    assert.match(r.stderr, /sudo apt-get install blender python3-numpy/);
  });
});
