import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { crc32, deflateSync } from 'node:zlib';
import { locateBlender } from '../../sidecar/domain/blender/locate.js';
import { checkImage, imageExtension, type ImageCheck } from '../../sidecar/domain/verify/image.js';

// ---------------------------------------------------------------------------------------------------------------
// PNGs built by hand, so that each can be broken in exactly one way. zlib.crc32 is Node's, not the one under test.

function chunk(type: string, data: Buffer): Buffer {
  const typed = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typed));
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  return Buffer.concat([length, typed, crc]);
}

function ihdr(width: number, height: number, bitDepth: number, colourType: number, interlace = 0): Buffer {
  const data = Buffer.alloc(13);
  data.writeUInt32BE(width, 0);
  data.writeUInt32BE(height, 4);
  data.set([bitDepth, colourType, 0, 0, interlace], 8);
  return chunk('IHDR', data);
}

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const IEND = chunk('IEND', Buffer.alloc(0));

/** A PNG whose IDAT holds `rows` filtered scanlines (filter byte 0, then `rowBytes` of grey). */
function png(header: Buffer, rows: number[]): Buffer {
  const raw = Buffer.concat(rows.map((rowBytes) => Buffer.concat([Buffer.from([0]), Buffer.alloc(rowBytes, 0x80)])));
  return Buffer.concat([SIGNATURE, header, chunk('IDAT', deflateSync(raw)), IEND]);
}

/** An 8-bit RGB image, 5x3: three rows of 15 bytes. */
const rgb5x3 = () => png(ihdr(5, 3, 8, 2), [15, 15, 15]);

async function expectFailure(path: string, ...fragments: RegExp[]): Promise<string> {
  const result = await checkImage(path);
  assert.equal(result.ok, false, `expected ${path} to fail, got ${JSON.stringify(result)}`);
  const { reason } = result as Extract<ImageCheck, { ok: false }>;
  for (const fragment of fragments) assert.match(reason, fragment);
  assert.ok(reason.endsWith('.') && !reason.includes('. '), `one sentence: ${reason}`);
  return reason;
}

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'verify-image-'));
});
after(() => rm(dir, { recursive: true, force: true }));

describe('checkImage on PNG', () => {
  it('accepts a complete PNG and reports its size, format and byte count', async () => {
    const bytes = rgb5x3();
    await writeFile(join(dir, 'good.png'), bytes);
    const result = await checkImage(join(dir, 'good.png'));
    assert.deepEqual(result, { ok: true, format: 'PNG', width: 5, height: 3, bytes: bytes.length });
  });

  it('accepts an Adam7-interlaced 16-bit RGBA PNG, whose image data is split into passes', async () => {
    // A 3x3 image interlaces into passes of 1x1, 1x1, 2x1, 1x2 and 3x1 pixels (passes 2 and 3 are empty);
    // each pass row is a filter byte plus 8 bytes per 16-bit RGBA pixel.
    const passes = [
      [1, 1],
      [1, 1],
      [2, 1],
      [1, 2],
      [3, 1],
    ];
    const rows = passes.flatMap(([w, h]) => Array<number>(h!).fill(w! * 8));
    const bytes = png(ihdr(3, 3, 16, 6, 1), rows);
    await writeFile(join(dir, 'interlaced.png'), bytes);
    const result = await checkImage(join(dir, 'interlaced.png'));
    assert.deepEqual(result, { ok: true, format: 'PNG', width: 3, height: 3, bytes: bytes.length });
  });

  it('rejects a PNG cut before its IEND chunk', async () => {
    const bytes = rgb5x3();
    await writeFile(join(dir, 'frame_0003.png'), bytes.subarray(0, bytes.length - IEND.length));
    const reason = await expectFailure(join(dir, 'frame_0003.png'));
    assert.equal(reason, 'frame_0003.png is truncated: the PNG has no IEND chunk.');
  });

  it('rejects a PNG cut in the middle of its image data', async () => {
    const bytes = rgb5x3();
    await writeFile(join(dir, 'cut.png'), bytes.subarray(0, bytes.length - IEND.length - 10));
    await expectFailure(join(dir, 'cut.png'), /^cut\.png is truncated/, /IDAT/);
  });

  it('rejects a PNG with one bit flipped in a chunk CRC', async () => {
    const bytes = rgb5x3();
    const crcAt = 8 + 8 + 13; // after the signature, IHDR's length and type, and its 13 bytes of data
    bytes.writeUInt8(bytes.readUInt8(crcAt) ^ 0x01, crcAt);
    await writeFile(join(dir, 'crc.png'), bytes);
    await expectFailure(join(dir, 'crc.png'), /^crc\.png /, /IHDR chunk/, /CRC/);
  });

  it('rejects a PNG whose chunks are intact but whose image data holds too few rows', async () => {
    // What a writer leaves if it closed the file properly after writing only part of the frame.
    await writeFile(join(dir, 'short.png'), png(ihdr(5, 3, 8, 2), [15, 15]));
    await expectFailure(join(dir, 'short.png'), /^short\.png /, /inflates to 32 bytes, not the 48/);
  });

  it('rejects a PNG whose zlib stream stops early inside a well-formed IDAT chunk', async () => {
    const compressed = deflateSync(Buffer.alloc(3 * 16, 0x80));
    const cut = chunk('IDAT', compressed.subarray(0, compressed.length - 6)); // a valid chunk, with its own CRC
    const bytes = Buffer.concat([SIGNATURE, ihdr(5, 3, 8, 2), cut, IEND]);
    await writeFile(join(dir, 'stream.png'), bytes);
    await expectFailure(join(dir, 'stream.png'), /^stream\.png is truncated/, /compressed image data stops early/);
  });

  it('rejects a PNG that does not start with IHDR', async () => {
    const bytes = Buffer.concat([SIGNATURE, chunk('tEXt', Buffer.from('Software\0test')), rgb5x3().subarray(8)]);
    await writeFile(join(dir, 'order.png'), bytes);
    await expectFailure(join(dir, 'order.png'), /starts with a tEXt chunk instead of IHDR/);
  });

  it('rejects bytes after IEND (IEND must be last)', async () => {
    await writeFile(join(dir, 'trailing.png'), Buffer.concat([rgb5x3(), Buffer.from('junk')]));
    await expectFailure(join(dir, 'trailing.png'), /4 stray bytes after its IEND chunk/);
  });
});

