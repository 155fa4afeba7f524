/** Server-to-client notifications, by topic. A client receives a topic after `events.subscribe`. */
import { z } from 'zod';
import { notification } from '../../protocol/method.js';

export const notifications = {
  'sidecar.shutdown': notification({
    summary: 'The sidecar is stopping cleanly; clients should reconnect through sidecar.json when it is back.',
    params: z.object({ reason: z.string() }),
  }),
};
