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

/** The mean red, green and blue (0-255) of a PNG: a coarse "is this the same picture" measure across sizes. */
export function meanColour(path: string): [number, number, number] {
  const { data } = pixels(path);
  const sum = [0, 0, 0];
  for (let i = 0; i < data.length; i += 4) for (let c = 0; c < 3; c++) sum[c]! += data[i + c]!;
  const n = data.length / 4;
  return [sum[0]! / n, sum[1]! / n, sum[2]! / n];
}

/** The standard deviation of a PNG's luminance (0-255): near 0 for a flat (black, white, washed out) picture. */
export function contrast(path: string): number {
  const { data } = pixels(path);
  const values: number[] = [];
  for (let i = 0; i < data.length; i += 4) values.push(0.2126 * data[i]! + 0.7152 * data[i + 1]! + 0.0722 * data[i + 2]!);
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / values.length);
}
