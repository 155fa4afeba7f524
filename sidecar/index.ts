/** The package's public face: the typed client, an embeddable sidecar, and the method table's types. */
export { SidecarClient, type ClientOptions } from './client/sidecar-client.js';
export { RpcCallError, ConnectionClosedError, CallTimeoutError, SidecarNotFoundError } from './client/errors.js';
export { startSidecar, type SidecarOptions, type RunningSidecar } from './app.js';
export { methods, notifications } from './api/spec/index.js';
export type { MethodName, Params, Result, NotificationName, NotificationParams } from './api/spec/index.js';
export { VERSION, PROTOCOL_VERSION } from './version.js';
