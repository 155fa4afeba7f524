/** What a client call can fail with: the sidecar said no (RpcCallError), or the connection is gone (ConnectionClosedError). */

export class RpcCallError extends Error {
  override readonly name = 'RpcCallError';
  constructor(
    readonly method: string,
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
  }
}

export class ConnectionClosedError extends Error {
  override readonly name = 'ConnectionClosedError';
}

export class CallTimeoutError extends Error {
  override readonly name = 'CallTimeoutError';
  constructor(
    readonly method: string,
    readonly timeoutMs: number,
  ) {
    super(`${method} got no answer within ${timeoutMs} ms`);
  }
}

export class SidecarNotFoundError extends Error {
  override readonly name = 'SidecarNotFoundError';
}
