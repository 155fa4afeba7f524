/** blend.inspect: what a .blend is, read from its header without starting Blender, and which Blender would run it. */
import { z } from 'zod';
import { method } from '../../protocol/method.js';

export const blendMethods = {
  'blend.inspect': method({
    summary:
      "Reads a .blend file's header (plain, gzip or zstd): the Blender version that saved it, its compression, whether it is a .blend at all, and which installed Blender a job on it would run on.",
    description:
      'Nothing is started: only the first bytes are read (and decompressed). `runsOn` is the Blender that render.submit, ' +
      'export.submit and pipeline.submit would pick for this file; `refused` says why they would refuse it instead (a file ' +
      'newer than every installed Blender, or not a .blend).',
    params: z.strictObject({
      path: z.string().min(1).describe('Absolute path of the file.'),
      blender: z.string().min(1).optional().describe('A pin to try, as the submit methods take it (a version such as "4.2" or a path).'),
    }),
    result: z.object({
      path: z.string(),
      isBlend: z.boolean(),
      version: z.string().optional().describe('major.minor of the Blender that saved it: "2.79", "3.4", "5.3".'),
      compression: z.enum(['none', 'gzip', 'zstd']).optional(),
      headerFormat: z.enum(['legacy', 'large']).optional().describe("legacy: BLENDER-v304; large: Blender 5's BLENDER17-01v0503."),
      problem: z.string().optional().describe('Why it is not a readable .blend: not a .blend, a truncated header, a damaged stream.'),
      runsOn: z.object({ path: z.string(), version: z.string(), why: z.string() }).optional(),
      refused: z.string().optional().describe('Why a job on this file would be refused at submit.'),
    }),
    errors: [{ kind: 'bad-input', message: 'path is not absolute, does not exist, or cannot be read' }],
    example: { path: '/assets/props.blend' },
  }),
};
