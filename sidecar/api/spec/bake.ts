/** bake.submit: texture bakes on the worker pool, every map checked before it counts. */
import { z } from 'zod';
import { method } from '../../protocol/method.js';
import { bakeParams } from '../../domain/bake/bake-request.js';
import { simulationParams } from '../../domain/bake/simulation-request.js';

export const bakeMethods = {
  'bake.submit': method({
    summary:
      "Queues texture bakes (normal, AO, diffuse, ...) of objects or a collection, one object per worker at a time; the artist's file is never changed.",
    description:
      'A planning task first checks the targets in the file (they exist, are meshes, have UV maps) and fails the job with a sentence naming ' +
      'each one that cannot be baked. Each worker adds image nodes to its own copy of the materials, bakes with Cycles, saves the maps ' +
      'into a staging folder, and the sidecar checks every map (a readable image of the asked size, with baked pixels) before moving it ' +
      "into place. The job result lists every map written (object, type, output); job.get has each map's size, bytes and coverage.",
    params: bakeParams,
    result: z.object({ jobId: z.string(), maps: z.number().int().describe('Maps per target object.') }),
    errors: [
      {
        kind: 'bad-input',
        message:
          'a field is wrong (data.errors names it): a bake type this Blender does not offer (the offered ones are listed), outputs that collide, a bad path',
      },
      { kind: 'no-blender', message: 'no Blender to run' },
    ],
    example: {
      blendFile: '/assets/crate.blend',
      objects: ['Crate_low'],
      selectedToActive: { sources: ['Crate_high'], extrusion: 0.05 },
      maps: [{ type: 'normal' }, { type: 'ao' }],
      size: 2048,
      output: '/textures/{object}_{map}.png',
    },
  }),
  'bake.simulation': method({
    summary: 'Queues Geometry Nodes simulation and Bake node bakes to disk (Blender 4.1 and later), one object per worker at a time.',
    description:
      "Each Geometry Nodes modifier of an object that holds simulation zones or Bake nodes is baked, in the worker's copy of the file, " +
      'into its own folder (output with {object} and {modifier}); a bake must have written frames before its folder replaces the one in place. ' +
      "A running Blender reads such a folder as soon as its modifier's bake folder points there with the bake target on disk, without reopening " +
      'its file: the add-on does this when the job completes. The result lists {object, modifier, directory, bakes}. A Blender without simulation ' +
      'zones (3.4) is refused with -32602 naming its version.',
    params: simulationParams,
    result: z.object({ jobId: z.string() }),
    errors: [
      {
        kind: 'bad-input',
        message:
          "a field is wrong (data.errors names it), or the sidecar's Blender is older than 4.1 and has no simulation zones or Bake nodes (the sentence names its version)",
      },
      { kind: 'no-blender', message: 'no Blender to run' },
    ],
    example: { blendFile: '/shots/smoke.blend', objects: ['Emitter'], output: '//bake/{object}_{modifier}/' },
  }),
};
