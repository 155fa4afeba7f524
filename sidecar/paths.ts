/**
 * Files the sidecar ships beside its code. This module sits at the same depth as the bundle's entry (sidecar/paths.ts
 * in the sources, dist/blender-sidecar.mjs once built), so one relative path serves both.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The Python package background Blender runs (the worker loop and the probe). */
export function workerDir(): string {
  const override = process.env.BLENDER_SIDECAR_WORKER_DIR;
  if (override) return override;
  // Beside the bundle (dist/, or sidecar/ in the packaged add-on); two folders up for the self-contained
  // executable, which lives in sidecar/bin/<platform>/.
  const candidates = [new URL('./worker/', import.meta.url), new URL('../../worker/', import.meta.url)].map((u) => fileURLToPath(u));
  const dir = candidates.find((d) => existsSync(d));
  if (!dir) {
    throw new Error(`the sidecar's worker scripts are missing: expected them in ${candidates[0]} (rebuild with npm run build)`);
  }
  return dir;
}
