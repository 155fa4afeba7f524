/**
 * Is a rendered frame on disk a complete, readable image? Blender can exit 0 and still leave a frame that is empty,
 * cut short (disk full, process killed mid-write) or not written at all, so a render job checks each frame here
 * before it calls the frame done.
 *
 * The checks are structural and cheap: headers, dimensions, and whether the file is as long as its own header says.
 * Pixels are never decoded, with one exception: a PNG's zlib stream is inflated (and only counted), because a PNG
 * has no other record of how much image data it should hold.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { IMAGE_FORMAT_TABLE } from '../render/image-formats.js';

export type ImageCheck =
  | { ok: true; format: string; width: number; height: number; bytes: number }
  | { ok: false; reason: string };

/**
 * Checks the image at `path`; never throws for a bad or missing file (it answers `ok: false` with a one-sentence
 * reason that names the file). `format` is Blender's `image_settings.file_format` name for what the file is; both
 * OpenEXR kinds report `OPEN_EXR`, since a multilayer file differs only in its channel names.
 */
export async function checkImage(path: string): Promise<ImageCheck> {
  const name = basename(path);
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    return { ok: false, reason: `${name} ${describeOpenError(err)}.` };
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) return { ok: false, reason: `${name} is not a regular file.` };
    if (stat.size === 0) return { ok: false, reason: `${name} is empty (0 bytes).` };
    const file = new ImageFile(handle, stat.size);
    const head = await file.head(32);
    const check = detect(head, extname(path).toLowerCase());
    if (!check) {
      const start = hex(head.subarray(0, 8));
      return { ok: false, reason: `${name} is not an image format this check knows (it starts with ${start}).` };
    }
    const image = await check(file, head);
    return { ok: true, ...image, bytes: stat.size };
  } catch (err) {
    if (err instanceof ImageProblem) return { ok: false, reason: `${name} ${err.message}.` };
    // Buffer reads throw RangeError when a corrupt field sends a check outside the bytes it holds.
    if (err instanceof RangeError) {
      return { ok: false, reason: `${name} is not a valid image: a header field points outside the file.` };
    }
    const code = (err as NodeJS.ErrnoException).code;
    if (typeof code === 'string') return { ok: false, reason: `${name} cannot be read (${code}).` };
    throw err; // a bug here, not a bad file
  } finally {
    await handle.close();
  }
}

/** The extension Blender appends for an `image_settings.file_format` (what `scene.render.frame_path()` gives). */
export function imageExtension(fileFormat: string): string {
  const extension = EXTENSIONS[fileFormat];
  if (!extension) throw new Error(`${fileFormat} is not an image file format Blender writes.`);
  return extension;
}

const EXTENSIONS: Readonly<Record<string, string>> = Object.fromEntries(IMAGE_FORMAT_TABLE.map((f) => [f.format, f.extension]));

// ---------------------------------------------------------------------------------------------------------------
// Plumbing shared by the format checks

interface Image {
  format: string;
  width: number;
  height: number;
}
type Check = (file: ImageFile, head: Buffer) => Promise<Image>;

/** What is wrong with a file; `checkImage` prefixes the file name to make the sentence. */
class ImageProblem extends Error {}
const truncated = (what: string) => new ImageProblem(`is truncated: ${what}`);
const corrupt = (what: string) => new ImageProblem(`is not a valid image: ${what}`);
/** Truncation found by comparing a length the file declares (or implies) with its real size. */
const shortOf = (file: ImageFile, what: string, needed: number) =>
  truncated(`${what} calls for ${needed} bytes, but the file has only ${file.size}`);

/** Random access to the file, so a 200 MB EXR costs a few small reads rather than a full one. */
class ImageFile {
  constructor(
    private readonly handle: FileHandle,
    readonly size: number,
  ) {}

  /** Exactly `length` bytes at `offset`; if the file ends sooner it is truncated, and `what` says what was cut off. */
  async bytes(offset: number, length: number, what: string): Promise<Buffer> {
    if (offset + length > this.size) throw truncated(`${what} runs past the end of the file (${this.size} bytes)`);
    const buffer = Buffer.alloc(length);
    await this.handle.read(buffer, 0, length, offset);
    return buffer;
  }

