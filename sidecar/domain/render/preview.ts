/**
 * Frame previews: a small PNG per rendered frame (the worker writes it through the scene's colour management, see
 * sidecar/worker/sidecar_worker/preview.py), kept next to the frames in a hidden `.previews` folder so that listing
 * the output folder shows only frames. Like a frame, a preview is written under a worker's partial name and only put
 * in place once the frame it shows has been checked.
 */
import { existsSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { checkImage } from '../verify/image.js';
import type { JobRecord } from '../jobs/job.js';

/** The long side of a preview, in pixels. */
export const PREVIEW_SIZE = 256;
const PREVIEW_DIR = '.previews';

/** Where the preview of the frame at `framePath` goes: `<frames>/.previews/<frame name>.png`. */
export function previewPath(framePath: string): string {
  const name = basename(framePath);
  const stem = extname(name) ? name.slice(0, -extname(name).length) : name;
  return join(dirname(framePath), PREVIEW_DIR, `${stem}.png`);
}

/** The name a worker writes a preview under until its frame is accepted (ends in .png: Blender keeps it as given). */
export function partialPreviewPath(framePath: string, workerId: string): string {
  const final = previewPath(framePath);
  return join(dirname(final), `.${basename(final, '.png')}.sidecar-${workerId}.partial.png`);
}

export interface PreviewInfo {
  path: string;
  width: number;
  height: number;
}

/**
 * Puts a worker's preview in place once its frame is accepted; answers what it is, or why there is none (a broken
 * preview is a sentence on the frame, never a failed frame).
 */
export async function placePreview(
  framePath: string,
  workerId: string,
  workerError: unknown,
): Promise<{ preview?: PreviewInfo; previewError?: string }> {
  const partial = partialPreviewPath(framePath, workerId);
  if (typeof workerError === 'string') {
    rmSync(partial, { force: true });
    return { previewError: `no preview: ${workerError}` };
  }
  if (!existsSync(partial)) return { previewError: 'no preview: the worker wrote none' };
  const check = await checkImage(partial);
  if (!check.ok) {
    rmSync(partial, { force: true });
    return { previewError: `no preview: ${check.reason}` };
  }
  const path = previewPath(framePath);
  try {
    renameSync(partial, path);
  } catch (err) {
    rmSync(partial, { force: true });
    return { previewError: `no preview: it could not be put in place (${(err as NodeJS.ErrnoException).code ?? String(err)})` };
  }
  return { preview: { path, width: check.width, height: check.height } };
}

export function discardPreview(framePath: string, workerId: string): void {
  rmSync(partialPreviewPath(framePath, workerId), { force: true });
}

/** Partial previews a crash left behind (ours only). */
export function removePartialPreviews(framePath: string): void {
  const dir = dirname(previewPath(framePath));
  try {
    for (const name of readdirSync(dir)) {
      if (name.startsWith('.') && /\.sidecar-w\d+\.partial\.png$/.test(name)) rmSync(join(dir, name), { force: true });
    }
  } catch {
    // No previews folder yet.
  }
}

/** The previews of a render job's frames, in frame order: what job.get lists. Frames skipped as already there count if their preview is. */
export function jobPreviews(job: JobRecord): Array<{ frame: number; path: string }> {
  const out: Array<{ frame: number; path: string }> = [];
  for (const unit of job.units) {
    const preview = unit.result?.preview as PreviewInfo | undefined;
    if (preview?.path) out.push({ frame: unit.key, path: preview.path });
  }
  return out;
}
