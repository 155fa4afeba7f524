/** render.submit: frames of a .blend rendered across the worker pool. */
import { z } from 'zod';
import { method } from '../../protocol/method.js';
import { renderParams } from '../../domain/render/render-request.js';

export const renderMethods = {
  'render.submit': method({
    summary: 'Queues a render job: frames spread over the warm Blender workers, each frame checked before it counts.',
    description:
      'Frames already on disk (non-empty) are skipped unless overwrite. A frame is written to a hidden partial file, ' +
      'checked to be a complete image, then renamed into place. Follow it with job.wait, job.get, or the job.progress ' +
      'and job.state notifications.',
    params: renderParams,
    result: z.object({ jobId: z.string() }),
    errors: [
      { kind: 'bad-input', message: 'a field is wrong (data.errors names it): a missing file, a bad frame list, a relative output' },
      { kind: 'no-blender', message: 'no Blender to run' },
    ],
    example: { blendFile: '/projects/shot010/shot010.blend', frames: '1-24', output: '/renders/shot010/####.png', samples: 32 },
  }),
};
