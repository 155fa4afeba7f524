/**
 * Which Blender saved a .blend, read from the file's first bytes without starting Blender. A .blend starts with
 * "BLENDER", then either the old 12-byte header (`BLENDER-v304`: pointer size `_`/`-`, endianness `v`/`V`, three
 * version digits) or Blender 5's larger one (`BLENDER17-01v0503`: header size, `-`, file format version, endianness,
 * four version digits). Blender may compress the whole file with gzip (before 3.0) or zstd (3.0 and later); only the
 * first few kilobytes are decompressed, never the file.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { constants as zlibConstants, gunzipSync } from 'node:zlib';
import { Decompress } from 'fzstd';

export type BlendCompression = 'none' | 'gzip' | 'zstd';

export interface BlendHeader {
  /** The file starts like a .blend (after decompression). */
  isBlend: boolean;
  compression?: BlendCompression;
  /** "major.minor" of the Blender that saved it: "2.78", "3.4", "5.3". */
  version?: string;
  /** major * 100 + minor, as the header stores it: 278, 304, 503. Compare these, not the strings. */
  versionNumber?: number;
  /** 'legacy' for BLENDER-v304, 'large' for Blender 5's BLENDER17-01v0503. */
  headerFormat?: 'legacy' | 'large';
  pointerSize?: 4 | 8;
  endian?: 'little' | 'big';
  /** Why it is not a readable .blend, in words: "not a .blend file (it starts with ...)", "truncated ...". */
  problem?: string;
}

const MAGIC = Buffer.from('BLENDER');
const GZIP = Buffer.from([0x1f, 0x8b]);
const ZSTD = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);
/** The longest header there is (Blender 5's). */
const HEADER_BYTES = 17;
/** Compressed bytes read at most to get the header out: zstd blocks are at most 128 KiB, frames start with a block. */
const MAX_COMPRESSED_READ = 1 << 20;
const CHUNK = 64 * 1024;

/** Reads the header of the file at `path`. Throws only for a file that cannot be read at all (missing, a folder, no permission). */
export function readBlendHeader(path: string): BlendHeader {
  const fd = openSync(path, 'r');
  try {
    const first = readAt(fd, 0, CHUNK);
    if (first.length === 0) return { isBlend: false, problem: 'the file is empty' };
    if (startsWith(first, GZIP)) return fromDecompressed(gunzipStart(first), 'gzip');
    if (startsWith(first, ZSTD)) return fromDecompressed(zstdStart(fd, first), 'zstd');
    return parseBlendHeader(first, 'none');
  } finally {
    closeSync(fd);
  }
}

/** Parses the header from the first bytes of an uncompressed .blend. */
function parseBlendHeader(bytes: Uint8Array, compression: BlendCompression = 'none'): BlendHeader {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (!startsWith(b, MAGIC.subarray(0, Math.min(b.length, MAGIC.length))) || b.length === 0) {
    return { isBlend: false, compression, problem: `not a .blend file (it starts with ${describeStart(b)})` };
  }
  if (b.length < 12) return { isBlend: true, compression, problem: `truncated: the file ends inside its ${b.length}-byte header` };
  const legacy = /^BLENDER([_-])([vV])(\d{3})$/.exec(b.toString('latin1', 0, 12));
  if (legacy) {
    return describe(Number(legacy[3]), compression, 'legacy', legacy[1] === '_' ? 4 : 8, legacy[2] === 'v' ? 'little' : 'big');
  }
  // Blender 5: BLENDER + two digits of header size + '-' + two digits of format version + endianness + four digits.
  const size = /^BLENDER(\d{2})/.exec(b.toString('latin1', 0, 9));
  if (size) {
    const headerSize = Number(size[1]);
    if (b.length < headerSize)
      return { isBlend: true, compression, problem: `truncated: the file ends inside its ${headerSize}-byte header` };
    const large = /^BLENDER\d{2}-(\d{2})([vV])(\d{4})$/.exec(b.toString('latin1', 0, HEADER_BYTES));
    if (large && headerSize === HEADER_BYTES)
      return describe(Number(large[3]), compression, 'large', 8, large[2] === 'v' ? 'little' : 'big');
    return {
      isBlend: true,
      compression,
      problem: `a .blend header this sidecar does not know (${JSON.stringify(b.toString('latin1', 0, Math.min(b.length, headerSize)))}); a newer Blender may read it`,
    };
  }
  return { isBlend: true, compression, problem: `a damaged .blend header (${JSON.stringify(b.toString('latin1', 0, 12))})` };
}