  /** Up to `length` bytes from the start; shorter when the file is. */
  head(length: number): Promise<Buffer> {
    return this.bytes(0, Math.min(length, this.size), 'the header');
  }

  all(): Promise<Buffer> {
    return this.bytes(0, this.size, 'the file');
  }
}

function detect(head: Buffer, extension: string): Check | undefined {
  const starts = (...bytes: number[]) => bytes.every((b, i) => head[i] === b);
  const ascii = (offset: number, text: string) => head.toString('latin1', offset, offset + text.length) === text;
  if (starts(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return checkPng;
  if (starts(0xff, 0xd8, 0xff)) return checkJpeg;
  if (starts(0x76, 0x2f, 0x31, 0x01)) return checkExr;
  if (ascii(0, 'II*\0') || ascii(0, 'MM\0*')) return checkTiff;
  if (ascii(0, 'BM')) return checkBmp;
  if (ascii(0, 'RIFF') && ascii(8, 'WEBP')) return checkWebp;
  if (ascii(0, '#?')) return checkHdr;
  if (ascii(0, 'SDPX') || ascii(0, 'XPDS')) return checkDpx;
  if (starts(0x80, 0x2a, 0x5f, 0xd7) || starts(0xd7, 0x5f, 0x2a, 0x80)) return checkCineon;
  if (starts(0x01, 0xda)) return checkIris;
  if (starts(0, 0, 0, 0x0c) && ascii(4, 'jP  ')) return checkJp2;
  if (starts(0xff, 0x4f, 0xff, 0x51)) return checkJ2k;
  // Targa has no magic number (and Blender writes no TGA 2.0 footer), so only the extension can say it is one.
  if (extension === '.tga') return checkTarga;
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// PNG: every chunk's CRC, IHDR first and IEND last, and the inflated image data exactly as large as IHDR implies.

async function checkPng(file: ImageFile): Promise<Image> {
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
  if (!colour || !colour.depths.includes(depth)) {
    throw corrupt(`the PNG's IHDR has colour type ${body[9]} at bit depth ${depth}`);
  }
  if (body[12]! > 1) throw corrupt(`the PNG's IHDR has unknown interlace method ${body[12]}`);
  return { width, height, bitsPerPixel: colour.channels * depth, interlaced: body[12] === 1 };
}

/** Adam7's seven passes: first column, first row, column step, row step. */
const ADAM7 = [
  [0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2],
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

// ---------------------------------------------------------------------------------------------------------------
// JPEG: walk the marker segments up to the first scan, take the size from the SOFn, and require EOI at the end.

async function checkJpeg(file: ImageFile): Promise<Image> {
  let size: { width: number; height: number } | undefined;
  let pos = 2;
  for (;;) {
    const marker = await file.bytes(pos, 2, `the JPEG marker at byte ${pos}`);
    if (marker[0] !== 0xff) throw corrupt(`the JPEG has no marker at byte ${pos} where its next segment should start`);
    const code = marker[1]!;
    if (code === 0xff) {
      pos += 1; // fill byte before a marker
      continue;
    }
    if (code === 0xd9) throw corrupt('the JPEG ends (EOI) before any image data');
    if (code === 0x01 || (code >= 0xd0 && code <= 0xd7)) {
      pos += 2; // markers without a length field
      continue;
    }
    const length = (await file.bytes(pos + 2, 2, `the JPEG segment at byte ${pos}`)).readUInt16BE(0);
    if (code === 0xda) break; // start of scan: entropy-coded data follows, up to EOI
    if (code >= 0xc0 && code <= 0xcf && code !== 0xc4 && code !== 0xc8 && code !== 0xcc) {
      const sof = await file.bytes(pos + 4, 5, `the JPEG frame header at byte ${pos}`);
      size = { height: sof.readUInt16BE(1), width: sof.readUInt16BE(3) };
    }
    pos += 2 + length;
  }
  if (!size) throw corrupt('the JPEG has no frame header (SOFn) giving its size');
  if (size.width === 0 || size.height === 0) {
    throw corrupt(`the JPEG's frame header gives a ${size.width}x${size.height} image`);
  }
  const end = await file.bytes(file.size - 2, 2, 'the JPEG end marker');
  if (end[0] !== 0xff || end[1] !== 0xd9) throw truncated('the JPEG does not end with an EOI marker');
  return { format: 'JPEG', ...size };
}

// ---------------------------------------------------------------------------------------------------------------
// OpenEXR: parse the header(s), then follow the offset table to the last chunk and require it to end in the file.
// OpenEXR writes the offset table as zeros first and fills it in when the file is closed, so zeros also mean
// "the writer never finished".

const EXR_TILED = 0x200;
const EXR_DEEP = 0x800;
const EXR_MULTIPART = 0x1000;

/** Scanlines per chunk for each compression (OpenEXR's `getCompressionNumScanlines`). */
const EXR_LINES_PER_CHUNK = [1, 1, 1, 16, 32, 16, 32, 32, 32, 256];

interface ExrPart {
  width: number;
  height: number;
  compression: number;
  tiles?: { x: number; y: number; mode: number };
  chunkCount?: number;
  type?: string;
}

async function checkExr(file: ImageFile): Promise<Image> {
  const { flags, parts, end } = await exrHeaders(file);
  const chunks = parts.map((part) => exrChunkCount(part, flags));
  const tableLength = chunks.reduce((a, b) => a + b, 0) * 8;
  const table = await file.bytes(end, tableLength, 'the EXR offset table');
  let last = 0;
  let lastPart = 0;
  for (let i = 0, part = 0, inPart = 0; i < tableLength / 8; i++, inPart++) {
    while (inPart >= chunks[part]!) [part, inPart] = [part + 1, 0];
    const offset = Number(table.readBigUInt64LE(i * 8));
    if (offset === 0) throw truncated('the EXR offset table was never filled in, so the writer did not finish');
    if (offset < end + tableLength) throw corrupt(`the EXR offset table points chunk ${i} into the header`);
    if (offset >= file.size) throw shortOf(file, `EXR chunk ${i}`, offset + 1);
    if (offset > last) [last, lastPart] = [offset, part];
  }
  const chunkEnd = await exrChunkEnd(file, last, parts[lastPart]!, flags);
  if (chunkEnd > file.size) throw shortOf(file, 'the last EXR chunk', chunkEnd);
  const first = parts[0]!;
  return { format: 'OPEN_EXR', width: first.width, height: first.height };
}

/** The headers are rarely over a few KB, but metadata has no limit: read more until the header fits. */
async function exrHeaders(file: ImageFile): Promise<{ flags: number; parts: ExrPart[]; end: number }> {
  for (let length = 16 * 1024; ; length *= 4) {
    const bytes = await file.head(length);
    try {
      return parseExrHeaders(bytes);
    } catch (err) {
      if (!(err instanceof RangeError)) throw err;
      if (bytes.length === file.size) throw truncated('the EXR header runs past the end of the file');
    }
  }
}

/** Throws RangeError (from Buffer's reads) when `bytes` ends inside the header. */
function parseExrHeaders(bytes: Buffer): { flags: number; parts: ExrPart[]; end: number } {
  const version = bytes.readUInt32LE(4);
  if ((version & 0xff) !== 2) throw corrupt(`the EXR has version ${version & 0xff}, not 2`);
  const flags = version & ~0xff;
  let pos = 8;
  const text = () => {
    const zero = bytes.indexOf(0, pos);
    if (zero < 0) throw new RangeError('header continues past the bytes read');
    const value = bytes.toString('latin1', pos, zero);
    pos = zero + 1;
    return value;
  };
  const parts: ExrPart[] = [];
  do {
    const part: Partial<ExrPart> = {};
    for (let name = text(); name !== ''; name = text()) {
      text(); // attribute type: the attributes read below have fixed types
      const size = bytes.readInt32LE(pos);
      const value = pos + 4;
      if (size < 0) throw corrupt(`the EXR attribute ${name} has size ${size}`);
      if (value + size > bytes.length) throw new RangeError('attribute continues past the bytes read');
      if (name === 'dataWindow') {
        part.width = bytes.readInt32LE(value + 8) - bytes.readInt32LE(value) + 1;
        part.height = bytes.readInt32LE(value + 12) - bytes.readInt32LE(value + 4) + 1;
      }
      if (name === 'compression') part.compression = bytes.readUInt8(value);
      if (name === 'tiles') {
        part.tiles = { x: bytes.readUInt32LE(value), y: bytes.readUInt32LE(value + 4), mode: bytes.readUInt8(value + 8) };
      }
      if (name === 'chunkCount') part.chunkCount = bytes.readInt32LE(value);
      if (name === 'type') part.type = bytes.toString('latin1', value, value + size);
      pos = value + size;
    }
    if (part.width === undefined || part.height === undefined) throw corrupt('the EXR header has no dataWindow');
    if (part.width <= 0 || part.height <= 0) throw corrupt(`the EXR dataWindow gives a ${part.width}x${part.height} image`);
    parts.push({ compression: 0, ...part } as ExrPart);
    // A multi-part file lists its headers one after another and ends the list with an empty one.
  } while (flags & EXR_MULTIPART && bytes.readUInt8(pos) !== 0);
  if (flags & EXR_MULTIPART) pos += 1;
  return { flags, parts, end: pos };
}

function exrChunkCount(part: ExrPart, flags: number): number {
  if (part.chunkCount !== undefined) {
    if (part.chunkCount < 1) throw corrupt(`the EXR header has chunkCount ${part.chunkCount}`);
    return part.chunkCount;
  }
  if (flags & EXR_MULTIPART) throw corrupt('the EXR part header has no chunkCount');
  if (flags & EXR_TILED) {
    if (!part.tiles || part.tiles.x < 1 || part.tiles.y < 1) throw corrupt('the tiled EXR has no valid tiles attribute');
    return exrTileCount(part.width, part.height, part.tiles);
  }
  const lines = EXR_LINES_PER_CHUNK[part.compression];
  if (lines === undefined) throw corrupt(`the EXR uses unknown compression ${part.compression}`);
  return Math.ceil(part.height / lines);
}

/** Tiles over all levels (OpenEXR's ImfTiledMisc): one level, a mip-map chain, or a rip-map grid. */
function exrTileCount(width: number, height: number, tiles: { x: number; y: number; mode: number }): number {
  const roundUp = (tiles.mode & 0x10) !== 0;
  const levels = (n: number) => {
    let floor = 0;
    for (let v = n; v > 1; v >>= 1) floor++;
    return (roundUp && 1 << floor !== n ? floor + 1 : floor) + 1;
  };
  const levelSize = (n: number, level: number) => Math.max(1, (roundUp ? Math.ceil : Math.floor)(n / 2 ** level));
  const count = (lx: number, ly: number) =>
    Math.ceil(levelSize(width, lx) / tiles.x) * Math.ceil(levelSize(height, ly) / tiles.y);
  let total = 0;
  switch (tiles.mode & 0x0f) {
    case 0:
      return count(0, 0);
    case 1:
      for (let l = 0; l < levels(Math.max(width, height)); l++) total += count(l, l);
      return total;
    case 2:
      for (let ly = 0; ly < levels(height); ly++) for (let lx = 0; lx < levels(width); lx++) total += count(lx, ly);
      return total;
    default:
      throw corrupt(`the EXR has unknown tile level mode ${tiles.mode & 0x0f}`);
  }
}

/** Where the chunk at `offset` ends, from its own header: [part], coordinates, then its data size(s). */
async function exrChunkEnd(file: ImageFile, offset: number, part: ExrPart, flags: number): Promise<number> {
  const tiled = part.type ? part.type.includes('tile') : (flags & EXR_TILED) !== 0;
  const deep = part.type ? part.type.startsWith('deep') : (flags & EXR_DEEP) !== 0;
  const prefix = (flags & EXR_MULTIPART ? 4 : 0) + (tiled ? 16 : 4);
  if (deep) {
    const sizes = await file.bytes(offset + prefix, 24, 'the last EXR chunk header');
    return offset + prefix + 24 + Number(sizes.readBigUInt64LE(0)) + Number(sizes.readBigUInt64LE(8));
  }
  const size = await file.bytes(offset + prefix, 4, 'the last EXR chunk header');
  return offset + prefix + 4 + size.readInt32LE(0);
}

// ---------------------------------------------------------------------------------------------------------------
// TIFF: the first IFD, its ImageWidth/ImageLength, and the strips (or tiles) it lists lying inside the file.

/** Bytes per value of each TIFF field type (BYTE, ASCII, SHORT, LONG, RATIONAL, ... DOUBLE, and BigTIFF's LONG8). */
const TIFF_TYPE_SIZE: Record<number, number> = {
  1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 16: 8,
};
/** ImageWidth, ImageLength, StripOffsets, StripByteCounts, TileOffsets, TileByteCounts. */
const TIFF_TAGS_READ = [256, 257, 273, 279, 324, 325];

async function checkTiff(file: ImageFile, head: Buffer): Promise<Image> {
  const little = head[0] === 0x49;
  const u16 = (b: Buffer, at: number) => (little ? b.readUInt16LE(at) : b.readUInt16BE(at));
  const u32 = (b: Buffer, at: number) => (little ? b.readUInt32LE(at) : b.readUInt32BE(at));
  const ifd = u32(await file.bytes(4, 4, 'the TIFF header'), 0);
  if (ifd < 8) throw corrupt(`the TIFF header points its image directory at byte ${ifd}`);
  const count = u16(await file.bytes(ifd, 2, 'the TIFF image directory'), 0);
  // Twelve bytes per entry, then the offset of the next directory.
  const entries = await file.bytes(ifd + 2, count * 12 + 4, 'the TIFF image directory');
  const tags = new Map<number, number[]>();
  for (let i = 0; i < count; i++) {
    const entry = entries.subarray(i * 12, i * 12 + 12);
    const [tag, type, n] = [u16(entry, 0), u16(entry, 2), u32(entry, 4)];
    const size = TIFF_TYPE_SIZE[type];
    if (size === undefined) throw corrupt(`the TIFF tag ${tag} has unknown type ${type}`);
    // Values over 4 bytes live elsewhere in the file (Blender puts them at the end, where a cut lands first).
    const outOfLine = size * n > 4;
    const valueEnd = u32(entry, 8) + size * n;
    if (outOfLine && valueEnd > file.size) throw shortOf(file, `the TIFF tag ${tag} value`, valueEnd);
    if (!TIFF_TAGS_READ.includes(tag) || size === 8) continue;
    const values = outOfLine ? await file.bytes(u32(entry, 8), size * n, `TIFF tag ${tag}`) : entry.subarray(8, 12);
    const read = (k: number) => (size === 1 ? values[k]! : size === 2 ? u16(values, k * 2) : u32(values, k * 4));
    tags.set(tag, Array.from({ length: n }, (_, k) => read(k)));
  }
  const width = tags.get(256)?.[0];
  const height = tags.get(257)?.[0];
  if (!width || !height) throw corrupt('the TIFF image directory has no ImageWidth or ImageLength');
  // StripOffsets/StripByteCounts, or TileOffsets/TileByteCounts for a tiled file.
  const offsets = tags.get(273) ?? tags.get(324) ?? [];
  const counts = tags.get(279) ?? tags.get(325) ?? [];
  offsets.forEach((offset, i) => {
    const end = offset + (counts[i] ?? 0);
    if (end > file.size) throw shortOf(file, "the TIFF's image data", end);
  });
  return { format: 'TIFF', width, height };
}

// ---------------------------------------------------------------------------------------------------------------
// BMP: header, and for uncompressed pixels the file as long as rows of 4-byte-aligned pixels require.

async function checkBmp(file: ImageFile): Promise<Image> {
  const header = await file.bytes(0, 30, 'the BMP header');
  const declared = header.readUInt32LE(2);
  const dataOffset = header.readUInt32LE(10);
  const core = header.readUInt32LE(14) === 12; // the old OS/2 header has 16-bit sizes
  const width = core ? header.readUInt16LE(18) : header.readInt32LE(18);
  const height = Math.abs(core ? header.readUInt16LE(20) : header.readInt32LE(22)); // negative: top-down rows
  const bitsPerPixel = header.readUInt16LE(core ? 24 : 28);
  if (width <= 0 || height === 0) throw corrupt(`the BMP header gives a ${width}x${height} image`);
  if (declared > file.size) throw shortOf(file, 'the BMP header', declared);
  const compression = core ? 0 : (await file.bytes(30, 4, 'the BMP header')).readUInt32LE(0);
  if (compression === 0 || compression === 3) {
    const expected = dataOffset + Math.ceil((width * bitsPerPixel) / 32) * 4 * height;
    if (expected > file.size) throw shortOf(file, `a ${width}x${height} ${bitsPerPixel}-bit BMP`, expected);
  }
  return { format: 'BMP', width, height };
}

// ---------------------------------------------------------------------------------------------------------------
// Targa (best effort, no magic number): a plausible header, then the pixel data, counting RLE packets if compressed.

async function checkTarga(file: ImageFile): Promise<Image> {
  const header = await file.bytes(0, 18, 'the Targa header');
  const [idLength, mapType, imageType] = [header[0]!, header[1]!, header[2]!];
  const mapBytes = header.readUInt16LE(5) * Math.ceil(header[7]! / 8);
  const width = header.readUInt16LE(12);
  const height = header.readUInt16LE(14);
  const pixelBytes = Math.ceil(header[16]! / 8);
  if (mapType > 1 || ![1, 2, 3, 9, 10, 11].includes(imageType) || ![1, 2, 3, 4].includes(pixelBytes)) {
    throw corrupt('the file has a .tga name but no Targa header');
  }
  if (width === 0 || height === 0) throw corrupt(`the Targa header gives a ${width}x${height} image`);
  const start = 18 + idLength + (mapType ? mapBytes : 0);
  if (start > file.size) throw truncated('the Targa header and colour map run past the end of the file');
  const rle = imageType >= 9;
  if (!rle) {
    const expected = start + width * height * pixelBytes;
    if (expected > file.size) throw shortOf(file, `a ${width}x${height} uncompressed Targa`, expected);
    return { format: 'TARGA_RAW', width, height };
  }
  // Each packet: a count byte, then one pixel (repeated) or that many literal pixels.
  const data = await file.bytes(start, file.size - start, 'the Targa pixels');
  let pos = 0;
  for (let pixels = 0; pixels < width * height; ) {
    if (pos >= data.length) throw truncated(`the Targa's compressed pixels stop after ${pixels} of ${width * height}`);
    const packet = data[pos]!;
    const n = (packet & 0x7f) + 1;
    pos += 1 + (packet & 0x80 ? 1 : n) * pixelBytes;
    pixels += n;
  }
  if (pos > data.length) throw truncated(`the Targa's compressed pixels stop inside a packet`);
  return { format: 'TARGA', width, height };
}

// ---------------------------------------------------------------------------------------------------------------
// WebP: the RIFF size matching the file, and the size from the first chunk (VP8, VP8L or VP8X).

async function checkWebp(file: ImageFile): Promise<Image> {
  const header = await file.bytes(0, 30, 'the WebP header');
  const riff = header.readUInt32LE(4);
  const expected = 8 + riff + (riff % 2); // RIFF pads an odd-sized payload
  if (expected > file.size) throw shortOf(file, 'the WebP RIFF header', expected);
  if (expected < file.size) throw corrupt(`the file has ${file.size - expected} bytes after the RIFF data`);
  const chunk = header.toString('latin1', 12, 16);
  let width: number;
  let height: number;
  if (chunk === 'VP8 ') {
    if (header.readUIntBE(23, 3) !== 0x9d012a) throw corrupt('the VP8 key frame has no start code');
    width = header.readUInt16LE(26) & 0x3fff;
    height = header.readUInt16LE(28) & 0x3fff;
  } else if (chunk === 'VP8L') {
    const bits = header.readUInt32LE(21);
    width = (bits & 0x3fff) + 1;
    height = ((bits >>> 14) & 0x3fff) + 1;
  } else if (chunk === 'VP8X') {
    width = header.readUIntLE(24, 3) + 1;
    height = header.readUIntLE(27, 3) + 1;
  } else {
    throw corrupt(`the WebP starts with a ${JSON.stringify(chunk)} chunk`);
  }
  if (width === 0 || height === 0) throw corrupt(`the WebP gives a ${width}x${height} image`);
  return { format: 'WEBP', width, height };
}

// ---------------------------------------------------------------------------------------------------------------
// Radiance HDR: text header, resolution line, then one (usually run-length encoded) RGBE scanline per row.

async function checkHdr(file: ImageFile): Promise<Image> {
  const data = await file.all();
  const headerEnd = data.indexOf('\n\n');
  const lineEnd = data.indexOf('\n', headerEnd + 2);
  if (headerEnd < 0 || lineEnd < 0) throw truncated('the Radiance HDR header has no resolution line');
  const resolution = /^([-+])([XY]) (\d+) ([-+])([XY]) (\d+)$/.exec(data.toString('latin1', headerEnd + 2, lineEnd));
  if (!resolution || resolution[2] === resolution[5]) throw corrupt('the Radiance HDR resolution line is not readable');
  const [rows, columns] = [Number(resolution[3]), Number(resolution[6])];
  let pos = lineEnd + 1;
  for (let row = 0; row < rows && pos <= data.length; row++) {
    // New-style RLE (2, 2, length) for widths 8..32767, as Blender writes; anything else is read as flat RGBE.
    const rle = data[pos] === 2 && data[pos + 1] === 2 && pos + 4 <= data.length && data.readUInt16BE(pos + 2) === columns;
    if (!rle) {
      pos += 4 * columns;
      continue;
    }
    pos += 4;
    for (let channel = 0; channel < 4; channel++) {
      let n = 0;
      while (n < columns && pos < data.length) {
        const count = data[pos]!;
        if (count === 0) throw corrupt(`the Radiance HDR has an empty run in row ${row}`);
        n += count > 128 ? count - 128 : count;
        pos += 1 + (count > 128 ? 1 : count);
      }
      if (n < columns) throw truncated(`the Radiance HDR pixels stop in row ${row}`);
    }
  }
  if (pos > data.length) throw truncated('the Radiance HDR pixels stop before the end of the image');
  const [width, height] = resolution[2] === 'Y' ? [columns, rows] : [rows, columns];
  return { format: 'HDR', width, height };
}

// ---------------------------------------------------------------------------------------------------------------
// DPX and Cineon: fixed binary headers that state the total file size; SGI (IRIS): verbatim size or RLE tables.

async function checkDpx(file: ImageFile, head: Buffer): Promise<Image> {
  const header = await file.bytes(0, 780, 'the DPX header');
  const big = head.toString('latin1', 0, 4) === 'SDPX';
  const u32 = (at: number) => (big ? header.readUInt32BE(at) : header.readUInt32LE(at));
  return sizedImage(file, 'DPX', 'DPX', u32(16), u32(772), u32(776));
}

async function checkCineon(file: ImageFile, head: Buffer): Promise<Image> {
  const header = await file.bytes(0, 208, 'the Cineon header');
  const big = head[0] === 0x80;
  const u32 = (at: number) => (big ? header.readUInt32BE(at) : header.readUInt32LE(at));
  return sizedImage(file, 'CINEON', 'Cineon', u32(20), u32(200), u32(204));
}

function sizedImage(file: ImageFile, format: string, label: string, declared: number, width: number, height: number) {
  if (declared > file.size) throw shortOf(file, `the ${label} header`, declared);
  if (width === 0 || height === 0) throw corrupt(`the ${label} header gives a ${width}x${height} image`);
  return { format, width, height };
}

async function checkIris(file: ImageFile): Promise<Image> {
  const header = await file.bytes(0, 512, 'the SGI header');
  const [rle, bytesPerChannel] = [header[2] === 1, header[3]!];
  const [width, height, channels] = [header.readUInt16BE(6), header.readUInt16BE(8), Math.max(1, header.readUInt16BE(10))];
  if (width === 0 || height === 0) throw corrupt(`the SGI header gives a ${width}x${height} image`);
  let end = 512 + width * height * channels * bytesPerChannel;
  if (rle) {
    // Two tables of one u32 per row per channel: where each compressed row starts, and how long it is.
    const rows = height * channels;
    const tables = await file.bytes(512, rows * 8, 'the SGI row tables');
    end = 0;
    for (let i = 0; i < rows; i++) end = Math.max(end, tables.readUInt32BE(i * 4) + tables.readUInt32BE((rows + i) * 4));
  }
  if (end > file.size) throw shortOf(file, 'the SGI image', end);
  return { format: 'IRIS', width, height };
}

// ---------------------------------------------------------------------------------------------------------------
// JPEG 2000: a JP2 box file whose header box gives the size and whose codestream box ends with EOC, or a bare
// codestream (.j2c). A failed write leaves a JP2 with header boxes and no codestream, so that case matters.

async function checkJp2(file: ImageFile): Promise<Image> {
  let size: { width: number; height: number } | undefined;
  for (let pos = 0; pos < file.size; ) {
    const box = await file.bytes(pos, 8, `the JP2 box at byte ${pos}`);
    const type = box.toString('latin1', 4, 8);
    let [length, headerLength] = [box.readUInt32BE(0), 8];
    if (length === 1) {
      length = Number((await file.bytes(pos + 8, 8, 'a JP2 box length')).readBigUInt64BE(0));
      headerLength = 16;
    }
    if (length === 0) length = file.size - pos; // the last box may run to the end of the file
    if (length < headerLength) throw corrupt(`the JP2 box ${JSON.stringify(type)} at byte ${pos} has length ${length}`);
    if (pos + length > file.size) throw truncated(`the JP2 ${JSON.stringify(type)} box runs past the end of the file`);
    if (type === 'jp2h') {
      const header = await file.bytes(pos + headerLength, length - headerLength, 'the JP2 header box');
      const ihdr = header.indexOf('ihdr');
      if (ihdr < 0 || ihdr + 12 > header.length) throw corrupt('the JP2 header box has no ihdr');
      size = { height: header.readUInt32BE(ihdr + 4), width: header.readUInt32BE(ihdr + 8) };
    }
    if (type === 'jp2c') {
      if (!size) throw corrupt('the JP2 codestream comes before its header box');
      await requireEoc(file, pos + length);
      return { format: 'JPEG2000', ...size };
    }
    pos += length;
  }
  throw truncated('the JP2 has no codestream box, so no image data was written');
}

async function checkJ2k(file: ImageFile): Promise<Image> {
  const siz = await file.bytes(0, 24, 'the JPEG 2000 SIZ marker');
  await requireEoc(file, file.size);
  // Image size minus image offset, in the SIZ marker that must follow SOC.
  const [width, height] = [siz.readUInt32BE(8) - siz.readUInt32BE(16), siz.readUInt32BE(12) - siz.readUInt32BE(20)];
  return { format: 'JPEG2000', width, height };
}

async function requireEoc(file: ImageFile, end: number): Promise<void> {
  const eoc = await file.bytes(end - 2, 2, 'the JPEG 2000 end marker');
  if (eoc[0] !== 0xff || eoc[1] !== 0xd9) throw truncated('the JPEG 2000 codestream does not end with an EOC marker');
}

// ---------------------------------------------------------------------------------------------------------------

function describeOpenError(err: unknown): string {
  switch ((err as NodeJS.ErrnoException).code) {
    case 'ENOENT':
      return 'does not exist';
    case 'EISDIR':
      return 'is a directory, not an image';
    case 'EACCES':
    case 'EPERM':
      return 'cannot be read (permission denied)';
    default:
      return `cannot be opened (${(err as Error).message})`;
  }
}

function hex(bytes: Buffer): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');
}
