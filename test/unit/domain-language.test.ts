/**
 * The domain speaks its own language: no file under sidecar/domain imports the protocol layer or writes a JSON-RPC
 * error code. Errors there say their kind (sidecar/domain/errors.ts); sidecar/protocol/error-codes.ts maps kinds to
 * codes. A plain source scan: it reads every .ts file, comments included, since a comment that says "-32602" teaches
 * the next reader to think in codes.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const domain = join(root, 'sidecar', 'domain');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

/** `import ... from '.../protocol/...'`, `export ... from`, `import('.../protocol/...')` and `import '.../protocol/...'`. */
const PROTOCOL_IMPORT = /(?:\bfrom\s*|\bimport\s*\(?\s*)['"][^'"]*\bprotocol\/[^'"]*['"]/;
/** JSON-RPC's own codes (-32700, -32600..-32603) and the server range (-32000..-32099), with or without the minus. */
const RPC_CODE = /(?<![\w.])-?\s*32(?:0\d\d|60[0-3]|700)(?![\w.])/;

/** Every offending line of `text` as "line N: text". */
function offences(text: string): string[] {
  return text
    .split('\n')
    .flatMap((line, i) => (PROTOCOL_IMPORT.test(line) || RPC_CODE.test(line) ? [`line ${i + 1}: ${line.trim()}`] : []));
}

describe('sidecar/domain', () => {
  it('imports nothing from protocol/ and writes no JSON-RPC error code', () => {
    const files = sources(domain);
    assert.ok(files.length > 50, `the scan found only ${files.length} files under ${domain}`);
    const found = files.flatMap((file) => offences(readFileSync(file, 'utf8')).map((o) => `${relative(root, file)} ${o}`));
    assert.deepEqual(found, [], 'throw a DomainError of a kind (sidecar/domain/errors.ts) and map it in sidecar/protocol/error-codes.ts');
  });

  it('has a scan that catches what it is meant to catch', () => {
    for (const bad of [
      "import { RpcCode } from '../../protocol/codes.js';",
      "import type { ErrorSpec } from '../protocol/method.js';",
      "export { fieldPath } from '../../protocol/issues.js';",
      "const m = await import('../../protocol/dispatcher.js');",
      "throw new SidecarError('no', -32602);",
      'const REFUSED = -32602;',
      '/** answered with -32005 when the disk is full */',
      'if (code === 32010) retry();',
      'const parse = -32700;',
    ]) {
      assert.equal(offences(bad).length, 1, `not caught: ${bad}`);
    }
    for (const fine of [
      "import { DomainError } from '../errors.js';",
      "throw new DomainError('unavailable', 'the disk is full');",
      'const maxBytes = 32 * 2 ** 20; const port = 32768; const mask = 0x32602; const v = 1.32602;',
      '// see sidecar/protocol/error-codes.ts for the codes',
    ]) {
      assert.deepEqual(offences(fine), [], `wrongly caught: ${fine}`);
    }
  });
});
