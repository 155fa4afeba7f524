import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { blendVersionNumber, formatBlendVersion, readBlendHeader } from '../../sidecar/domain/blender/blend-header.js';
import { corpusDir, corpusVersions } from '../helpers/corpus.js';
import { tempDir } from '../helpers/sidecar.js';

describe('reading the Blender version from a .blend header', () => {
  const corpus = corpusDir();
  const expected = corpusVersions();

  it('knows the version of every corpus file, as its README lists it', () => {
    const files = readdirSync(corpus).filter((f) => f.endsWith('.blend'));
    assert.equal(files.length, 28);
    for (const file of files) {
      const h = readBlendHeader(join(corpus, file));
      assert.equal(h.isBlend, true, file);
      assert.equal(h.problem, undefined, file);
      const listed = expected.get(file);
      // The README says "zstd-compressed (look inside)" for some: the version is only inside the stream.
      if (listed === 'zstd') assert.equal(h.compression, 'zstd', file);
      else assert.equal(h.version, listed, file);
    }
  });

  it('reads the version inside zstd-compressed files without decompressing the whole file', () => {
    const h = readBlendHeader(join(corpus, '00_extras.blend'));
    assert.deepEqual([h.compression, h.version, h.headerFormat], ['zstd', '5.2', 'large']);
  });

  it("reads Blender 5's large header and the old one", () => {
    const large = readBlendHeader(join(corpus, '28_sk_no_reset.blend'));
    assert.deepEqual(
      [large.version, large.versionNumber, large.headerFormat, large.pointerSize, large.endian],
      ['5.3', 503, 'large', 8, 'little'],
    );
    const legacy = readBlendHeader(join(corpus, '01_alpha_blend.blend'));
    assert.deepEqual([legacy.version, legacy.versionNumber, legacy.headerFormat, legacy.compression], ['2.78', 278, 'legacy', 'none']);
  });

  it('reads a gzip-compressed file (as Blender 2.x wrote them)', () => {
    const dir = tempDir('blend-header-');
    const path = join(dir, 'old.blend');
    writeFileSync(path, gzipSync(readFileSync(join(corpus, '01_cs_morph.blend'))));
    const h = readBlendHeader(path);
    assert.deepEqual([h.compression, h.version, h.isBlend], ['gzip', '2.79', true]);
  });

  it('says "truncated" for files that end inside their header, plain or compressed', () => {
    const dir = tempDir('blend-header-');
    const cases: Array<[string, Buffer, RegExp]> = [
      ['short.blend', readFileSync(join(corpus, 'B.blend')).subarray(0, 9), /truncated: the file ends inside its 9-byte header/],
      [
        'short5.blend',
        readFileSync(join(corpus, '28_sk_no_reset.blend')).subarray(0, 14),
        /truncated: the file ends inside its 17-byte header/,
      ],
      ['zstd-cut.blend', readFileSync(join(corpus, '00_extras.blend')).subarray(0, 6), /truncated|damaged zstd/],
      ['gzip-cut.blend', gzipSync(readFileSync(join(corpus, 'B.blend'))).subarray(0, 12), /truncated|damaged gzip|gzip-compressed file/],
    ];
    for (const [name, bytes, problem] of cases) {
      const path = join(dir, name);
      writeFileSync(path, bytes);
      const h = readBlendHeader(path);
      assert.match(h.problem ?? '', problem, name);
      assert.equal(h.version, undefined, name);
    }
  });

  it('says "not a .blend file" for garbage, an empty file and a PNG renamed .blend', () => {
    const dir = tempDir('blend-header-');
    const cases: Array<[string, Buffer, RegExp]> = [
      [
        'garbage.blend',
        Buffer.from('hello, this is text and not a blend file at all'),
        /not a \.blend file \(it starts with "hello, this "\)/,
      ],
      ['empty.blend', Buffer.alloc(0), /the file is empty/],
      ['image.blend', readFileSync(join(corpus, 'White.png')), /not a \.blend file \(it starts with bytes 89 50 4e 47/],
      ['gz-text.blend', gzipSync(Buffer.from('just text inside gzip')), /a gzip-compressed file that is not a \.blend file/],
    ];
    for (const [name, bytes, problem] of cases) {
      const path = join(dir, name);
      writeFileSync(path, bytes);
      const h = readBlendHeader(path);
      assert.equal(h.isBlend, false, name);
      assert.match(h.problem ?? '', problem, name);
    }
  });

  it('throws for a file that is not there (the caller says "does not exist")', () => {
    assert.throws(() => readBlendHeader('/nonexistent/x.blend'), /ENOENT/);
  });

  it('writes versions the way Blender does, and compares them as numbers', () => {
    assert.deepEqual([278, 280, 304, 400, 503].map(formatBlendVersion), ['2.78', '2.80', '3.4', '4.0', '5.3']);
    assert.deepEqual(['3.4.1', '4.3', '2.79b', 'x'].map(blendVersionNumber), [304, 403, 279, undefined]);
  });
});
