/** Radiance HDR: text header, resolution line, then one (usually run-length encoded) RGBE scanline per row. */
import { corrupt, truncated, type Image, type ImageFile } from './image-file.js';

export async function checkHdr(file: ImageFile): Promise<Image> {
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
