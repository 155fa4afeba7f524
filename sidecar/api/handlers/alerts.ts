/** Handler for alert.list. */
import type { AlertCenter } from '../../domain/alerts/alerts.js';
import type { Handlers } from '../../protocol/method.js';
import type { CallContext } from '../session.js';
import type { alertMethods } from '../spec/alerts.js';

export function alertHandlers(alerts: AlertCenter): Handlers<typeof alertMethods, CallContext> {
  return {
    'alert.list': ({ levels, includeResolved, limit }) => ({ alerts: alerts.list({ levels, includeResolved, limit }) }),
  };
}
