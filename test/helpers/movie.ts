/** Reading a movie back with real Blender (its own FFmpeg), independently of the sidecar's worker. */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { blenderPath } from './blender.js';

const fixtures = fileURLToPath(new URL('../fixtures/', import.meta.url));

export function readMovie(path: string, blender = blenderPath()): { frames: number; width: number; height: number } {
  const r = spawnSync(
    blender,
    ['-b', '--factory-startup', '--python-exit-code', '1', '--python', join(fixtures, 'read_movie.py'), '--', path],
    { encoding: 'utf8' },
  );
  const line = r.stdout.split('\n').find((l) => l.startsWith('MOVIE '));
  if (r.status !== 0 || !line) throw new Error(`Blender could not read ${path}: ${r.stdout.slice(-500)}\n${r.stderr.slice(-500)}`);
  return JSON.parse(line.slice(6));
}
