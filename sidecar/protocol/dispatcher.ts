/**
 * JSON-RPC 2.0 dispatch: text in, text (or nothing) out. It never sees a socket.
 *
 * The envelope is checked here (see envelope.ts); params are validated with the method's zod schema and refused with
 * -32602 naming each bad field; a domain error passes through with the code of its kind (error-codes.ts), message and
 * data as they are; anything else is a bug and becomes -32603 with a safe message while the stack goes to the log. Single requests are run by json-rpc-2.0's server.
 */
import { JSONRPCServer, type JSONRPCRequest } from 'json-rpc-2.0';
import type { z } from 'zod';
import { RpcCode, errorResponse, type RpcId, type RpcResponse } from './codes.js';
import { RpcError, rpcErrorOf } from './error-codes.js';
import { classifyRequest } from './envelope.js';
import type { Handlers, MethodTable } from './method.js';
import { formatIssues } from './issues.js';

export type CallOutcome = 'ok' | 'error' | 'invalid_params' | 'method_not_found' | 'invalid_request' | 'internal_error';

export interface DispatcherOptions {
  /** Most requests one batch may carry; a larger batch is refused whole with -32600. */
  maxBatch?: number;
  /**
   * Most bytes one reply (a whole batch's replies together) may take. A call whose result would pass it is answered
   * with a -32006 error instead, each call of a batch on its own, so no reply is silently lost. Default 80 MiB.
   */
  maxReplyBytes?: number;
  /** Called once per request that reached a method (or failed to), for metrics. */
  onCall?: (method: string, outcome: CallOutcome, seconds: number) => void;
  /** Where unexpected errors go, with their stack. */
  logInternalError?: (method: string, err: unknown, ref: string) => void;
}

interface ServerParams<Ctx> {
  ctx: Ctx;
}

let internalRef = 0;

export class Dispatcher<T extends MethodTable, Ctx> {
  private readonly server: JSONRPCServer<ServerParams<Ctx>>;
  private readonly maxBatch: number;

  constructor(
    private readonly table: T,
    handlers: Handlers<T, Ctx>,
    private readonly options: DispatcherOptions = {},
  ) {
    this.maxBatch = options.maxBatch ?? 100;
    // Errors are logged by mapError (with a reference the client sees); the library's own listener would print twice.
    this.server = new JSONRPCServer<ServerParams<Ctx>>({ errorListener: () => {} });
    this.server.mapErrorToJSONRPCErrorResponse = (id, err) => this.mapError(id, err) as never;
    for (const name of Object.keys(table)) {
      const spec = table[name]!;
      const handler = handlers[name as keyof T] as (p: unknown, ctx: Ctx) => unknown;
      if (typeof handler !== 'function') throw new Error(`method ${name} has no handler`);
      this.server.addMethod(name, async (params, sp) => {
        const result = await handler(parseParams(spec.params, params), sp.ctx);
        return result === undefined ? null : result;
      });
    }
  }

  /** The method names this dispatcher answers. */
  get methodNames(): string[] {
    return Object.keys(this.table);
  }

