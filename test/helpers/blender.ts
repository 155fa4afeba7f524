/** Test helpers for real Blender: where it is, and small scenes built procedurally for a test. */
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { locateBlender } from '../../sidecar/domain/blender/locate.js';

const fixtures = fileURLToPath(new URL('../fixtures/', import.meta.url));

export function blenderPath(): string {
  return locateBlender().path;
}

export interface SceneOptions {
  frames?: number;
  size?: string;
  samples?: number;
  engine?: string;
  format?: string;
  collections?: boolean;
  gn?: boolean;
  /** The cube samples a generated float image of about this many MB (Cycles holds it while it renders). */
  textureMB?: number;
  /** A collection "Faulty" that fails validation: n-gons, scale 2 and a missing texture file; an open plane; a mesh without faces. */
  faults?: boolean;
}

/** Writes a small scene to `dir/name` with real Blender and returns its path. */
export function makeScene(dir: string, name: string, options: SceneOptions = {}, blender = blenderPath()): string {
  const out = join(dir, name);
  const args = ['-b', '--factory-startup', '--python-exit-code', '1', '--python', join(fixtures, 'make_scene.py'), '--', out];
  if (options.frames) args.push('--frames', String(options.frames));
  if (options.size) args.push('--size', options.size);
  if (options.samples) args.push('--samples', String(options.samples));
  if (options.engine) args.push('--engine', options.engine);
  if (options.format) args.push('--format', options.format);
  if (options.collections) args.push('--collections');
  if (options.gn) args.push('--gn');
  if (options.faults) args.push('--faults');
  if (options.textureMB) args.push('--texture-mb', String(options.textureMB));
  const r = spawnSync(blender, args, { encoding: 'utf8', env: { ...process.env, PYTHONPATH: fixtures } });
  if (r.status !== 0) throw new Error(`making ${name} failed: ${r.stdout}\n${r.stderr}`);
  return out;
}

/** Renders with plain `blender -b FILE -o PATTERN -s -e -a`, the reference the sidecar is compared against. */
export function renderPlain(
  blend: string,
  outPattern: string,
  start: number,
  end: number,
  blender = blenderPath(),
  options: { persistentData?: boolean } = {},
): void {
  // Arguments apply in order: the script that turns persistent data on must come before -a.
  const persistent = options.persistentData ? ['--python-expr', 'import bpy; bpy.context.scene.render.use_persistent_data = True'] : [];
  execFileSync(blender, ['-b', blend, ...persistent, '-o', outPattern, '-s', String(start), '-e', String(end), '-a'], { stdio: 'ignore' });
}
