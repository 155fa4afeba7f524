// Runs bench/addon-stall.py (the add-on's main-thread stall per operator, against the real sidecar) on every Blender
// of the matrix that is available, prints each table, and keeps the numbers in bench/results/addon-stall-<name>.json.
//
//   npm run build && node --import tsx bench/addon-stall.ts [--repeat N]
import { join } from 'node:path';
import { blendersUnderTest, root, run, suiteEnv } from '../test/addon/blenders.js';

const repeat = process.argv.includes('--repeat') ? process.argv[process.argv.indexOf('--repeat') + 1]! : '5';
let failed = false;
for (const blender of blendersUnderTest()) {
  if (blender.version === undefined) {
    console.log(`\n${blender.name}: not available (${blender.path} does not start), skipped`);
    continue;
  }
  const json = join(root, 'bench', 'results', `addon-stall-${blender.name}.json`);
  const script = join(root, 'bench', 'addon-stall.py');
  const r = await run(
    blender.path,
    ['-b', '--factory-startup', '--python-exit-code', '1', '--python', script, '--', '--repeat', repeat, '--json', json],
    {
      env: suiteEnv(blender),
      timeoutMs: 600_000,
    },
  );
  const table = r.output.split('\n').filter((line) => line.startsWith('|') || line.startsWith('Longest') || line.startsWith('over 50'));
  console.log(`\n${table.join('\n')}`);
  if (r.status !== 0) {
    failed = true;
    console.log(`${blender.name}: exited ${r.status}\n${r.output.slice(-3000)}`);
  }
}
process.exitCode = failed ? 1 : 0;
