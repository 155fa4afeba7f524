/**
 * Baked maps, checked and put in place: used by bake jobs and by pipeline bake steps alike. Every map must be a
 * readable image of the asked size with baked pixels in it (the worker reports the share of pixels the bake wrote:
 * an image starts transparent, so a bake that missed the UVs or the sources is blank). Only when every map of a
 * target passed are they moved from staging into place, together.
 */
import { mkdirSync, renameSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { checkImage } from '../verify/image.js';

export interface StagedMap {
  object: string;
  type: string;
  staged: string;
  output: string;
  size: number;
  /** Share of the pixels the bake wrote, and their value range, as the worker reported them (undefined: not reported). */
  baked?: { coverage: number; min: number; max: number };
}

export type PlacedMaps = { ok: true; maps: Array<Record<string, unknown>> } | { ok: false; reason: string; retryable: boolean };

export async function placeMaps(maps: StagedMap[], blankHint: string): Promise<PlacedMaps> {
  const placed: Array<Record<string, unknown>> = [];
  for (const m of maps) {
    const image = await checkImage(m.staged);
    if (!image.ok) return { ok: false, retryable: true, reason: `the ${m.type} map of ${m.object} is not a usable image: ${image.reason}` };
    if (image.width !== m.size || image.height !== m.size) {
      return {
        ok: false,
        retryable: true,
        reason: `the ${m.type} map of ${m.object} is ${image.width}x${image.height}, not the asked ${m.size}x${m.size}`,
      };
    }
    if (!m.baked || m.baked.coverage <= 0) {
      return {
        ok: false,
        retryable: false,
        reason: `the ${m.type} map of ${m.object} is blank: the bake wrote no pixel (are ${m.object}'s UVs inside the 0-1 square?${blankHint})`,
      };
    }
    placed.push({
      object: m.object,
      type: m.type,
      output: m.output,
      width: image.width,
      height: image.height,
      bytes: image.bytes,
      coverage: round(m.baked.coverage),
      min: round(m.baked.min),
      max: round(m.baked.max),
    });
  }
  for (const m of maps) {
    mkdirSync(dirname(m.output), { recursive: true });
    rmSync(m.output, { force: true });
    renameSync(m.staged, m.output);
  }
  return { ok: true, maps: placed };
}

function round(n: number): number {
  return Math.round(n * 10_000) / 10_000;
}
