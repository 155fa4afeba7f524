/** export.submit and export.batch: heavy exports on the worker pool, every output checked before it counts. */
import { z } from 'zod';
import { method, type ErrorSpec } from '../../protocol/method.js';
import { batchParams, exportParams } from '../../domain/export/export-request.js';

const errors: ErrorSpec[] = [
  {
    kind: 'bad-input',
    message:
      'a field is wrong (data.errors names it): an unknown format or exporter option (the accepted ones are listed), a bad output path',
  },
  { kind: 'no-blender', message: 'no Blender to run' },
];

export const exportMethods = {
  'export.submit': method({
    summary: 'Queues an export of objects, a collection or the whole scene to one file, checked before it counts.',
    description:
      'A GLB/glTF is parsed and the result reports its meshes, triangles, materials and size; other formats report size ' +
      'and what Blender counted. An export that wrote nothing (an empty selection) fails with that sentence.',
    params: exportParams,
    result: z.object({ jobId: z.string() }),
    errors,
    example: { blendFile: '/assets/props.blend', format: 'glb', output: '/exports/crate.glb', scope: { collection: 'Crate' } },
  }),
  'export.batch': method({
    summary:
      'Queues one job with many outputs, spread across the pool (the file opened once per worker); a failing item does not stop the others.',
    params: batchParams,
    result: z.object({ jobId: z.string(), items: z.number().int() }),
    errors,
    example: {
      blendFile: '/assets/props.blend',
      items: [
        { collection: 'Crate', format: 'glb', output: '/exports/crate.glb' },
        { collection: 'Barrel', format: 'fbx', output: '/exports/barrel.fbx' },
      ],
    },
  }),
};
