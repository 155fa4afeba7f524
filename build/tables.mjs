// `npm run tables`: writes the JSON tables the Python side reads (addon/blender_sidecar/tables.json,
// sidecar/worker/sidecar_worker/tables.json) from their source in sidecar/domain/tables.ts. `--check` writes nothing
// and exits 1 naming each file that differs. The files are committed (a clean clone and the packaged add-on have them
// without a build); test/unit/tables.test.ts fails when they drift.
import { build } from 'esbuild';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(fileURLToPath(new URL('.', import.meta.url)), '..');
const check = process.argv.includes('--check');
const scratch = mkdtempSync(join(tmpdir(), 'sidecar-tables-'));
try {
  const out = join(scratch, 'tables.mjs');
  await build({
    entryPoints: [join(root, 'sidecar/domain/tables.ts')],
    outfile: out,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    logLevel: 'warning',
  });
  const { tableFiles } = await import(pathToFileURL(out).href);
  const stale = [];
  for (const [rel, text] of Object.entries(tableFiles())) {
    const path = join(root, rel);
    let before = '';
    try {
      before = readFileSync(path, 'utf8');
    } catch {}
    if (before === text) continue;
    stale.push(rel);
    if (!check) writeFileSync(path, text);
  }
  if (check && stale.length) {
    console.error(`out of date (run npm run tables): ${stale.join(', ')}`);
    process.exitCode = 1;
  } else if (!check && stale.length) console.log(`wrote ${stale.join(', ')}`);
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
