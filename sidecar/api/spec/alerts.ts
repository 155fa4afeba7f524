/** Alerts: structured, deduplicated conditions worth a person's attention. */
import { z } from 'zod';
import { method, notification } from '../../protocol/method.js';

const Level = z.enum(['INFO', 'WARN', 'ERROR']);

const AlertSchema = z.object({
  id: z.number().int(),
  key: z.string().describe('Stable for one condition (e.g. "disk-low:..."), so updates replace rather than repeat.'),
  level: Level,
  what: z.string(),
  where: z.string(),
  action: z.string().describe('What to do about it.'),
  since: z.string(),
  updatedAt: z.string(),
  count: z.number().int().describe('How many times it was raised since it began.'),
  resolvedAt: z.string().optional(),
});

export const alertMethods = {
  'alert.list': method({
    summary: 'Alerts, newest first: open ones by default.',
    params: z.strictObject({
      levels: z.array(Level).optional(),
      includeResolved: z.boolean().default(false),
      limit: z.number().int().min(1).max(500).default(100),
    }),
    result: z.object({ alerts: z.array(AlertSchema) }),
  }),
};

export const alertNotifications = {
  alert: notification({
    summary: 'An alert was raised, updated or resolved (resolvedAt set).',
    params: AlertSchema,
  }),
};
