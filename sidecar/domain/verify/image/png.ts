/** PNG: every chunk's CRC, IHDR first and IEND last, and the inflated image data exactly as large as IHDR implies. */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { corrupt, ImageProblem, truncated, type Image, type ImageFile } from './image-file.js';

export async function checkPng(file: ImageFile): Promise<Image> {
  const data = await file.all();
  const idat: Buffer[] = [];
  let header: PngHeader | undefined;
  let pos = 8;
  for (;;) {
    if (pos >= data.length) throw truncated('the PNG has no IEND chunk');
    if (pos + 12 > data.length) throw truncated(`the PNG ends inside a chunk header at byte ${pos}`);
    const length = data.readUInt32BE(pos);
    const type = data.toString('latin1', pos + 4, pos + 8);
    const end = pos + 12 + length;
    if (end > data.length) throw truncated(`the PNG ends inside its ${type} chunk at byte ${pos}`);
    if (crc32(data.subarray(pos + 4, end - 4)) !== data.readUInt32BE(end - 4)) {
      throw corrupt(`the PNG's ${type} chunk at byte ${pos} fails its CRC check`);
    }
    if (pos === 8 && type !== 'IHDR') throw corrupt(`the PNG starts with a ${type} chunk instead of IHDR`);
    const body = data.subarray(pos + 8, end - 4);
    if (type === 'IHDR') header = pngHeader(body);
    if (type === 'IDAT') idat.push(body);
    pos = end;
    if (type === 'IEND') break;
  }
  if (pos !== data.length) throw corrupt(`the PNG has ${data.length - pos} stray bytes after its IEND chunk`);
  if (!header) throw corrupt('the PNG has no IHDR chunk');
  if (idat.length === 0) throw corrupt('the PNG has no IDAT chunk');
  const expected = pngDataSize(header);
  const actual = await inflatedSize(idat, expected);
  if (actual !== expected) {
    throw truncated(`the PNG's image data inflates to ${actual} bytes, not the ${expected} its IHDR implies`);
  }
  return { format: 'PNG', width: header.width, height: header.height };
}

interface PngHeader {
  width: number;
  height: number;
  bitsPerPixel: number;
  interlaced: boolean;
}

/** Channels per PNG colour type; the allowed bit depths follow from the spec's table. */
const PNG_CHANNELS: Record<number, { channels: number; depths: number[] }> = {
  0: { channels: 1, depths: [1, 2, 4, 8, 16] },
  2: { channels: 3, depths: [8, 16] },
  3: { channels: 1, depths: [1, 2, 4, 8] },
  4: { channels: 2, depths: [8, 16] },
  6: { channels: 4, depths: [8, 16] },
};

function pngHeader(body: Buffer): PngHeader {
  if (body.length !== 13) throw corrupt(`the PNG's IHDR chunk is ${body.length} bytes, not 13`);
  const width = body.readUInt32BE(0);
  const height = body.readUInt32BE(4);
  const depth = body[8]!;
  const colour = PNG_CHANNELS[body[9]!];
  if (width === 0 || height === 0) throw corrupt(`the PNG's IHDR gives a ${width}x${height} image`);
  if (!colour?.depths.includes(depth)) {
    throw corrupt(`the PNG's IHDR has colour type ${body[9]} at bit depth ${depth}`);
  }
  if (body[12]! > 1) throw corrupt(`the PNG's IHDR has unknown interlace method ${body[12]}`);
  return { width, height, bitsPerPixel: colour.channels * depth, interlaced: body[12] === 1 };
}

/** Adam7's seven passes: first column, first row, column step, row step. */
const ADAM7 = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
] as const;

/** Bytes of filtered scanlines (one filter byte per row) that the IDAT stream must inflate to. */
function pngDataSize({ width, height, bitsPerPixel, interlaced }: PngHeader): number {
  const scanlines = (w: number, h: number) => (w === 0 || h === 0 ? 0 : h * (1 + Math.ceil((w * bitsPerPixel) / 8)));
  if (!interlaced) return scanlines(width, height);
  let total = 0;
  for (const [x0, y0, dx, dy] of ADAM7) total += scanlines(Math.ceil((width - x0) / dx), Math.ceil((height - y0) / dy));
  return total;
}

/** Inflates without keeping the output (a 4K 16-bit frame is 66 MB of it); stops once past `limit`. */
async function inflatedSize(parts: Buffer[], limit: number): Promise<number> {
  let size = 0;
  try {
    await pipeline(Readable.from(parts), zlib.createInflate(), async (chunks: AsyncIterable<Buffer>) => {
      for await (const chunk of chunks) {
        size += chunk.length;
        if (size > limit) throw corrupt(`the PNG's image data inflates to more than the ${limit} bytes its IHDR implies`);
      }
    });
  } catch (err) {
    if (err instanceof ImageProblem) throw err;
    // zlib says "unexpected end of file" when the stream stops early: the file was cut inside its image data.
    if ((err as { code?: string }).code === 'Z_BUF_ERROR') throw truncated("the PNG's compressed image data stops early");
    throw corrupt(`the PNG's image data does not inflate (${(err as Error).message})`);
  }
  return size;
}

/** PNG's CRC-32: zlib's (Node 20.15+; 50 times faster, which matters on a 50 MB frame), else computed here. */
const crc32: (bytes: Uint8Array) => number = typeof zlib.crc32 === 'function' ? (bytes) => zlib.crc32(bytes) : tableCrc32;

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function tableCrc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
