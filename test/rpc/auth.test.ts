import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { testSidecar, type TestSidecar } from '../helpers/sidecar.js';

/** Tries a WebSocket upgrade with the given headers; resolves with the HTTP status (101 when accepted). */
function tryUpgrade(port: number, path: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1',
      port,
      path,
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
        ...headers,
      },
    });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode ?? 0, body: '' });
    });
    req.on('response', (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('who may connect', () => {
  let sidecar: TestSidecar;
  let host: string;
  before(async () => {
    sidecar = await testSidecar({ allowOrigins: ['http://localhost:3000'] });
    host = `127.0.0.1:${sidecar.port}`;
  });
  after(() => sidecar.stop());

  const cases: Array<[string, (s: TestSidecar) => { path?: string; headers: Record<string, string> }, number, RegExp?]> = [
    ['no token', () => ({ headers: {} }), 401, /token is required/],
    ['a wrong token', () => ({ headers: { Authorization: 'Bearer not-the-token' } }), 401, /token is wrong/],
    ['a wrong token of the right length', (s) => ({ headers: { Authorization: `Bearer ${'x'.repeat(s.token.length)}` } }), 401],
    ['a malformed Authorization header', (s) => ({ headers: { Authorization: `Basic ${s.token}` } }), 401],
    ['a wrong ?token=', () => ({ path: '/rpc?token=nope', headers: {} }), 401],
    [
      'a foreign Origin with the right token',
      (s) => ({ headers: { Authorization: `Bearer ${s.token}`, Origin: 'https://evil.example' } }),
      403,
      /Origin/,
    ],
    ['a page on another localhost port', (s) => ({ headers: { Authorization: `Bearer ${s.token}`, Origin: 'http://127.0.0.1:1' } }), 403],
    [
      'a foreign Host (DNS rebinding)',
      (s) => ({ headers: { Authorization: `Bearer ${s.token}`, Host: `evil.example:${s.port}` } }),
      403,
      /Host/,
    ],
    [
      'a loopback Host on the wrong port',
      (s) => ({ headers: { Authorization: `Bearer ${s.token}`, Host: `127.0.0.1:${s.port + 1}` } }),
      403,
    ],
    ['localhost6 as Host', (s) => ({ headers: { Authorization: `Bearer ${s.token}`, Host: `localhost6:${s.port}` } }), 403],
    ['an octal loopback Host', (s) => ({ headers: { Authorization: `Bearer ${s.token}`, Host: `0177.0.0.1:${s.port}` } }), 403],
    ['a path other than /rpc', (s) => ({ path: '/other', headers: { Authorization: `Bearer ${s.token}` } }), 404],
    ['the right token', (s) => ({ headers: { Authorization: `Bearer ${s.token}` } }), 101],
    ['the right token as ?token=', (s) => ({ path: `/rpc?token=${encodeURIComponent(s.token)}`, headers: {} }), 101],
    ['localhost as Host', (s) => ({ headers: { Authorization: `Bearer ${s.token}`, Host: `localhost:${s.port}` } }), 101],
    ['[::1] as Host', (s) => ({ headers: { Authorization: `Bearer ${s.token}`, Host: `[::1]:${s.port}` } }), 101],
    [
      "the server's own Origin (websocket-client sends it)",
      (s) => ({ headers: { Authorization: `Bearer ${s.token}`, Origin: `http://127.0.0.1:${s.port}` } }),
      101,
    ],
    ['an allow-listed Origin', (s) => ({ headers: { Authorization: `Bearer ${s.token}`, Origin: 'http://localhost:3000' } }), 101],
  ];

  for (const [name, make, status, reason] of cases) {
    it(`${status === 101 ? 'accepts' : `refuses with ${status}`} ${name}`, async () => {
      const { path = '/rpc', headers } = make(sidecar);
      const answer = await tryUpgrade(sidecar.port, path, { Host: host, ...headers });
      assert.equal(answer.status, status, answer.body);
      if (reason) assert.match(JSON.parse(answer.body).error, reason);
    });
  }

  it('lets the accepted connection make calls', async () => {
    const ws = new WebSocket(`${sidecar.url}?token=${encodeURIComponent(sidecar.token)}`);
    await new Promise((r, j) => {
      ws.once('open', r);
      ws.once('error', j);
    });
    ws.send('{"jsonrpc":"2.0","id":1,"method":"sidecar.ping"}');
    const answer = await new Promise<string>((r) => ws.once('message', (d) => r(d.toString())));
    assert.deepEqual(JSON.parse(answer), { jsonrpc: '2.0', id: 1, result: { pong: true } });
    ws.close();
  });

  it('applies the Host check to plain HTTP endpoints too', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: sidecar.port, path: '/healthz', headers: { Host: 'evil.example' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(status, 403);
  });

  it('binds to loopback only by default', async () => {
    assert.equal(sidecar.host, '127.0.0.1');
    assert.match(sidecar.url, /^ws:\/\/127\.0\.0\.1:\d+\/rpc$/);
  });
});
