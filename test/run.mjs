// Runs the test suites with Node's test runner (TypeScript through tsx). `npm test` runs everything on the machine's
// Blender, then the Blender suites again on each other Blender of the version matrix that is installed
// (.ci/blender-4.3 and .ci/blender-5.2, made by .ci/blender-roots.sh). `npm test -- rpc blender/render` runs only the
// files whose path contains one of the words; SIDECAR_MATRIX=0 skips the other Blenders, and SIDECAR_MATRIX=require
// (.ci/run) fails when one of them does not start. `--portable` (npm run test:portable) runs only the suites that need
// no Blender and no .blend corpus (portable.mjs says which): what the GitHub workflow runs on macOS and Windows.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inPortableFolders, leftOutReason } from './portable.mjs';

const root = join(fileURLToPath(new URL('.', import.meta.url)), '..');
const portable = process.argv.includes('--portable');
const filters = process.argv.slice(2).filter((a) => a !== '--portable');

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'artifacts' || name === 'fixtures' ? [] : walk(path);
    return name.endsWith('.test.ts') ? [path] : [];
  });
}

const slashed = (f) => f.split('\\').join('/');
const portableCandidates = walk(join(root, 'test'))
  .map((f) => relative(root, f))
  .filter((f) => filters.length === 0 || filters.some((w) => f.includes(w)))
  .filter((f) => !portable || inPortableFolders(slashed(f)));
const files = portableCandidates.filter((f) => !portable || leftOutReason(slashed(f), process.platform) === undefined).sort();
if (files.length === 0) {
  console.error(`no test files match ${filters.join(', ')}`);
  process.exit(1);
}

function blenderVersion(blender) {
  const r = spawnSync(blender, ['--version'], { encoding: 'utf8', timeout: 60_000 });
  return r.status === 0 ? (r.stdout.match(/Blender (\d+\.\d+\.\d+)/)?.[1] ?? 'unknown') : undefined;
}

// One file at a time: the Blender suites each use both cores, and timing-sensitive supervision tests
// (hang detection, cancellation) must not starve each other.
function run(label, list, env = {}) {
  console.log(`\n== ${label}: ${list.length} test files\n`);
  const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=spec', ...list], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, ...env },
  });
  return result.status ?? 1;
}

if (portable) {
  for (const f of portableCandidates) {
    const why = leftOutReason(slashed(f), process.platform);
    if (why) console.log(`left out here: ${slashed(f)} (${why})`);
  }
  process.exit(run(`portable suites (no Blender) on ${process.platform}`, files));
}

const defaultBlender = process.env.BLENDER || 'blender';
let status = run(`Blender ${blenderVersion(defaultBlender) ?? '(not found)'} (${defaultBlender})`, files);

const others = [join(root, '.ci', 'blender-4.3'), join(root, '.ci', 'blender-5.2')];
const blenderSuites = files.filter((f) => f.startsWith('test/blender/'));
if (process.env.SIDECAR_MATRIX !== '0' && !process.env.BLENDER && blenderSuites.length > 0) {
  for (const blender of others) {
    if (!existsSync(blender)) continue;
    const version = blenderVersion(blender);
    if (!version) {
      console.log(`\n== ${relative(root, blender)} is not set up here (run .ci/blender-roots.sh); its suites are not run`);
      // CI sets this: there a Blender of the matrix that does not start is a failure, not suites quietly left out.
      if (process.env.SIDECAR_MATRIX === 'require') status = 1;
      continue;
    }
    status = run(`Blender ${version} (${relative(root, blender)})`, blenderSuites, { BLENDER: blender }) || status;
  }
}
process.exit(status);
