/**
 * Who may connect. Localhost is not private: any web page in the user's browser can open a WebSocket to 127.0.0.1,
 * and DNS rebinding lets a page reach loopback under a foreign host name. So, in this order:
 *   1. the Host header must name this server exactly (loopback names plus the port, or an allow-listed host): 403;
 *   2. an Origin header, when present, must be allow-listed (the server's own origins are): 403;
 *   3. the per-start token must be given (Authorization: Bearer, or ?token= for clients that cannot set headers),
 *      compared in constant time: 401.
 * A missing Origin is fine: Node's and Python's own clients send none, and the token still has to match.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export interface AccessPolicy {
  token: string;
  port: number;
  /** The host the server is bound to; loopback names are always accepted when it is loopback. */
  bindHost: string;
  /** Extra Origin values to accept, exactly as browsers send them (`http://localhost:3000`). */
  allowOrigins: readonly string[];
  /** Extra Host header values to accept (`myhost:8765`), for a server bound to another interface. */
  allowHosts: readonly string[];
}

export type AccessDecision = { ok: true } | { ok: false; status: 401 | 403; reason: string };

const LOOPBACK_NAMES = ['127.0.0.1', 'localhost', '[::1]'];

export function isLoopback(host: string): boolean {
  return host === '127.0.0.1' || host === 'localhost' || host === '::1' || host === '[::1]';
}

function acceptedHosts(policy: AccessPolicy): Set<string> {
  const hosts = new Set(LOOPBACK_NAMES.map((h) => `${h}:${policy.port}`));
  if (!isLoopback(policy.bindHost) && policy.bindHost !== '0.0.0.0' && policy.bindHost !== '::') {
    const h = policy.bindHost.includes(':') ? `[${policy.bindHost}]` : policy.bindHost;
    hosts.add(`${h}:${policy.port}`);
  }
  for (const h of policy.allowHosts) hosts.add(h.toLowerCase());
  return hosts;
}

function acceptedOrigins(policy: AccessPolicy): Set<string> {
  const origins = new Set(LOOPBACK_NAMES.map((h) => `http://${h}:${policy.port}`));
  for (const o of policy.allowOrigins) origins.add(o.replace(/\/$/, '').toLowerCase());
  return origins;
}

/** Checks Host and Origin only: what every HTTP request (metrics and health included) must pass. */
export function checkHostAndOrigin(req: IncomingMessage, policy: AccessPolicy): AccessDecision {
  const host = (req.headers.host ?? '').toLowerCase();
  if (!acceptedHosts(policy).has(host)) {
    return { ok: false, status: 403, reason: `Host "${host}" is not this sidecar's address` };
  }
  const origin = req.headers.origin;
  if (origin !== undefined && !acceptedOrigins(policy).has(origin.toLowerCase())) {
    return { ok: false, status: 403, reason: `Origin "${origin}" is not allowed (start the sidecar with --allow-origin to allow it)` };
  }
  return { ok: true };
}

/** Checks everything a WebSocket upgrade must pass. */
export function checkUpgrade(req: IncomingMessage, policy: AccessPolicy): AccessDecision {
  const hostAndOrigin = checkHostAndOrigin(req, policy);
  if (!hostAndOrigin.ok) return hostAndOrigin;
  const given = tokenOf(req);
  if (given === undefined) {
    return { ok: false, status: 401, reason: 'a token is required (Authorization: Bearer <token>, from sidecar.json)' };
  }
  if (!sameSecret(given, policy.token)) {
    return { ok: false, status: 401, reason: 'the token is wrong (the sidecar makes a new one each start: read sidecar.json again)' };
  }
  return { ok: true };
}

function tokenOf(req: IncomingMessage): string | undefined {
  const auth = req.headers.authorization;
  if (auth !== undefined) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    return m ? m[1] : '';
  }
  const url = new URL(req.url ?? '/', 'http://x');
  return url.searchParams.get('token') ?? undefined;
}

/** Constant-time comparison: hashing first makes the lengths equal, so neither content nor length leaks. */
function sameSecret(a: string, b: string): boolean {
  const da = createHash('sha256').update(a).digest();
  const db = createHash('sha256').update(b).digest();
  return timingSafeEqual(da, db);
}
