/**
 * The JSON-RPC 2.0 request envelope, checked by the letter before anything else sees it.
 *
 * json-rpc-2.0 (the library) trusts its input: `[null]` makes it throw, a batch of one comes back unwrapped, object ids
 * pass. So every incoming value is classified here first, and only well-formed single requests go further.
 */
import type { RpcId } from './codes.js';

export interface WellFormedRequest {
  kind: 'request';
  /** Absent for a notification: no response may be sent. */
  id: RpcId | undefined;
  method: string;
  params: unknown;
}

export interface MalformedRequest {
  kind: 'malformed';
  /** The request's id when it could be read, else null (the spec says so). */
  id: RpcId;
  reason: string;
}

export type Classified = WellFormedRequest | MalformedRequest;

const has = (o: object, k: string) => Object.hasOwn(o, k);

function isValidId(v: unknown): v is RpcId {
  return v === null || typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v));
}

export function classifyRequest(value: unknown): Classified {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { kind: 'malformed', id: null, reason: 'a request must be a JSON object' };
  }
  const req = value as Record<string, unknown>;
  const idPresent = has(req, 'id');
  const id = idPresent && isValidId(req.id) ? req.id : null;
  if (idPresent && !isValidId(req.id)) {
    return { kind: 'malformed', id: null, reason: '"id" must be a string, a number or null' };
  }
  if (req.jsonrpc !== '2.0') {
    return { kind: 'malformed', id, reason: '"jsonrpc" must be exactly "2.0"' };
  }
  if (typeof req.method !== 'string') {
    return { kind: 'malformed', id, reason: '"method" must be a string' };
  }
  if (has(req, 'params')) {
    const p = req.params;
    if (p === null || typeof p !== 'object') {
      return { kind: 'malformed', id, reason: '"params" must be an object or an array when present' };
    }
  }
  return { kind: 'request', id: idPresent ? (req.id as RpcId) : undefined, method: req.method, params: req.params };
}
