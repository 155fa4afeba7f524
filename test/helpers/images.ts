/** Decoding PNG frames to compare pixels (the bytes differ in metadata; the pictures must not). */
import { readFileSync } from 'node:fs';
import { PNG } from 'pngjs';

export function pixels(path: string): { width: number; height: number; data: Buffer } {
  const png = PNG.sync.read(readFileSync(path));
  return { width: png.width, height: png.height, data: png.data };
}

export function samePixels(a: string, b: string): boolean {
  const pa = pixels(a);
  const pb = pixels(b);
  return pa.width === pb.width && pa.height === pb.height && pa.data.equals(pb.data);
}
