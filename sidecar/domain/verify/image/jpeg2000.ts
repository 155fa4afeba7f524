/**
 * JPEG 2000: a JP2 box file whose header box gives the size and whose codestream box ends with EOC, or a bare
 * codestream (.j2c). A failed write leaves a JP2 with header boxes and no codestream, so that case matters.
 */
import { corrupt, truncated, type Image, type ImageFile } from './image-file.js';

export async function checkJp2(file: ImageFile): Promise<Image> {
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

export async function checkJ2k(file: ImageFile): Promise<Image> {
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
