import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { RpcCallError } from '../../sidecar/client/errors.js';
import type { SidecarClient } from '../../sidecar/client/sidecar-client.js';
import { makeScene } from '../helpers/blender.js';
import { contrast, meanColour, pixels } from '../helpers/images.js';
import { readMovie } from '../helpers/movie.js';
import { tempDir, testSidecar, type TestSidecar } from '../helpers/sidecar.js';

/** The largest difference between two mean colours, channel by channel (0-255). */
function colourDistance(a: number[], b: number[]): number {
  return Math.max(...a.map((v, i) => Math.abs(v - b[i]!)));
}

describe('frame previews and the preview movie, on real Blender', () => {
  let sidecar: TestSidecar;
  let client: SidecarClient;
  let dir: string;
  let scene: string;
  before(async () => {
    dir = tempDir('previews-');
    // Wider than a preview, so previews are scaled; an even size, as H.264 needs.
    scene = makeScene(dir, 'scene.blend', { frames: 4, size: '300x200' });
    sidecar = await testSidecar({ instances: 2 });
    client = await sidecar.client();
  });
  after(() => sidecar.stop());

  it('writes a preview of every frame that shows that frame, announces each as it lands, and makes a movie of every frame', async () => {
    const out = join(dir, 'png');
    const lasts: Array<{ key: number; output?: string; preview?: string }> = [];
    await client.subscribe(['job.progress']);
    let id = '';
    client.on('job.progress', (p) => p.jobId === id && p.last && lasts.push(p.last));
    const movie = join(dir, 'movies', 'preview.mp4');
    const { jobId } = await client.call('render.submit', {
      blendFile: scene,
      frames: '1-4',
      output: `${out}/`,
      movie: { output: movie, fps: 12 },
    });
    id = jobId;
    const job = await client.call('job.wait', { jobId, timeoutMs: 180_000 }, { timeoutMs: 190_000 });
    assert.equal(job.state, 'completed', job.error);

    // The frames folder lists frames only; previews are in its hidden .previews folder, one per frame.
    assert.deepEqual(
      readdirSync(out)
        .filter((n) => !n.startsWith('.'))
        .sort(),
      ['0001.png', '0002.png', '0003.png', '0004.png'],
    );
    assert.deepEqual(readdirSync(join(out, '.previews')).sort(), ['0001.png', '0002.png', '0003.png', '0004.png']);
    assert.deepEqual(
      job.previews,
      [1, 2, 3, 4].map((f) => ({ frame: f, path: join(out, '.previews', `000${f}.png`) })),
    );
    const means: number[][] = [];
    for (const { frame, path } of job.previews!) {
      const full = pixels(join(out, `000${frame}.png`));
      const small = pixels(path);
      assert.equal(Math.max(small.width, small.height), 256, `preview of frame ${frame} is 256 px on its long side`);
      assert.ok(
        Math.abs(small.width / small.height - full.width / full.height) < 0.02,
        `preview of frame ${frame} keeps the frame's shape`,
      );
      const d = colourDistance(meanColour(path), meanColour(join(out, `000${frame}.png`)));
      assert.ok(d < 4, `preview of frame ${frame} has the frame's colours (mean differs by ${d.toFixed(1)})`);
      means.push(meanColour(path));
    }
    // The previews are of different frames (the cube turns): a preview of the wrong frame would show.
    assert.ok(colourDistance(means[0]!, means[3]!) > 0.5, 'the first and last previews differ');

    // job.progress named each frame as it landed, with its preview.
    const frames = lasts.filter((l) => l.key <= 4);
    assert.deepEqual([...new Set(frames.map((l) => l.key))].sort(), [1, 2, 3, 4]);
    for (const l of frames) assert.equal(l.preview, join(out, '.previews', `000${l.key}.png`));

    // The movie: every frame, at the frames' size, read back by Blender; listed in the job's result.
    assert.deepEqual(readMovie(movie), { frames: 4, width: 300, height: 200 });
    const result = job.result as { movie?: { path: string; frames: number; width: number; height: number; fps: number } };
    assert.equal(result.movie?.path, movie);
    assert.equal(result.movie?.frames, 4);
    assert.equal(result.movie?.fps, 12);
    assert.deepEqual(readdirSync(join(dir, 'movies')), ['preview.mp4'], 'no partial movie left behind');
  });

  it("previews an OpenEXR frame through the scene's view transform: like the PNG of the same frame, not black or washed out", async () => {
    const exr = join(dir, 'exr');
    const png = join(dir, 'png-ref');
    for (const [output, format] of [
      [exr, 'exr'],
      [png, 'png'],
    ] as const) {
      const { jobId } = await client.call('render.submit', { blendFile: scene, frames: '2', output: `${output}/`, format });
      const job = await client.call('job.wait', { jobId, timeoutMs: 120_000 }, { timeoutMs: 130_000 });
      assert.equal(job.state, 'completed', job.error);
    }
    const exrPreview = join(exr, '.previews', '0002.png');
    const pngPreview = join(png, '.previews', '0002.png');
    assert.ok(existsSync(exrPreview), 'the EXR frame has a preview');
    const mean = meanColour(exrPreview);
    const luminance = (mean[0] + mean[1] + mean[2]) / 3;
    assert.ok(luminance > 15 && luminance < 240, `not black, not white (mean ${luminance.toFixed(1)})`);
    assert.ok(
      contrast(exrPreview) > 0.5 * contrast(pngPreview),
      `not washed out (contrast ${contrast(exrPreview).toFixed(1)} vs ${contrast(pngPreview).toFixed(1)})`,
    );
    const d = colourDistance(mean, meanColour(pngPreview));
    assert.ok(d < 6, `the EXR frame previews as its PNG render looks (mean differs by ${d.toFixed(1)})`);
  });

  it('writes no previews when asked not to', async () => {
    const out = join(dir, 'no-previews');
    const { jobId } = await client.call('render.submit', { blendFile: scene, frames: '1', output: `${out}/`, previews: false });
    const job = await client.call('job.wait', { jobId, timeoutMs: 60_000 }, { timeoutMs: 70_000 });
    assert.equal(job.state, 'completed', job.error);
    assert.deepEqual(readdirSync(out), ['0001.png']);
    assert.deepEqual(job.previews, []);
  });

  it('refuses a movie it could not make, naming the field', async () => {
    const bad: Array<[Record<string, unknown>, string, RegExp]> = [
      [{ output: join(dir, 'm.gif') }, 'movie.output', /\.mp4, \.mov, \.mkv/],
      [{ output: 'relative.mp4' }, 'movie.output', /absolute/],
      [{ output: join(dir, 'm.mp4'), codec: 'prores' }, 'movie.codec', /h264|mpeg4/],
      [{ output: join(dir, 'm.mp4'), fps: 0 }, 'movie.fps', /./],
    ];
    for (const [movie, field, message] of bad) {
      const err = await client.call('render.submit', { blendFile: scene, output: `${join(dir, 'x')}/`, movie } as never).then(
        () => assert.fail(`accepted ${JSON.stringify(movie)}`),
        (e: unknown) => e as RpcCallError,
      );
      assert.ok(err instanceof RpcCallError);
      const hit = (err.data as { errors: Array<{ field: string; message: string }> }).errors.find((f) => f.field === field);
      assert.ok(hit, `names ${field}: ${JSON.stringify(err.data)}`);
      assert.match(hit.message, message);
    }
  });

  it('fails a movie job whose frames have an odd size before rendering anything, saying what to change', async () => {
    const out = join(dir, 'odd');
    const { jobId } = await client.call('render.submit', {
      blendFile: scene,
      frames: '1',
      output: `${out}/`,
      resolutionPercent: 33,
      movie: { output: join(dir, 'odd.mp4') },
    });
    const job = await client.call('job.wait', { jobId, timeoutMs: 60_000 }, { timeoutMs: 70_000 });
    assert.equal(job.state, 'failed');
    assert.match(job.error!, /99x66; h264 needs an even width and height/);
    assert.equal(existsSync(out), false, 'no frame was rendered');
  });
});
