/**
 * A job that names a sync channel renders or exports with that channel's Geometry Nodes values: they are taken once,
 * at submit, so every worker (and a resumed job) applies the same values, and the job records the revision it used.
 */
import { z } from 'zod';
import { InvalidInputError } from '../errors.js';
import { ChannelName, DEFAULT_CHANNEL, type SyncStore } from './store.js';

export const gnJobParam = z
  .strictObject({
    channel: ChannelName.default(DEFAULT_CHANNEL),
    revision: z.int().min(0).optional().describe('The channel revision to use; it must be the current one (default: the current one).'),
  })
  .describe("Apply a Geometry Nodes sync channel's values in the workers before rendering or exporting.");

export interface GnJobValues {
  channel: string;
  revision: number;
  entries: Array<{ key: { object: string; modifier: string; input: string }; type: string; value: unknown }>;
}

export function takeGnValues(store: SyncStore, param: z.output<typeof gnJobParam> | undefined): GnJobValues | undefined {
  if (!param) return undefined;
  const snap = store.get(param.channel);
  if (param.revision !== undefined && param.revision !== snap.revision) {
    throw new InvalidInputError(
      'gn.revision',
      `channel "${param.channel}" is at revision ${snap.revision}, not ${param.revision}; pass the current revision or leave it out`,
    );
  }
  return {
    channel: param.channel,
    revision: snap.revision,
    entries: snap.entries.map((e) => ({ key: e.key, type: e.type, value: e.value })),
  };
}
