// `npm run package`: dist/blender_sidecar-<version>.zip, the studio package. One top folder, blender_sidecar/, holding
// the add-on (a legacy add-on on 3.x through bl_info, an extension on 4.2+ through blender_manifest.toml), the bundled
// sidecar (sidecar/blender-sidecar.mjs, run with node) with its worker scripts, a self-contained sidecar executable
// for this platform (sidecar/bin/<platform>/, Node's single-executable application: no Node needed), and licences.
// `--no-exe` leaves the executable out.
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  cpSync,
  createWriteStream,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import yazl from 'yazl';
import { stampAddon } from './stamp-version.mjs';

const root = join(fileURLToPath(new URL('.', import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const withExe = !process.argv.includes('--no-exe');
const platform = `${process.platform}-${process.arch}`;
const dist = join(root, 'dist');
const stage = join(dist, 'package');
const top = join(stage, 'blender_sidecar');
const started = Date.now();

execFileSync(process.execPath, [join(root, 'build', 'build.mjs'), '--quiet'], { stdio: 'inherit' });
rmSync(stage, { recursive: true, force: true });
mkdirSync(top, { recursive: true });

// The add-on, without caches or anything hidden.
cpSync(join(root, 'addon', 'blender_sidecar'), top, { recursive: true, filter: (src) => !/__pycache__|\.pyc$|\/\.[^/]+$/.test(src) });
stampAddon(top, pkg.version);

// The sidecar: one bundled file, its worker package, pipeline templates.
const sidecarDir = join(top, 'sidecar');
mkdirSync(sidecarDir, { recursive: true });
for (const file of ['blender-sidecar.mjs', 'blender-sidecar.cjs']) copyFileSync(join(dist, file), join(sidecarDir, file));
cpSync(join(dist, 'worker'), join(sidecarDir, 'worker'), { recursive: true });
if (existsSync(join(root, 'sidecar', 'pipelines')))
  cpSync(join(root, 'sidecar', 'pipelines'), join(sidecarDir, 'pipelines'), { recursive: true });

const platforms = [];
if (withExe) {
  platforms.push(platform);
  const seaDir = join(dist, 'sea');
  rmSync(seaDir, { recursive: true, force: true });
  mkdirSync(seaDir, { recursive: true });
  // Node 20's single executable applications run one CommonJS script: bundle the CLI again as CJS.
  await build({
    entryPoints: [join(root, 'sidecar', 'cli', 'bin.ts')],
    outfile: join(seaDir, 'sidecar.cjs'),
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    define: { __SIDECAR_VERSION__: JSON.stringify(pkg.version), 'import.meta.url': '__sidecar_url' },
    // ws looks for its optional native helpers with require(), which a single executable cannot load from disk.
    banner: {
      js: "process.env.WS_NO_BUFFER_UTIL = '1'; process.env.WS_NO_UTF_8_VALIDATE = '1'; const __sidecar_url = require('node:url').pathToFileURL(__filename).href;",
    },
    logLevel: 'warning',
  });
  writeFileSync(
    join(seaDir, 'sea-config.json'),
    JSON.stringify({ main: join(seaDir, 'sidecar.cjs'), output: join(seaDir, 'sea.blob'), disableExperimentalSEAWarning: true }),
  );
  execFileSync(process.execPath, ['--experimental-sea-config', join(seaDir, 'sea-config.json')], { stdio: 'inherit' });
  const exeName = process.platform === 'win32' ? 'blender-sidecar.exe' : 'blender-sidecar';
  const exe = join(sidecarDir, 'bin', platform, exeName);
  mkdirSync(dirname(exe), { recursive: true });
  copyFileSync(process.execPath, exe);
  chmodSync(exe, 0o755);
  const postject = join(root, 'node_modules', 'postject', 'dist', 'cli.js');
  const args = [
    postject,
    exe,
    'NODE_SEA_BLOB',
    join(seaDir, 'sea.blob'),
    '--sentinel-fuse',
    'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2',
  ];
  if (process.platform === 'darwin') args.push('--macho-segment-name', 'NODE_SEA');
  execFileSync(process.execPath, args, { stdio: 'ignore' });
  // The executable finds its worker scripts two folders up (sidecar/worker); check it runs.
  const version = execFileSync(exe, ['--version'], { encoding: 'utf8' }).trim();
  if (version !== pkg.version) throw new Error(`the built executable says ${version}, expected ${pkg.version}`);
}

// What the package carries, for the people who install it.
writeFileSync(
  join(sidecarDir, 'PLATFORMS.txt'),
  [
    `Blender Sidecar ${pkg.version}`,
    platforms.length
      ? `Self-contained sidecar executables (no Node needed): ${platforms.join(', ')} (sidecar/bin/<platform>/).`
      : 'No self-contained executable in this package.',
    'Every other platform: Node 20 or newer runs sidecar/blender-sidecar.mjs (set the Node path in the add-on preferences if node is not on PATH).',
    '',
  ].join('\n'),
);

// Licences: ours, and those of the npm packages bundled into the sidecar (and of Node, inside the executable).
const licences = join(top, 'licenses');
mkdirSync(licences, { recursive: true });
copyFileSync(join(root, 'build', 'licenses', 'GPL-3.0-or-later.txt'), join(licences, 'blender-sidecar.txt'));
const seen = new Set();
const walkDeps = (name) => {
  if (seen.has(name)) return;
  seen.add(name);
  const dir = join(root, 'node_modules', name);
  const meta = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  const file = readdirSync(dir).find((f) => /^(licen[cs]e|copying)/i.test(f));
  const text = file ? readFileSync(join(dir, file), 'utf8') : `${meta.name} ${meta.version}: ${meta.license ?? 'see the package'}\n`;
  writeFileSync(join(licences, `${name.replace('/', '__')}.txt`), `${meta.name} ${meta.version} (${meta.license ?? '?'})\n\n${text}`);
  for (const dep of Object.keys(meta.dependencies ?? {})) if (existsSync(join(root, 'node_modules', dep))) walkDeps(dep);
};
for (const dep of Object.keys(pkg.dependencies)) walkDeps(dep);
if (withExe) {
  const nodeLicence = join(dirname(process.execPath), '..', 'share', 'doc', 'node', 'LICENSE');
  writeFileSync(
    join(licences, 'node.txt'),
    existsSync(nodeLicence)
      ? readFileSync(nodeLicence, 'utf8')
      : `Node.js ${process.version}: MIT licence, https://github.com/nodejs/node/blob/main/LICENSE\n`,
  );
}

// The zip: one top folder (3.x's addon_install needs it; 4.2+'s extension install accepts it).
const zipPath = join(dist, `blender_sidecar-${pkg.version}.zip`);
const zip = new yazl.ZipFile();
const files = [];
const walk = (dir) => {
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else {
      const rel = relative(stage, path).split('\\').join('/');
      zip.addFile(path, rel, { mode: statSync(path).mode });
      files.push([rel, statSync(path).size]);
    }
  }
};
walk(stage);
zip.end();
await new Promise((resolve, reject) => zip.outputStream.pipe(createWriteStream(zipPath)).on('close', resolve).on('error', reject));

const mb = (n) => `${(n / 1024 / 1024).toFixed(1)} MB`;
console.log(
  `\n${relative(root, zipPath)}  ${mb(statSync(zipPath).size)} (${files.length} files, ${mb(files.reduce((a, [, s]) => a + s, 0))} unpacked), in ${((Date.now() - started) / 1000).toFixed(1)} s`,
);
console.log(`platforms with a self-contained sidecar: ${platforms.join(', ') || 'none'}\n`);
const groups = new Map();
for (const [rel, size] of files) {
  const folder = [
    'blender_sidecar/licenses/',
    'blender_sidecar/wire/',
    'blender_sidecar/sidecar/worker/',
    'blender_sidecar/sidecar/pipelines/',
    'blender_sidecar/sidecar/bin/',
  ].find((f) => rel.startsWith(f));
  const key = folder ?? rel;
  const g = groups.get(key) ?? { n: 0, size: 0 };
  groups.set(key, { n: g.n + 1, size: g.size + size });
}
for (const [key, g] of groups)
  console.log(`  ${key.padEnd(60)} ${String(g.n).padStart(3)} file${g.n > 1 ? 's' : ' '} ${mb(g.size).padStart(9)}`);
