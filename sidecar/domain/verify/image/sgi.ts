/** SGI (Blender's IRIS): a 512-byte header, then the pixels verbatim or run-length encoded behind row tables. */
import { corrupt, shortOf, type Image, type ImageFile } from './image-file.js';

export async function checkIris(file: ImageFile): Promise<Image> {
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
