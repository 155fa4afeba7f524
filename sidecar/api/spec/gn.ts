/**
 * Geometry Nodes state shared between clients: channels of modifier input values with revision-checked writes.
 *
 * Values travel as `type` beside `value` (see sidecar/domain/sync/value.ts), in entries, changes and conflict data
 * alike; a write may leave `type` out. A client keeps the revision it last saw, writes with it as `baseRevision`, and on -32010 takes
 * `data.current` (or resyncs), then retries.
 */
import { z } from 'zod';
import { ChannelName, DEFAULT_CHANNEL } from '../../domain/sync/store.js';
import { AnyValue, ChangeSchema, EntryKey, ValueType, refineTypedValue } from '../../domain/sync/value.js';
import { method, notification, type ErrorSpec } from '../../protocol/method.js';

const Channel = ChannelName.default(DEFAULT_CHANNEL);
const Revision = z.int().min(0);
const ClientName = z
  .string()
  .min(1)
  .max(64)
  .optional()
  .describe('Who is writing, recorded as the entries\' changedBy (for example "blender:alice"). Default: "connection-<id>".');
const BaseRevision = Revision.describe(
  'The channel revision this write is based on (from gn.get, gn.subscribe, gn.changed or a previous write). ' +
    'Refused with -32010 when an entry it touches changed after it.',
);

const SyncEntrySchema = z.object({
  key: EntryKey,
  type: ValueType,
  value: AnyValue,
  revision: z.int().describe('The channel revision at which this entry last changed.'),
  changedBy: z.string(),
  changedAt: z.string().describe('ISO 8601.'),
});

const Snapshot = z.object({
  revision: z.int(),
  entries: z.array(SyncEntrySchema).describe('Every entry, in order of last change.'),
});

const Epoch = z.string().describe("Names this channel's history; a client seeing another one must resync from a snapshot.");

const conflictError: ErrorSpec = {
  kind: 'conflict',
  message:
    'revision conflict: an entry changed after baseRevision; nothing was applied. data: {channel, key, ' +
    'current: {type, value, revision, changedBy}, channelRevision} (gn.setMany adds conflicts: [{key, current}])',
};
const invalidError: ErrorSpec = {
  kind: 'bad-input',
  message:
    'invalid params: a value that does not fit its type, a type other than the one the entry holds ' +
    '(data.expectedType), a baseRevision ahead of the channel, or a bad channel name',
};
const saveError: ErrorSpec = { kind: 'unavailable', message: 'the state could not be saved; the write was not applied' };

export const gnMethods = {
  'gn.set': method({
    summary: 'Sets one Geometry Nodes input value, unless it changed after baseRevision.',
    description:
      'The entry is keyed by object, modifier and input name. Its first write fixes its type. Answers the revision of ' +
      'this write (the current revision when the value was already there: nothing changes then).',
    params: z
      .strictObject({
        channel: Channel,
        key: EntryKey,
        type: ValueType.optional().describe('Optional: see the description.'),
        value: AnyValue,
        baseRevision: BaseRevision,
        clientName: ClientName,
      })
      .superRefine(refineTypedValue),
    result: z.object({ revision: z.int() }),
    errors: [conflictError, invalidError, saveError],
    example: {
      key: { object: 'Cube', modifier: 'GeometryNodes', input: 'Count' },
      value: 12,
      baseRevision: 41,
    },
  }),
  'gn.setMany': method({
    summary: 'Sets several values atomically, at one revision: all of them, or none when any conflicts.',
    params: z.strictObject({
      channel: Channel,
      changes: z.array(ChangeSchema).min(1).max(1000).describe('Each {key, type?, value} (type as in gn.set); one entry at most once.'),
      baseRevision: BaseRevision,
      clientName: ClientName,
    }),
    result: z.object({ revision: z.int() }),
    errors: [conflictError, invalidError, saveError],
    example: {
      changes: [
        { key: { object: 'Cube', modifier: 'GeometryNodes', input: 'Offset' }, type: 'vector', value: [0, 0, 1.5] },
        { key: { object: 'Cube', modifier: 'GeometryNodes', input: 'Material' }, type: 'material', value: 'Steel' },
      ],
      baseRevision: 41,
    },
  }),
  'gn.get': method({
    summary: 'A snapshot of a channel: its revision and every entry.',
    params: z.strictObject({ channel: Channel }),
    result: Snapshot.extend({ channel: z.string(), epoch: Epoch }),
    errors: [invalidError],
    example: { channel: 'default' },
  }),
  'gn.subscribe': method({
    summary: 'Catches up on a channel, then receives gn.changed for every later write on this connection.',
    description:
      'With sinceRevision (and the epoch it came from), answers the changes after it, in revision order; when they are ' +
      "no longer kept, when sinceRevision is ahead of the channel or the epoch differs (the sidecar's state was " +
      'replaced), or without sinceRevision, answers a snapshot instead, which replaces what the client holds. ' +
      "gn.changed then carries every write after the answer's revision, in order, none at or before it. " +
      'After a reconnect, subscribe again with the last revision applied.',
    params: z.strictObject({
      channel: Channel,
      sinceRevision: Revision.optional().describe('The last revision this client applied.'),
      epoch: Epoch.optional(),
    }),
    result: z.union([
      z.object({
        channel: z.string(),
        epoch: Epoch,
        revision: z.int(),
        changes: z.array(SyncEntrySchema).describe('Every change after sinceRevision, in revision order.'),
      }),
      z.object({
        channel: z.string(),
        epoch: Epoch,
        revision: z.int(),
        snapshot: Snapshot,
        reason: z
          .enum(['requested', 'too-old', 'other-history'])
          .describe('Why a snapshot: no sinceRevision; changes no longer kept; another epoch or a revision ahead.'),
      }),
    ]),
    errors: [invalidError],
    example: { channel: 'default', sinceRevision: 41 },
  }),
  'gn.deleteChannel': method({
    summary: 'Deletes a channel: its entries and history, durably, freeing its slot.',
    description:
      'Only writes take channel slots (reading or following a name never written does not); this gives one back. ' +
      'Followers of the channel hear gn.channelDeleted and keep following it: a later write starts it again at ' +
      'revision 1 under a new epoch.',
    params: z.strictObject({ channel: ChannelName, clientName: ClientName }),
    result: z.object({ deleted: z.boolean().describe('False when the channel held nothing (never written, or deleted already).') }),
    errors: [invalidError, saveError],
    example: { channel: 'shot010' },
  }),
  'gn.unsubscribe': method({
    summary: 'Stops gn.changed for a channel on this connection (for every channel when none is given).',
    params: z.strictObject({ channel: ChannelName.optional() }),
    result: z.object({ channels: z.array(z.string()).describe('The channels this connection still follows.') }),
  }),
};

export const gnNotifications = {
  'gn.channelDeleted': notification({
    summary: 'A channel followed with gn.subscribe was deleted (gn.deleteChannel): drop what you hold of it.',
    params: z.object({
      channel: z.string(),
      epoch: Epoch.describe('The epoch the channel will have when written again.'),
    }),
  }),
  'gn.changed': notification({
    summary: 'One accepted write on a channel followed with gn.subscribe (not events.subscribe), in revision order.',
    params: z.object({
      channel: z.string(),
      revision: z.int(),
      changes: z.array(SyncEntrySchema).describe('The entries this write changed (a gn.setMany gives several).'),
    }),
  }),
};
