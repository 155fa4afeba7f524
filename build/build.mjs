// Bundles the sidecar and all its dependencies into one runnable file (dist/blender-sidecar.mjs), the library entry
// (dist/index.mjs), and copies the Python worker package beside them (dist/worker/).
import { build } from 'esbuild';
import { cpSync, mkdirSync, readFileSync, rmSync, chmodSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const quiet = process.argv.includes('--quiet');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const dist = join(root, 'dist');
mkdirSync(dist, { recursive: true });

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  sourcemap: 'linked',
  define: { __SIDECAR_VERSION__: JSON.stringify(pkg.version) },
  // Some bundled CommonJS dependencies call require(); give the ESM bundle one.
  banner: { js: "import { createRequire as __sidecarRequire } from 'node:module'; const require = __sidecarRequire(import.meta.url);" },
  logLevel: quiet ? 'warning' : 'info',
};

// The CLI is two files: blender-sidecar.mjs, a small launcher (sidecar/cli/launch.ts), runs blender-sidecar.cjs, the
// bundle, from V8's compiled form of it kept between runs (sidecar/cli/code-cache.ts). Node 20 keeps such a cache only
// for a script, so the bundle is CommonJS; import.meta.url becomes the bundle file's URL, as in the executable's build.
const cli = {
  ...common,
  format: 'cjs',
  define: { ...common.define, 'import.meta.url': '__sidecar_url' },
  banner: { js: "const __sidecar_url = require('node:url').pathToFileURL(__filename).href;" },
};

const started = Date.now();
await Promise.all([
  build({ ...cli, entryPoints: [join(root, 'sidecar/cli/bin.ts')], outfile: join(dist, 'blender-sidecar.cjs') }),
  build({ ...common, banner: {}, entryPoints: [join(root, 'sidecar/cli/launch.ts')], outfile: join(dist, 'blender-sidecar.mjs') }),
  build({ ...common, entryPoints: [join(root, 'sidecar/index.ts')], outfile: join(dist, 'index.mjs') }),
]);
chmodSync(join(dist, 'blender-sidecar.mjs'), 0o755);

rmSync(join(dist, 'worker'), { recursive: true, force: true });
cpSync(join(root, 'sidecar/worker'), join(dist, 'worker'), {
  recursive: true,
  filter: (src) => !src.includes('__pycache__'),
});
if (!quiet) console.log(`built dist/ in ${Date.now() - started} ms`);
