import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { InvalidInputError } from '../../sidecar/domain/errors.js';
import { planMovie, resolveMovieOutput } from '../../sidecar/domain/render/movie.js';
import { partialPreviewPath, placePreview, previewPath } from '../../sidecar/domain/render/preview.js';
import { tempDir } from '../helpers/sidecar.js';

describe('frame previews', () => {
  it('go in a hidden .previews folder beside the frames, as PNG named after the frame', () => {
    assert.equal(previewPath('/r/shot_0012.exr'), '/r/.previews/shot_0012.png');
    assert.equal(previewPath('/r/0001.png'), '/r/.previews/0001.png');
    assert.equal(partialPreviewPath('/r/0001.png', 'w2'), '/r/.previews/.0001.sidecar-w2.partial.png');
  });

  it('a preview that is missing or broken is a sentence on the frame, never an exception', async () => {
    const dir = tempDir('preview-unit-');
    const frame = join(dir, '0001.png');
    assert.deepEqual(await placePreview(frame, 'w1', undefined), { previewError: 'no preview: the worker wrote none' });
    assert.deepEqual(await placePreview(frame, 'w1', 'RuntimeError: boom'), { previewError: 'no preview: RuntimeError: boom' });
    mkdirSync(join(dir, '.previews'));
    writeFileSync(partialPreviewPath(frame, 'w1'), 'not a png');
    const broken = await placePreview(frame, 'w1', undefined);
    assert.match(broken.previewError!, /^no preview: .* is not an image format this check knows/);
  });
});

describe('the preview movie request', () => {
  const blend = '/projects/shot.blend';
  it("takes .mp4, .mov and .mkv, // meaning the blend file's folder", () => {
    assert.equal(resolveMovieOutput('//out/preview.mov', blend), '/projects/out/preview.mov');
    assert.equal(resolveMovieOutput('/tmp/a.MKV', blend), '/tmp/a.MKV');
  });

  for (const [output, message] of [
    ['/tmp/a.gif', /must end in \.mp4, \.mov, \.mkv/],
    ['/tmp/a_####.mp4', /leave out the # frame marks/],
    ['a.mp4', /absolute path/],
  ] as const) {
    it(`refuses ${output}, naming movie.output`, () => {
      assert.throws(
        () => resolveMovieOutput(output, blend),
        (e: unknown) => e instanceof InvalidInputError && /^movie\.output: /.test(e.message) && message.test(e.message),
      );
    });
  }

  it('knows the frame size as Blender computes it, and refuses odd sizes for 4:2:0 codecs', () => {
    const movie = { output: '/tmp/m.mp4', codec: 'h264' as const };
    assert.deepEqual(planMovie(movie, blend, [1920, 1080, 50], undefined, 25), {
      output: '/tmp/m.mp4',
      fps: 25,
      codec: 'h264',
      width: 960,
      height: 540,
    });
    assert.equal(planMovie({ ...movie, fps: 12 }, blend, [96, 72, 100], undefined, 24).fps, 12);
    assert.throws(() => planMovie(movie, blend, [300, 200, 100], 33, 24), /the frames are 99x66; h264 needs an even width and height/);
  });
});
