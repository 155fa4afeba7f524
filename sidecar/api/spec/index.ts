/**
 * The one method table: every JSON-RPC method the sidecar answers, and every notification it sends. Handlers,
 * validation, the typed client, `rpc.discover` and docs/rpc.md are all derived from it.
 */
import type { NotificationParamsOf, ParamsOf, ResultOf } from '../../protocol/method.js';
import { coreMethods } from './core.js';
import { jobMethods, jobNotifications } from './jobs.js';
import { renderMethods } from './render.js';
import { exportMethods } from './export.js';
import { bakeMethods } from './bake.js';
import { pipelineMethods } from './pipeline.js';
import { blendMethods } from './blend.js';
import { gnMethods, gnNotifications } from './gn.js';
import { alertMethods, alertNotifications } from './alerts.js';
import { notifications as allNotifications } from './notifications.js';

export const methods = {
  ...coreMethods,
  ...jobMethods,
  ...renderMethods,
  ...exportMethods,
  ...bakeMethods,
  ...pipelineMethods,
  ...blendMethods,
  ...gnMethods,
  ...alertMethods,
};

export const notifications = {
  ...allNotifications,
  ...jobNotifications,
  ...gnNotifications,
  ...alertNotifications,
};

export type Methods = typeof methods;
export type MethodName = keyof Methods;
export type Params<M extends MethodName> = ParamsOf<Methods, M>;
export type Result<M extends MethodName> = ResultOf<Methods, M>;
export type Notifications = typeof notifications;
export type NotificationName = keyof Notifications;
export type NotificationParams<N extends NotificationName> = NotificationParamsOf<Notifications, N>;