  /**
   * Handles one incoming message. Returns the response text, or null when nothing must be sent (a notification, or a
   * batch of only notifications).
   */
  async handleText(text: string, ctx: Ctx): Promise<string | null> {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return JSON.stringify(errorResponse(null, RpcCode.ParseError, 'parse error: the message is not valid JSON'));
    }
    const response = await this.handleValue(value, ctx);
    if (response === null) return null;
    return stringifyWithin(response, this.options.maxReplyBytes ?? DEFAULT_MAX_REPLY_BYTES);
  }

  async handleValue(value: unknown, ctx: Ctx): Promise<RpcResponse | RpcResponse[] | null> {
    if (!Array.isArray(value)) return this.handleOne(value, ctx);
    if (value.length === 0) {
      return errorResponse(null, RpcCode.InvalidRequest, 'invalid request: a batch must not be empty');
    }
    if (value.length > this.maxBatch) {
      return errorResponse(
        null,
        RpcCode.InvalidRequest,
        `invalid request: a batch may carry at most ${this.maxBatch} requests, this one has ${value.length}`,
      );
    }
    const responses = await Promise.all(value.map((v) => this.handleOne(v, ctx)));
    const sent = responses.filter((r): r is RpcResponse => r !== null);
    return sent.length === 0 ? null : sent;
  }

  private async handleOne(value: unknown, ctx: Ctx): Promise<RpcResponse | null> {
    const started = process.hrtime.bigint();
    const req = classifyRequest(value);
    if (req.kind === 'malformed') {
      this.observe('invalid', 'invalid_request', started);
      return errorResponse(req.id, RpcCode.InvalidRequest, `invalid request: ${req.reason}`);
    }
    const isNotification = req.id === undefined;
    // A Map lookup, not `in`: names like "constructor" or "__proto__" must not find anything.
    if (!this.server.hasMethod(req.method) || !Object.hasOwn(this.table, req.method)) {
      this.observe('unknown', 'method_not_found', started);
      if (isNotification) return null;
      return errorResponse(req.id!, RpcCode.MethodNotFound, `method not found: "${truncate(req.method)}"`);
    }
    const request: JSONRPCRequest = { jsonrpc: '2.0', method: req.method, params: req.params as never };
    if (!isNotification) request.id = req.id!;
    const response = (await this.server.receive(request, { ctx })) as RpcResponse | null;
    const outcome: CallOutcome = !response?.error
      ? 'ok'
      : response.error.code === RpcCode.InvalidParams
        ? 'invalid_params'
        : response.error.code === RpcCode.InternalError
          ? 'internal_error'
          : 'error';
    this.observe(req.method, outcome, started);
    return isNotification ? null : response;
  }

  private observe(method: string, outcome: CallOutcome, started: bigint) {
    this.options.onCall?.(method, outcome, Number(process.hrtime.bigint() - started) / 1e9);
  }

  private mapError(id: RpcId, err: unknown): RpcResponse {
    const expected = rpcErrorOf(err);
    if (expected) return errorResponse(id, expected.code, expected.message, expected.data);
    const ref = `E${Date.now().toString(36)}${(++internalRef).toString(36)}`;
    this.options.logInternalError?.('', err, ref);
    return errorResponse(id, RpcCode.InternalError, `internal error (reference ${ref}); the sidecar's log has the details`);
  }
}

function parseParams(schema: z.ZodType, params: unknown): unknown {
  if (Array.isArray(params)) {
    throw new RpcError(RpcCode.InvalidParams, 'invalid params: pass named parameters (a JSON object), not an array', {
      errors: [{ field: '(params)', message: 'expected an object of named parameters' }],
    });
  }
  const result = schema.safeParse(params ?? {});
  if (result.success) return result.data;
  const errors = formatIssues(result.error.issues);
  const message = `invalid params: ${errors.map((e) => `${e.field}: ${e.message}`).join('; ')}`;
  throw new RpcError(RpcCode.InvalidParams, message, { errors });
}

const DEFAULT_MAX_REPLY_BYTES = 80 * 2 ** 20;

/**
 * The reply text, one response at a time so a batch never becomes one string past the budget. A result that cannot
 * be serialised (a cycle, a BigInt, an echo nested deeper than JSON.stringify's recursion allows) fails that one
 * response; a result past the budget fails too, with a sentence; the others of a batch are answered as they are.
 * Once the budget is spent, the batch's later results are not even serialised: a stalled event loop would cost every
 * client, not just this one.
 */
function stringifyWithin(response: RpcResponse | RpcResponse[], maxBytes: number): string {
  const batch = Array.isArray(response);
  let left = maxBytes;
  const tooLarge = (r: RpcResponse, size?: number) =>
    JSON.stringify(
      errorResponse(
        r.id,
        RpcCode.ReplyTooLarge,
        batch
          ? `this call's result did not fit in the batch's ${Math.round(maxBytes / 2 ** 20)} MiB reply limit; ` +
              'send it again on its own or in a smaller batch'
          : `the result would be ${Math.round((size ?? 0) / 2 ** 20)} MiB, over the ${Math.round(maxBytes / 2 ** 20)} MiB ` +
              "reply limit; ask for less (a channel's changes with gn.subscribe sinceRevision, a job list with a limit)",
        { limit: 'replyBytes', max: maxBytes },
      ),
    );
  const one = (r: RpcResponse) => {
    if (left <= 0 && r.error === undefined) return tooLarge(r);
    let text: string;
    try {
      text = JSON.stringify(r);
    } catch {
      // A string over V8's length limit lands here too: it was too large either way.
      text = JSON.stringify(errorResponse(r.id, RpcCode.InternalError, 'internal error: the result could not be serialised'));
    }
    if (text.length > left && r.error === undefined) {
      const size = text.length;
      left = 0;
      return tooLarge(r, size);
    }
    left -= text.length;
    return text;
  };
  return batch ? `[${response.map(one).join(',')}]` : one(response);
}

function truncate(s: string): string {
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}
