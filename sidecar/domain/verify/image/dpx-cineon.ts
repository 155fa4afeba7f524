/** DPX and Cineon (DPX grew out of Cineon): fixed binary headers that state the total file size. */
import { corrupt, shortOf, type Image, type ImageFile } from './image-file.js';

export async function checkDpx(file: ImageFile, head: Buffer): Promise<Image> {
  const header = await file.bytes(0, 780, 'the DPX header');
  const big = head.toString('latin1', 0, 4) === 'SDPX';
  const u32 = (at: number) => (big ? header.readUInt32BE(at) : header.readUInt32LE(at));
  return sizedImage(file, 'DPX', 'DPX', u32(16), u32(772), u32(776));
}

export async function checkCineon(file: ImageFile, head: Buffer): Promise<Image> {
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
