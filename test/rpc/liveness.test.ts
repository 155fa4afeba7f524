import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { testSidecar } from '../helpers/sidecar.js';

describe('dead and slow clients', () => {
  it('drops a client that stops answering pings, and keeps one that answers', async () => {
    const s = await testSidecar({ limits: { pingIntervalMs: 200 } });
    try {
      const open = (autoPong: boolean) =>
        new Promise<WebSocket>((resolve, reject) => {
          const ws = new WebSocket(s.url, { headers: { Authorization: `Bearer ${s.token}` }, autoPong });
          ws.once('open', () => resolve(ws));
          ws.once('error', reject);
        });
      const dead = await open(false);
      const alive = await open(true);
      const closed = new Promise<number>((r) => dead.once('close', (code) => r(code)));
      assert.equal(await closed, 1006, 'terminated without a close handshake');
      await new Promise((r) => setTimeout(r, 600));
      assert.equal(alive.readyState, WebSocket.OPEN, 'a client that answers pings stays');
      alive.close();
    } finally {
      await s.stop();
    }
  });

  it('closes a client that leaves too much unread, without slowing the others', async () => {
    const s = await testSidecar({ limits: { maxBufferedBytes: 256 * 1024 } });
    try {
      const slow = new WebSocket(s.url, { headers: { Authorization: `Bearer ${s.token}` } });
      await new Promise((r) => slow.once('open', r));
      // Stop reading: the kernel buffers fill, then the sidecar's own buffer for this client grows.
      (slow as unknown as { _socket: { pause(): void } })._socket.pause();
      const echo = 'x'.repeat(64 * 1024);
      for (let i = 0; i < 400; i++) slow.send(JSON.stringify({ jsonrpc: '2.0', id: i, method: 'sidecar.ping', params: { echo } }));
      const fast = await s.client();
      let closedCode: number | undefined;
      slow.once('close', (code) => (closedCode = code));
      for (let i = 0; i < 100 && closedCode === undefined; i++) {
        assert.deepEqual(await fast.call('sidecar.ping', { echo: i }), { pong: true, echo: i });
        await new Promise((r) => setTimeout(r, 50));
        if (i === 20) (slow as unknown as { _socket: { resume(): void } })._socket.resume();
      }
      // 1008 when the close frame gets through the backlog, 1006 when the sidecar had to cut the connection.
      assert.ok(closedCode === 1008 || closedCode === 1006, `the slow client was disconnected (code ${closedCode})`);
    } finally {
      await s.stop();
    }
  });
});
