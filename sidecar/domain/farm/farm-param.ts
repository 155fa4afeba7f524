/** The `farm` field of render.submit (its own module: render-request.ts and the farm executor both need it). */
import { z } from 'zod';

export const farmParam = z
  .strictObject({
    kind: z.literal('flamenco'),
    url: z.string().url().optional().describe('The Flamenco manager (default: the sidecar\'s --flamenco-url).'),
    chunkSize: z.number().int().min(1).max(1000).optional().describe('Frames per farm task (default 1).'),
  })
  .describe('Send the job to a render farm instead of the local pool (frames and scene are then required).');

export type FarmParam = z.output<typeof farmParam>;
