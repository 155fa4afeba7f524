/**
 * The codes the protocol layer answers with itself: JSON-RPC 2.0's own (https://www.jsonrpc.org/specification#error_object)
 * and one of the range it leaves to servers. A domain error's code comes from its kind instead (error-codes.ts).
 */
export const RpcCode = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  InternalError: -32603,
  /** A result larger than the reply limit; the call (or batch) should ask for less. */
  ReplyTooLarge: -32006,
} as const;

export type RpcId = string | number | null;

export interface RpcErrorObject {
  code: number;
  message: string;
  data?: unknown;
}

export interface RpcResponse {
  jsonrpc: '2.0';
  id: RpcId;
  result?: unknown;
  error?: RpcErrorObject;
}

export function errorResponse(id: RpcId, code: number, message: string, data?: unknown): RpcResponse {
  const error: RpcErrorObject = data === undefined ? { code, message } : { code, message, data };
  return { jsonrpc: '2.0', id, error };
}
