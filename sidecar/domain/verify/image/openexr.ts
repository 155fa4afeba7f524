/**
 * OpenEXR: parse the header(s), then follow the offset table to the last chunk and require it to end in the file.
 * OpenEXR writes the offset table as zeros first and fills it in when the file is closed, so zeros also mean
 * "the writer never finished".
 */
import { corrupt, shortOf, truncated, type Image, type ImageFile } from './image-file.js';

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

export async function checkExr(file: ImageFile): Promise<Image> {
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
  const count = (lx: number, ly: number) => Math.ceil(levelSize(width, lx) / tiles.x) * Math.ceil(levelSize(height, ly) / tiles.y);
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
