/** Targa (best effort, no magic number): a plausible header, then the pixel data, counting RLE packets if compressed. */
import { corrupt, shortOf, truncated, type Image, type ImageFile } from './image-file.js';

export async function checkTarga(file: ImageFile): Promise<Image> {
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
