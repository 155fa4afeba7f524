/** BMP: header, and for uncompressed pixels the file as long as rows of 4-byte-aligned pixels require. */
import { corrupt, shortOf, type Image, type ImageFile } from './image-file.js';

export async function checkBmp(file: ImageFile): Promise<Image> {
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
