/** WebP: the RIFF size matching the file, and the size from the first chunk (VP8, VP8L or VP8X). */
import { corrupt, shortOf, type Image, type ImageFile } from './image-file.js';

export async function checkWebp(file: ImageFile): Promise<Image> {
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
