/**
 * Is a rendered frame on disk a complete, readable image? Blender can exit 0 and still leave a frame that is empty,
 * cut short (disk full, process killed mid-write) or not written at all, so a render job checks each frame here
 * before it calls the frame done.
 *
 * The checks are structural and cheap: headers, dimensions, and whether the file is as long as its own header says.
 * Pixels are never decoded, with one exception: a PNG's zlib stream is inflated (and only counted), because a PNG
 * has no other record of how much image data it should hold.
 *
 * This file is the dispatcher: it opens the file, tells the format from its first bytes, and hands it to the check
 * for that format family in image/ (one file each).
 */
import { open, type FileHandle } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { IMAGE_FORMAT_TABLE } from '../render/image-formats.js';
import { checkBmp } from './image/bmp.js';
import { checkCineon, checkDpx } from './image/dpx-cineon.js';
import { ImageFile, ImageProblem, type Check } from './image/image-file.js';
import { checkJpeg } from './image/jpeg.js';
import { checkJ2k, checkJp2 } from './image/jpeg2000.js';
import { checkExr } from './image/openexr.js';
import { checkPng } from './image/png.js';
import { checkHdr } from './image/radiance-hdr.js';
import { checkIris } from './image/sgi.js';
import { checkTarga } from './image/targa.js';
import { checkTiff } from './image/tiff.js';
import { checkWebp } from './image/webp.js';

export type ImageCheck = { ok: true; format: string; width: number; height: number; bytes: number } | { ok: false; reason: string };

/**
 * Checks the image at `path`; never throws for a bad or missing file (it answers `ok: false` with a one-sentence
 * reason that names the file). `format` is Blender's `image_settings.file_format` name for what the file is; both
 * OpenEXR kinds report `OPEN_EXR`, since a multilayer file differs only in its channel names.
 */
export async function checkImage(path: string): Promise<ImageCheck> {
  const name = basename(path);
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    return { ok: false, reason: `${name} ${describeOpenError(err)}.` };
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) return { ok: false, reason: `${name} is not a regular file.` };
    if (stat.size === 0) return { ok: false, reason: `${name} is empty (0 bytes).` };
    const file = new ImageFile(handle, stat.size);
    const head = await file.head(32);
    const check = detect(head, extname(path).toLowerCase());
    if (!check) {
      const start = hex(head.subarray(0, 8));
      return { ok: false, reason: `${name} is not an image format this check knows (it starts with ${start}).` };
    }
    const image = await check(file, head);
    return { ok: true, ...image, bytes: stat.size };
  } catch (err) {
    if (err instanceof ImageProblem) return { ok: false, reason: `${name} ${err.message}.` };
    // Buffer reads throw RangeError when a corrupt field sends a check outside the bytes it holds.
    if (err instanceof RangeError) {
      return { ok: false, reason: `${name} is not a valid image: a header field points outside the file.` };
    }
    const code = (err as NodeJS.ErrnoException).code;
    if (typeof code === 'string') return { ok: false, reason: `${name} cannot be read (${code}).` };
    throw err; // a bug here, not a bad file
  } finally {
    await handle.close();
  }
}

/** The extension Blender appends for an `image_settings.file_format` (what `scene.render.frame_path()` gives). */
export function imageExtension(fileFormat: string): string {
  const extension = EXTENSIONS[fileFormat];
  if (!extension) throw new Error(`${fileFormat} is not an image file format Blender writes.`);
  return extension;
}

const EXTENSIONS: Readonly<Record<string, string>> = Object.fromEntries(IMAGE_FORMAT_TABLE.map((f) => [f.format, f.extension]));

/** Which format family a file belongs to, from its magic number (Targa, which has none, from its extension). */
function detect(head: Buffer, extension: string): Check | undefined {
  const starts = (...bytes: number[]) => bytes.every((b, i) => head[i] === b);
  const ascii = (offset: number, text: string) => head.toString('latin1', offset, offset + text.length) === text;
  if (starts(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return checkPng;
  if (starts(0xff, 0xd8, 0xff)) return checkJpeg;
  if (starts(0x76, 0x2f, 0x31, 0x01)) return checkExr;
  if (ascii(0, 'II*\0') || ascii(0, 'MM\0*')) return checkTiff;
  if (ascii(0, 'BM')) return checkBmp;
  if (ascii(0, 'RIFF') && ascii(8, 'WEBP')) return checkWebp;
  if (ascii(0, '#?')) return checkHdr;
  if (ascii(0, 'SDPX') || ascii(0, 'XPDS')) return checkDpx;
  if (starts(0x80, 0x2a, 0x5f, 0xd7) || starts(0xd7, 0x5f, 0x2a, 0x80)) return checkCineon;
  if (starts(0x01, 0xda)) return checkIris;
  if (starts(0, 0, 0, 0x0c) && ascii(4, 'jP  ')) return checkJp2;
  if (starts(0xff, 0x4f, 0xff, 0x51)) return checkJ2k;
  // Targa has no magic number (and Blender writes no TGA 2.0 footer), so only the extension can say it is one.
  if (extension === '.tga') return checkTarga;
  return undefined;
}

function describeOpenError(err: unknown): string {
  switch ((err as NodeJS.ErrnoException).code) {
    case 'ENOENT':
      return 'does not exist';
    case 'EISDIR':
      return 'is a directory, not an image';
    case 'EACCES':
    case 'EPERM':
      return 'cannot be read (permission denied)';
    default:
      return `cannot be opened (${(err as Error).message})`;
  }
}

function hex(bytes: Buffer): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');
}
