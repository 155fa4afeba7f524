/**
 * Every error code the sidecar answers with, and the one place where a domain error's kind becomes a JSON-RPC code.
 *
 * The domain throws `DomainError`s that say what kind of failure happened (sidecar/domain/errors.ts); the dispatcher
 * answers them with the code mapped here, their message and data passed through as they are. The codes are a contract:
 * users' scripts and the add-on switch on them, so a code never changes meaning. docs/rpc.md's error list and the
 * method table's per-method errors are generated from this file.
 */
import { DomainError, type ErrorKind } from '../domain/errors.js';
import { RpcCode, type RpcErrorObject } from './codes.js';

export interface ErrorCodeDoc {
  code: number;
  /** The short name the docs give it. */
  title: string;
  /** When a client sees it, in a sentence; what to do where that is not obvious. */
  meaning: string;
}

/** Each domain error kind's code. `satisfies` makes a new kind without a code a compile error. */
const KIND_CODES = {
  'bad-input': {
    code: RpcCode.InvalidParams,
    title: 'invalid params',
    meaning:
      'a param is missing or wrong, a file it names cannot be used, or the call asks past a limit; ' +
      '`data.errors` lists `{field, message}`',
  },
  'no-blender': {
    code: -32001,
    title: 'Blender not found',
    meaning: 'no Blender to run, or the one named does not start or say its version',
  },
  'not-found': { code: -32002, title: 'not found', meaning: 'no such job (or farm job)' },
  'invalid-state': {
    code: -32003,
    title: 'invalid state',
    meaning: 'the thing exists but cannot do that now (a job that has already ended)',
  },
  unavailable: {
    code: -32005,
    title: 'unavailable',
    meaning: 'the sidecar is shutting down, a farm or Blender is not reachable, or the state folder cannot be written just now',
  },
  conflict: {
    code: -32010,
    title: 'revision conflict',
    meaning: "a Geometry Nodes entry changed after the write's baseRevision; nothing of the write was applied",
  },
} as const satisfies Record<ErrorKind, ErrorCodeDoc>;

/** The codes the protocol layer answers itself, and one kept only so that it keeps its meaning. */
const PROTOCOL_CODES: readonly ErrorCodeDoc[] = [
  { code: RpcCode.ParseError, title: 'parse error', meaning: 'the message is not valid JSON' },
  { code: RpcCode.InvalidRequest, title: 'invalid request', meaning: 'not a JSON-RPC 2.0 request, or a batch that is empty or too long' },
  { code: RpcCode.MethodNotFound, title: 'method not found', meaning: 'no method of that name (`rpc.discover` lists them)' },
  { code: RpcCode.InternalError, title: 'internal error', meaning: "a bug: the message gives a reference to look up in the sidecar's log" },
  { code: -32004, title: 'file not found', meaning: 'not sent by this version (a missing file is -32602 naming its field); reserved' },
  {
    code: RpcCode.ReplyTooLarge,
    title: 'reply too large',
    meaning:
      "a result, or a batch's results together, past the reply limit: that call is answered with this error, " + 'the others as they are',
  },
];

/** The code a domain error of this kind is answered with. */
export function codeOf(kind: ErrorKind): number {
  return KIND_CODES[kind].code;
}

/** Every code, JSON-RPC's own first (-32700 ... -32603), then the sidecar's own in order (-32001 ...). */
export function errorCodeList(): ErrorCodeDoc[] {
  const group = (c: number) => (c === RpcCode.ParseError ? 0 : c <= -32600 ? 1 : 2);
  return [...PROTOCOL_CODES, ...Object.values(KIND_CODES)].sort((a, b) => group(a.code) - group(b.code) || b.code - a.code);
}

/** A typed error of the protocol layer itself (bad params, ...): passed to the client with its own code. */
export class RpcError extends Error {
  override readonly name = 'RpcError';
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
  }
}

/** The error object a client receives for `err`, or undefined when `err` is not an expected one (a bug). */
export function rpcErrorOf(err: unknown): RpcErrorObject | undefined {
  if (err instanceof RpcError) return { code: err.code, message: err.message, data: err.data };
  if (err instanceof DomainError) return { code: codeOf(err.kind), message: err.message, data: err.data };
  return undefined;
}
