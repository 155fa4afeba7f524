/**
 * The shared corpus of real .blend files (shared/corpus beside the repository: 28 files saved by Blender 2.78 to 5.3)
 * and what its README says each was saved by.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** The corpus folder; throws saying where it looked (a test that needs it fails rather than skips). */
export function corpusDir(): string {
  // CI lays shared/ beside the clone; a worktree in wt/<name> has it two levels up.
  const places = [process.env.SIDECAR_CORPUS, join(root, '..', 'shared', 'corpus'), join(root, '..', '..', 'shared', 'corpus')].filter(
    (p): p is string => !!p,
  );
  const found = places.find((p) => existsSync(join(p, 'README.md')));
  if (!found) throw new Error(`the .blend corpus is not there (looked in ${places.join(', ')}); set SIDECAR_CORPUS to its folder`);
  return found;
}

/** File name -> "3.4" (or "zstd" where the README says to look inside), from the README's table. */
export function corpusVersions(): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of readFileSync(join(corpusDir(), 'README.md'), 'utf8').split('\n')) {
    const m = /^\|\s*(\S+\.blend)\s*\|\s*(.+?)\s*\|$/.exec(line);
    if (!m) continue;
    const version = /Blender (\d+\.\d+)/.exec(m[2]!)?.[1];
    out.set(m[1]!, version ?? (/zstd/.test(m[2]!) ? 'zstd' : m[2]!));
  }
  return out;
}