describe('checkImage on files that are not images', () => {
  it('rejects an empty file', async () => {
    await writeFile(join(dir, 'frame_0001.png'), '');
    assert.equal(await expectFailure(join(dir, 'frame_0001.png')), 'frame_0001.png is empty (0 bytes).');
  });

  it('rejects a missing file', async () => {
    assert.equal(await expectFailure(join(dir, 'frame_0099.exr')), 'frame_0099.exr does not exist.');
  });

  it('rejects a directory', async () => {
    await mkdir(join(dir, 'frame_0100.png'));
    await expectFailure(join(dir, 'frame_0100.png'), /^frame_0100\.png is (a directory|not a regular file)/);
  });

  it('rejects an unknown format, showing its first bytes', async () => {
    await writeFile(join(dir, 'frame_0002.png'), 'Error: out of memory\n');
    assert.equal(
      await expectFailure(join(dir, 'frame_0002.png')),
      'frame_0002.png is not an image format this check knows (it starts with 45 72 72 6f 72 3a 20 6f).',
    );
  });

  it('rejects a JPEG 2000 file that has header boxes but no codestream, as a failed write leaves it', async () => {
    // The 77 bytes Debian's Blender 3.4 leaves when it fails to save JPEG2000: signature, ftyp and jp2h boxes only.
    const box = (type: string, body: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, 8 + body.length]), Buffer.from(type, 'latin1'), body]);
    const bytes = Buffer.concat([
      box('jP  ', Buffer.from([0x0d, 0x0a, 0x87, 0x0a])),
      box('ftyp', Buffer.from('jp2 \0\0\0\0jp2 ', 'latin1')),
      box(
        'jp2h',
        Buffer.concat([
          box('ihdr', Buffer.from([0, 0, 0, 30, 0, 0, 0, 40, 0, 3, 7, 7, 0, 0])),
          box('colr', Buffer.from([1, 0, 0, 0, 0, 0, 0x10])),
        ]),
      ),
    ]);
    assert.equal(bytes.length, 77);
    await writeFile(join(dir, 'frame.jp2'), bytes);
    await expectFailure(join(dir, 'frame.jp2'), /no codestream/);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// What real Blender writes: one render, saved in every still format, plus the extension Blender gives each format.

const FORMATS = [
  'PNG',
  'JPEG',
  'OPEN_EXR',
  'OPEN_EXR_MULTILAYER',
  'TIFF',
  'BMP',
  'TARGA',
  'TARGA_RAW',
  'WEBP',
  'HDR',
  'CINEON',
  'DPX',
  'IRIS',
];
// JPEG2000 is asked only for its extension: Debian's build fails to write it.
const EXTENSION_FORMATS = [...FORMATS, 'JPEG2000'];

const SCRIPT = `
import bpy, json, os, sys
out = sys.argv[sys.argv.index('--') + 1]
scene = bpy.context.scene
r = scene.render
r.engine = 'CYCLES'
scene.cycles.samples = 1
scene.cycles.use_denoising = False
r.resolution_x, r.resolution_y, r.resolution_percentage = 40, 30, 100
r.image_settings.file_format = 'PNG'
r.filepath = os.path.join(out, 'render_0001')
bpy.ops.render.render(write_still=True)
result = bpy.data.images['Render Result']
extensions, files = {}, {}
for fmt in ${JSON.stringify(EXTENSION_FORMATS)}:
    r.image_settings.file_format = fmt
    extensions[fmt] = os.path.splitext(r.frame_path(frame=1))[1]
    if fmt in ${JSON.stringify(FORMATS)}:
        files[fmt] = os.path.join(out, 'still_' + fmt.lower() + extensions[fmt])
        result.save_render(files[fmt], scene=scene)
print('RESULT ' + json.dumps({'extensions': extensions, 'files': files}))
`;

const blender = (() => {
  try {
    return locateBlender().path;
  } catch {
    return undefined;
  }
})();

describe('checkImage on what Blender writes', { skip: blender ? false : 'Blender is not installed' }, () => {
  let written: { extensions: Record<string, string>; files: Record<string, string> };
  let blenderDir: string;
  before(async () => {
    blenderDir = join(dir, 'blender');
    await mkdir(blenderDir);
    const { stdout } = await promisify(execFile)(
      blender!,
      ['-b', '--factory-startup', '--python-exit-code', '1', '--python-expr', SCRIPT, '--', blenderDir],
      { timeout: 60_000, maxBuffer: 16 * 1024 * 1024 },
    );
    const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
    assert.ok(line, `Blender printed no result:\n${stdout.slice(-2000)}`);
    written = JSON.parse(line.slice('RESULT '.length));
  });

  it('accepts the frame written by a real render', async () => {
    const path = join(blenderDir, 'render_0001.png');
    const result = await checkImage(path);
    assert.deepEqual(result, { ok: true, format: 'PNG', width: 40, height: 30, bytes: (await readFile(path)).length });
  });

  for (const format of FORMATS) {
    // Both EXR kinds are the same container; a multilayer file differs only in its channel names.
    const expected = format === 'OPEN_EXR_MULTILAYER' ? 'OPEN_EXR' : format;

    it(`reads a ${format} file as ${expected}, 40x30`, async () => {
      const path = written.files[format]!;
      const result = await checkImage(path);
      assert.deepEqual(result, { ok: true, format: expected, width: 40, height: 30, bytes: (await readFile(path)).length });
    });

    it(`rejects a ${format} file cut short by one byte, and one cut in half`, async () => {
      const bytes = await readFile(written.files[format]!);
      const extension = written.extensions[format]!;
      for (const [label, keep] of [
        ['byte', bytes.length - 1],
        ['half', Math.floor(bytes.length / 2)],
      ] as const) {
        const name = `cut-${label}-${format.toLowerCase()}${extension}`;
        await writeFile(join(dir, name), bytes.subarray(0, keep));
        await expectFailure(join(dir, name), new RegExp(`^${name.replace('.', '\\.')} is truncated: `));
      }
    });
  }

  it('rejects an EXR whose offset table was never filled in (the writer did not finish)', async () => {
    // OpenEXR reserves the offset table (right after the header) as zeros and fills it in when the file is closed.
    const bytes = await readFile(written.files.OPEN_EXR!);
    const path = join(dir, 'unfinished.exr');
    await writeFile(path, bytes);
    assert.equal((await checkImage(path)).ok, true, 'the copy is good before the table is cleared');
    const table = exrHeaderEnd(bytes);
    bytes.fill(0, table, table + 8); // the first entry
    await writeFile(path, bytes);
    await expectFailure(path, /^unfinished\.exr is truncated: the EXR offset table was never filled in/);
  });

  it('rejects an EXR cut inside its header', async () => {
    const path = join(dir, 'header.exr');
    await writeFile(path, (await readFile(written.files.OPEN_EXR!)).subarray(0, 60));
    await expectFailure(path, /^header\.exr is truncated: the EXR header/);
  });

  it('gives each file format the extension Blender gives it', () => {
    for (const format of EXTENSION_FORMATS) assert.equal(imageExtension(format), written.extensions[format], format);
  });
});

describe('imageExtension', () => {
  it('maps every file format Blender writes', () => {
    assert.deepEqual(Object.fromEntries(EXTENSION_FORMATS.map((f) => [f, imageExtension(f)])), {
      PNG: '.png',
      JPEG: '.jpg',
      OPEN_EXR: '.exr',
      OPEN_EXR_MULTILAYER: '.exr',
      TIFF: '.tif',
      BMP: '.bmp',
      TARGA: '.tga',
      TARGA_RAW: '.tga',
      WEBP: '.webp',
      HDR: '.hdr',
      CINEON: '.cin',
      DPX: '.dpx',
      IRIS: '.rgb',
      JPEG2000: '.jp2',
    });
  });

  it('throws for a name that is not a Blender file format', () => {
    assert.throws(() => imageExtension('GIF'), /GIF is not an image file format Blender writes/);
  });
});

/** Where a single-part EXR header ends: after the version field, attributes (name\0type\0size value) until a \0. */
function exrHeaderEnd(bytes: Buffer): number {
  let pos = 8;
  while (bytes[pos] !== 0) {
    pos = bytes.indexOf(0, pos) + 1; // name
    pos = bytes.indexOf(0, pos) + 1; // type
    pos += 4 + bytes.readInt32LE(pos);
  }
  return pos + 1;
}
