/**
 * Frame lists as users write them: "1-240", "1-10,20,30-40x2" (every 2nd frame), "-5--1" (negative frames), and
 * "^3-5" to leave frames out (Loom's syntax). The result is sorted and without repeats.
 */
import { InvalidInputError } from '../errors.js';

export const MAX_FRAMES = 1_000_000;
const ITEM = /^(\^)?\s*(-?\d+)(?:\s*-\s*(-?\d+)(?:\s*x\s*(\d+))?)?$/;

export function parseFrames(spec: string, field = 'frames'): number[] {
  const include = new Set<number>();
  const exclude = new Set<number>();
  const items = spec.split(',').map((s) => s.trim());
  if (items.length === 0 || items.every((s) => s === '')) {
    throw new InvalidInputError(field, 'is empty; write frames like "1-240" or "1-10,20,30-40x2"');
  }
  for (const item of items) {
    const m = ITEM.exec(item);
    if (!m) {
      throw new InvalidInputError(field, `"${item}" is not a frame, a range (1-240) or a stepped range (30-40x2)`);
    }
    const start = Number(m[2]);
    const end = m[3] === undefined ? start : Number(m[3]);
    const step = m[4] === undefined ? 1 : Number(m[4]);
    if (end < start) throw new InvalidInputError(field, `"${item}" runs backwards; write ${end}-${start}`);
    if (step < 1) throw new InvalidInputError(field, `"${item}" has a step of 0; use x1 or more`);
    if (Math.abs(start) > 1_048_574 || Math.abs(end) > 1_048_574) {
      throw new InvalidInputError(field, `"${item}" is outside Blender's frame range (-1048574 to 1048574)`);
    }
    if ((end - start) / step + 1 + include.size > MAX_FRAMES) {
      throw new InvalidInputError(field, `asks for more than ${MAX_FRAMES} frames`);
    }
    const target = m[1] ? exclude : include;
    for (let f = start; f <= end; f += step) target.add(f);
  }
  const frames = [...include].filter((f) => !exclude.has(f)).sort((a, b) => a - b);
  if (frames.length === 0) throw new InvalidInputError(field, `"${spec}" leaves no frames to render`);
  return frames;
}

/** The compact form of a frame list ("1-10,12,20-24"), for messages and for handing to a farm. */
export function formatFrames(frames: readonly number[]): string {
  const parts: string[] = [];
  let i = 0;
  while (i < frames.length) {
    let j = i;
    while (j + 1 < frames.length && frames[j + 1] === frames[j]! + 1) j++;
    parts.push(j === i ? `${frames[i]}` : `${frames[i]}-${frames[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}
