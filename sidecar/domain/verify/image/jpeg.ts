/** JPEG: walk the marker segments up to the first scan, take the size from the SOFn, and require EOI at the end. */
import { corrupt, truncated, type Image, type ImageFile } from './image-file.js';

export async function checkJpeg(file: ImageFile): Promise<Image> {
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