/** "2.78", "3.4", "4.0": Blender 2.x is written with two minor digits, later versions with the number as it is. */
export function formatBlendVersion(n: number): string {
  const major = Math.floor(n / 100);
  const minor = n % 100;
  return major < 3 ? `${major}.${String(minor).padStart(2, '0')}` : `${major}.${minor}`;
}

/** 304 from "3.4", "3.4.1" or "2.79b" (major * 100 + minor); undefined when it is not a version. */
export function blendVersionNumber(version: string): number | undefined {
  const m = /^(\d+)\.(\d+)/.exec(version.trim());
  return m ? Number(m[1]) * 100 + Number(m[2]) : undefined;
}

function describe(
  n: number,
  compression: BlendCompression,
  headerFormat: 'legacy' | 'large',
  pointerSize: 4 | 8,
  endian: 'little' | 'big',
): BlendHeader {
  return { isBlend: true, compression, version: formatBlendVersion(n), versionNumber: n, headerFormat, pointerSize, endian };
}

function fromDecompressed(result: Buffer | string, compression: BlendCompression): BlendHeader {
  if (typeof result === 'string') return { isBlend: false, compression, problem: result };
  if (result.length === 0) return { isBlend: false, compression, problem: `truncated: the ${compression} stream ends before any data` };
  const header = parseBlendHeader(result, compression);
  if (!header.isBlend) header.problem = `a ${compression}-compressed file that is ${header.problem}`;
  return header;
}

/** The first decompressed bytes of a gzip file, or a sentence saying why there are none. */
function gunzipStart(first: Buffer): Buffer | string {
  try {
    // Z_SYNC_FLUSH: give back what the bytes so far decode to, instead of failing on the stream's missing end.
    return gunzipSync(first, { finishFlush: zlibConstants.Z_SYNC_FLUSH });
  } catch (err) {
    return `a damaged gzip stream (${(err as Error).message})`;
  }
}

/** The first decompressed bytes of a zstd file, reading more only while no header has come out yet. */
function zstdStart(fd: number, first: Buffer): Buffer | string {
  const out: Uint8Array[] = [];
  let have = 0;
  const stream = new Decompress((chunk) => {
    out.push(chunk);
    have += chunk.length;
  });
  let chunk = first;
  let offset = 0;
  try {
    while (have < HEADER_BYTES && chunk.length > 0 && offset < MAX_COMPRESSED_READ) {
      stream.push(chunk);
      offset += chunk.length;
      if (have >= HEADER_BYTES) break;
      chunk = readAt(fd, offset, CHUNK);
    }
  } catch (err) {
    if (have === 0) return `a damaged zstd stream (${(err as Error).message})`;
  }
  if (have === 0 && chunk.length === 0) return 'truncated: the zstd stream ends before its first block';
  return Buffer.concat(out);
}

function readAt(fd: number, position: number, length: number): Buffer {
  const buf = Buffer.alloc(length);
  const n = readSync(fd, buf, 0, length, position);
  return buf.subarray(0, n);
}

function startsWith(b: Buffer, prefix: Buffer): boolean {
  return b.length >= prefix.length && b.subarray(0, prefix.length).equals(prefix);
}

function describeStart(b: Buffer): string {
  const head = b.subarray(0, 12);
  const printable = head.every((c) => c >= 0x20 && c < 0x7f);
  return printable ? JSON.stringify(head.toString('latin1')) : `bytes ${head.toString('hex').replace(/(..)/g, '$1 ').trim()}`;
}
