/** Test helpers: an in-process sidecar on a free port with its own temporary state folder, and raw clients. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { startSidecar, type RunningSidecar, type SidecarOptions } from '../../sidecar/app.js';
import { SidecarClient } from '../../sidecar/client/sidecar-client.js';

export function tempDir(prefix = 'sidecar-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export interface TestSidecar extends RunningSidecar {
  client(): Promise<SidecarClient>;
  raw(): Promise<RawClient>;
  stop(): Promise<void>;
}

export async function testSidecar(options: SidecarOptions = {}): Promise<TestSidecar> {
  const stateDir = options.stateDir ?? tempDir();
  const sidecar = await startSidecar({ port: 0, logToStderr: false, ...options, stateDir });
  const clients: Array<{ close(): Promise<void> | void }> = [];
  return {
    ...sidecar,
    close: sidecar.close,
    async client() {
      const c = await SidecarClient.connect({ stateDir });
      clients.push(c);
      return c;
    },
    async raw() {
      const c = await RawClient.open(sidecar.url, sidecar.token);
      clients.push(c);
      return c;
    },
    async stop() {
      for (const c of clients) await c.close();
      await sidecar.close('test finished');
      if (!options.stateDir) rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

/** A WebSocket client that sends exactly the text it is given and hands back exactly what arrives. */
export class RawClient {
  private readonly queue: string[] = [];
  private waiter: ((s: string) => void) | undefined;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (d) => {
      const text = d.toString();
      if (this.waiter) {
        const w = this.waiter;
        this.waiter = undefined;
        w(text);
      } else this.queue.push(text);
    });
  }

  static open(url: string, token: string, headers: Record<string, string> = {}): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { headers: { Authorization: `Bearer ${token}`, ...headers } });
      ws.once('open', () => resolve(new RawClient(ws)));
      ws.once('error', reject);
    });
  }

  send(text: string) {
    this.ws.send(text);
  }

  next(timeoutMs = 2000): Promise<string> {
    const queued = this.queue.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.waiter = undefined;
        reject(new Error(`no message within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiter = (s) => {
        clearTimeout(t);
        resolve(s);
      };
    });
  }

  /** Sends and parses the answer. */
  async exchange(text: string): Promise<any> {
    this.send(text);
    return JSON.parse(await this.next());
  }

  /** Resolves true if nothing arrives within the window (for notifications, which get no answer). */
  async silentFor(ms: number): Promise<boolean> {
    try {
      await this.next(ms);
      return false;
    } catch {
      return true;
    }
  }

  close() {
    this.ws.close();
  }
}
