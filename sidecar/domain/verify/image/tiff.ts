/** TIFF: the first IFD, its ImageWidth/ImageLength, and the strips (or tiles) it lists lying inside the file. */
import { corrupt, shortOf, type Image, type ImageFile } from './image-file.js';

/** Bytes per value of each TIFF field type (BYTE, ASCII, SHORT, LONG, RATIONAL, ... DOUBLE, and BigTIFF's LONG8). */
const TIFF_TYPE_SIZE: Record<number, number> = {
  1: 1,
  2: 1,
  3: 2,
  4: 4,
  5: 8,
  6: 1,
  7: 1,
  8: 2,
  9: 4,
  10: 8,
  11: 4,
  12: 8,
  16: 8,
};
/** ImageWidth, ImageLength, StripOffsets, StripByteCounts, TileOffsets, TileByteCounts. */
const TIFF_TAGS_READ = [256, 257, 273, 279, 324, 325];

export async function checkTiff(file: ImageFile, head: Buffer): Promise<Image> {
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
    tags.set(
      tag,
      Array.from({ length: n }, (_, k) => read(k)),
    );
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
