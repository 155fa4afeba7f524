/**
 * The pure half of the Slurm hand-off: squeue's lines read into task states, every Slurm state put in the sidecar's
 * words, and the --array values of first submissions and retries. The cluster half is slurm-render.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { parseSqueue } from '../../sidecar/domain/farm/slurm/slurm-commands.js';
import { arraySpec } from '../../sidecar/domain/farm/slurm/slurm-plan.js';
import { endOf, phaseOf, waitingWords } from '../../sidecar/domain/farm/slurm/slurm-states.js';

describe('parseSqueue', () => {
  it('reads one task per line of squeue -r -o %F|%K|%T|%r', () => {
    assert.deepEqual(parseSqueue('41|0|COMPLETED|None\n41|1|RUNNING|None\n41|2|PENDING|JobArrayTaskLimit\n'), [
      { arrayJobId: '41', taskId: 0, state: 'COMPLETED', reason: 'None' },
      { arrayJobId: '41', taskId: 1, state: 'RUNNING', reason: 'None' },
      { arrayJobId: '41', taskId: 2, state: 'PENDING', reason: 'JobArrayTaskLimit' },
    ]);
  });
  it('takes a job that is no array as task 0, and drops the + of a state like CANCELLED+', () => {
    assert.deepEqual(parseSqueue('7|N/A|CANCELLED+|None'), [{ arrayJobId: '7', taskId: 0, state: 'CANCELLED', reason: 'None' }]);
  });
  it('ignores empty lines', () => {
    assert.deepEqual(parseSqueue('\n\n'), []);
  });
});

describe("Slurm task states in the sidecar's words", () => {
  it('tells waiting, running and ended tasks apart', () => {
    for (const s of ['PENDING', 'REQUEUED', 'SUSPENDED']) assert.equal(phaseOf(s), 'waiting', s);
    for (const s of ['RUNNING', 'COMPLETING', 'CONFIGURING']) assert.equal(phaseOf(s), 'running', s);
    for (const s of ['COMPLETED', 'FAILED', 'CANCELLED', 'TIMEOUT', 'NODE_FAIL', 'OUT_OF_MEMORY', 'PREEMPTED'])
      assert.equal(phaseOf(s), 'ended', s);
  });
  it('maps every way a task ends onto an attempt outcome and whether the job is canceled', () => {
    const seen = Object.fromEntries(
      ['COMPLETED', 'FAILED', 'CANCELLED', 'TIMEOUT', 'NODE_FAIL', 'OUT_OF_MEMORY', 'PREEMPTED', 'BOOT_FAIL', 'DEADLINE'].map((s) => [
        s,
        [endOf(s).kind, endOf(s).outcome],
      ]),
    );
    assert.deepEqual(seen, {
      COMPLETED: ['completed', 'done'],
      FAILED: ['failed', 'crashed'],
      CANCELLED: ['canceled', 'canceled'],
      TIMEOUT: ['failed', 'hung'],
      NODE_FAIL: ['failed', 'lost'],
      OUT_OF_MEMORY: ['failed', 'out-of-memory'],
      PREEMPTED: ['failed', 'lost'],
      BOOT_FAIL: ['failed', 'lost'],
      DEADLINE: ['failed', 'lost'],
    });
  });
  it('says what to change for a time limit or memory, and counts an unknown end as a failure a retry may pass', () => {
    assert.match(endOf('TIMEOUT').words, /time limit \(raise farm\.timeLimit/);
    assert.match(endOf('OUT_OF_MEMORY').words, /raise farm\.memPerCpu/);
    assert.deepEqual(endOf('SPECIAL_EXIT'), { kind: 'failed', outcome: 'lost', words: 'ended in the state SPECIAL_EXIT' });
  });
  it("gives a pending task its reason in words, and Slurm's own reason when it has no words for it", () => {
    assert.equal(waitingWords('PENDING', 'Resources'), 'pending (waiting for free CPUs, memory or GPUs)');
    assert.equal(waitingWords('PENDING', 'JobArrayTaskLimit'), 'pending (maxParallel tasks already run)');
    assert.equal(waitingWords('PENDING', 'AssocGrpCpuLimit'), 'pending (AssocGrpCpuLimit)');
    assert.equal(waitingWords('PENDING', 'None'), 'pending');
  });
});

describe('arraySpec', () => {
  it('writes a range for a first submission and a list for retries, with the parallel limit', () => {
    assert.equal(arraySpec([0, 1, 2, 3], 2), '0-3%2');
    assert.equal(arraySpec([4, 1], undefined), '1,4');
    assert.equal(arraySpec([3], 5), '3%5');
  });
});

describe('serve --slurm-* flags', () => {
  it('refuses a value sbatch could not take, naming the flag, before the sidecar starts', () => {
    const gres = runCli(['serve', '--slurm-gres', 'gpu 1']);
    assert.notEqual(gres.status, 0);
    assert.match(
      gres.stderr,
      /--slurm-gres: must be a single generic resource list \(e\.g\. gpu:1\), without spaces and not starting with "-"/,
    );
    const chunk = runCli(['serve', '--slurm-chunk-size', '0']);
    assert.match(chunk.stderr, /--slurm-chunk-size must be a whole number from 1 to 10000, not "0"/);
    const shared = runCli(['serve', '--slurm-shared', 'relative/dir']);
    assert.match(shared.stderr, /--slurm-shared must be an absolute path, not "relative\/dir"/);
  });
});
