// `npm run lint`: every check the code must pass, run one after another; each failing one is named at the end, so one
// run shows everything to fix. `npm run format` rewrites what the formatters (Biome, black) would change.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(fileURLToPath(new URL('.', import.meta.url)), '..');
const bin = (name) => join(root, 'node_modules', '.bin', name);
// The Python of the add-on, the worker scripts Blender runs, and the test and bench fixtures.
const PYTHON = ['addon', 'sidecar/worker', 'test', 'bench'];

const checks = [
  { name: 'biome (TypeScript format + lint)', cmd: bin('biome'), args: ['check'] },
  { name: 'tsc --noEmit (types)', cmd: bin('tsc'), args: ['--noEmit', '-p', 'tsconfig.json'] },
  { name: 'black --check (Python format)', cmd: 'black', args: ['--check', '--quiet', ...PYTHON], missing: 'apt-get install black' },
  { name: 'flake8 (Python lint)', cmd: 'flake8', args: PYTHON, missing: 'apt-get install flake8' },
  { name: 'size (files over 400 lines, functions over 80)', cmd: process.execPath, args: [join(root, 'build', 'check-size.mjs')] },
];

const failed = [];
for (const c of checks) {
  console.log(`\n== ${c.name}`);
  const r = spawnSync(c.cmd, c.args, { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' });
  if (r.error?.code === 'ENOENT') {
    console.log(`${c.cmd} is not installed${c.missing ? ` (${c.missing})` : ''}`);
    failed.push(`${c.name}: not installed`);
  } else if (r.status !== 0) {
    failed.push(c.name);
  } else {
    console.log('ok');
  }
}
if (failed.length > 0) {
  console.log(`\nlint failed: ${failed.join('; ')}. \`npm run format\` fixes formatting; the rest needs a real fix.`);
  process.exitCode = 1;
} else {
  console.log('\nlint clean');
}
