/**
 * The pipe protocol between the sidecar and its Blender workers: each message is a 4-byte big-endian length and that
 * many bytes of UTF-8 JSON (sidecar/worker/sidecar_worker/framing.py is the other end). A decoder keeps partial
 * messages between chunks, since a pipe delivers bytes, not messages.
 */
const MAX_WORKER_MESSAGE = 64 * 1024 * 1024;

export function encodeMessage(message: unknown): Buffer {
  const body = Buffer.from(JSON.stringify(message), 'utf8');
  const head = Buffer.alloc(4);
  head.writeUInt32BE(body.length, 0);
  return Buffer.concat([head, body]);
}

export class MessageDecoder {
  private buffer: Buffer = Buffer.alloc(0);

  /** Feeds a chunk; returns every message it completed, in order. Throws on a length over the limit. */
  push(chunk: Buffer): unknown[] {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    const out: unknown[] = [];
    while (this.buffer.length >= 4) {
      const length = this.buffer.readUInt32BE(0);
      if (length > MAX_WORKER_MESSAGE) throw new Error(`worker sent a ${length}-byte message, over the limit`);
      if (this.buffer.length < 4 + length) break;
      out.push(JSON.parse(this.buffer.subarray(4, 4 + length).toString('utf8')));
      this.buffer = this.buffer.subarray(4 + length);
    }
    return out;
  }
}
