import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { InvalidInputError } from '../../sidecar/domain/errors.js';
import { formatFrames, MAX_FRAMES, parseFrames } from '../../sidecar/domain/render/frame-range.js';

/** The sentence a bad frame list is refused with (and checks it is the user's kind of error, on the right field). */
function refusal(spec: string, field = 'frames'): string {
  try {
    parseFrames(spec, field);
  } catch (err) {
    assert.ok(err instanceof InvalidInputError, `${spec}: ${err}`);
    assert.match(err.message, new RegExp(field));
    return err.message;
  }
  assert.fail(`"${spec}" was accepted`);
}

describe('parseFrames', () => {
  it('reads single frames, ranges and stepped ranges, sorted and without repeats', () => {
    assert.deepEqual(parseFrames('7'), [7]);
    assert.deepEqual(parseFrames('1-5'), [1, 2, 3, 4, 5]);
    assert.deepEqual(parseFrames('1-10,20,30-40x2'), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 20, 30, 32, 34, 36, 38, 40]);
    assert.deepEqual(parseFrames('5,1-3,2'), [1, 2, 3, 5]);
    assert.deepEqual(parseFrames(' 1 - 3 , 10 , 30 - 40 x 5 '), [1, 2, 3, 10, 30, 35, 40], 'spaces are allowed');
    assert.deepEqual(parseFrames('1-9x4'), [1, 5, 9]);
    assert.deepEqual(parseFrames('1-10x4'), [1, 5, 9], 'a step that overshoots the end stops before it');
  });

  it('leaves out frames after ^, wherever they are written', () => {
    assert.deepEqual(parseFrames('1-10,^5'), [1, 2, 3, 4, 6, 7, 8, 9, 10]);
    assert.deepEqual(parseFrames('^3-5,1-6'), [1, 2, 6]);
    assert.deepEqual(parseFrames('1-10,^2-10x2'), [1, 3, 5, 7, 9]);
  });

  it('takes negative frames and ranges that cross zero', () => {
    assert.deepEqual(parseFrames('-5--1'), [-5, -4, -3, -2, -1]);
    assert.deepEqual(parseFrames('-2-2'), [-2, -1, 0, 1, 2]);
    assert.deepEqual(parseFrames('-3'), [-3]);
    assert.deepEqual(parseFrames('-4--1,^-2'), [-4, -3, -1]);
    assert.deepEqual(parseFrames('-10--1x3'), [-10, -7, -4, -1], 'a stepped range of negative frames');
    assert.deepEqual(parseFrames('-5-5x5'), [-5, 0, 5], 'a stepped range across zero');
    assert.deepEqual(parseFrames('-6-6,^-6--1,^1-6'), [0], 'negative ranges left out');
  });

  it('reads every form at once: ranges, single frames, steps, exclusions and negative frames', () => {
    assert.deepEqual(parseFrames('1-10,20,30-40x2,^5,^30-34,-2'), [-2, 1, 2, 3, 4, 6, 7, 8, 9, 10, 20, 36, 38, 40]);
  });

  it('refuses what it cannot read, saying what to write instead', () => {
    assert.match(refusal(''), /is empty; write frames like "1-240"/);
    assert.match(refusal(' , '), /is empty/);
    assert.match(refusal('1-a'), /"1-a" is not a frame, a range \(1-240\) or a stepped range \(30-40x2\)/);
    assert.match(refusal('1..5'), /is not a frame/);
    assert.match(refusal('1-5x'), /is not a frame/);
    assert.match(refusal('10-1'), /"10-1" runs backwards; write 1-10/);
    assert.match(refusal('1-10x0'), /has a step of 0; use x1 or more/);
    assert.match(refusal('1-2000000'), /outside Blender's frame range \(-1048574 to 1048574\)/);
    assert.match(refusal('^1-5'), /"\^1-5" leaves no frames to render/);
    assert.match(refusal('1-5,^1-5'), /leaves no frames to render/);
    assert.match(refusal('-1048574-1048574'), new RegExp(`more than ${MAX_FRAMES} frames`));
    assert.match(refusal('1-x', 'settings.frames'), /^.*settings\.frames/);
  });

  it('gives back what formatFrames writes, for any list of frames', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: -2000, max: 2000 }), { minLength: 1, maxLength: 200 }), (list) => {
        const frames = [...list].sort((a, b) => a - b);
        assert.deepEqual(parseFrames(formatFrames(frames)), frames);
      }),
    );
  });
});

describe('formatFrames', () => {
  it('joins runs of consecutive frames into ranges', () => {
    assert.equal(formatFrames([1, 2, 3, 4, 5, 7, 9, 10]), '1-5,7,9-10');
    assert.equal(formatFrames([-3, -2, -1, 0]), '-3-0');
    assert.equal(formatFrames([]), '');
  });
});
