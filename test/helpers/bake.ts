/** Bake test helpers: the game-asset scene, and the same bake done by hand in plain Blender. */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { blenderPath } from './blender.js';

const fixtures = fileURLToPath(new URL('../fixtures/', import.meta.url));

export function runBlender(args: string[], blender = blenderPath()): string {
  const r = spawnSync(blender, ['-b', '--factory-startup', '--python-exit-code', '1', ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`blender ${args.join(' ')} failed: ${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** The scene of fixtures/bake_scene.py in `dir/asset.blend`: Low/High pair, CrateA, CrateB, NoUV. */
export function makeBakeScene(dir: string, blender = blenderPath()): string {
  const out = join(dir, 'asset.blend');
  runBlender(['--python', join(fixtures, 'bake_scene.py'), '--', out], blender);
  return out;
}

/** fixtures/bake_by_hand.py: a selected-to-active bake of `type` from `source` onto `target`, as an artist does it. */
export function bakeByHand(
  blend: string,
  o: { target: string; source: string; type: string; size: number; margin: number; extrusion: number; samples: number; out: string },
  blender = blenderPath(),
): void {
  runBlender(
    [
      blend,
      '--python',
      join(fixtures, 'bake_by_hand.py'),
      '--',
      o.target,
      o.source,
      o.type,
      String(o.size),
      String(o.margin),
      String(o.extrusion),
      String(o.samples),
      o.out,
    ],
    blender,
  );
}
