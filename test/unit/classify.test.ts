import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backoffSeconds, classifyDeath, classifyTaskError } from '../../sidecar/domain/jobs/classify.js';

describe('failure classification', () => {
  const death: Array<[string, string | null, string, string, boolean]> = [
    ['SIGSEGV', 'SIGSEGV', 'Writing: /tmp/scene.crash.txt', 'segfault', true],
    ["Blender's own segfault message", 'SIGABRT', 'Error: Segmentation fault\nWriting: /tmp/x.crash.txt', 'segfault', true],
    ['a bad_alloc', 'SIGABRT', "terminate called after throwing an instance of 'std::bad_alloc'", 'out-of-memory', true],
    [
      'CUDA out of memory',
      null,
      'Error: CUDA error: Out of memory in cuMemAlloc_v2(&device_pointer, memory_size)',
      'gpu-out-of-memory',
      true,
    ],
    ['OptiX out of memory', null, 'OptiX error: out of memory', 'gpu-out-of-memory', true],
    ['Cycles out of GPU memory', null, 'System is out of GPU and shared host memory', 'gpu-out-of-memory', true],
    ['a silent SIGKILL (the kernel OOM killer)', 'SIGKILL', 'Fra:3 Mem:120M', 'crashed', true],
  ];
  for (const [name, signal, output, outcome, transient] of death) {
    it(`classifies ${name} as ${outcome}`, () => {
      const c = classifyDeath(signal, null, output, undefined);
      assert.equal(c.outcome, outcome);
      assert.equal(c.transient, transient);
      assert.equal(c.cpuFallback === true, outcome === 'gpu-out-of-memory');
    });
  }

  it("keeps the sidecar's own kills as they were meant: hung retried, over the memory limit and canceled not", () => {
    assert.deepEqual(
      [classifyDeath('SIGKILL', null, '', 'hung').outcome, classifyDeath('SIGKILL', null, '', 'hung').transient],
      ['hung', true],
    );
    assert.deepEqual(
      [classifyDeath('SIGKILL', null, '', 'memory').outcome, classifyDeath('SIGKILL', null, '', 'memory').transient],
      ['memory', false],
    );
    assert.equal(classifyDeath('SIGKILL', null, '', 'canceled').transient, false);
  });

  it('fails fast on deterministic task errors, and retries a Python MemoryError', () => {
    assert.deepEqual(classifyTaskError('input', 'the blend file /x/shot.blend does not exist', undefined), {
      outcome: 'missing-file',
      transient: false,
      label: 'missing file',
    });
    assert.equal(classifyTaskError('input', 'the file has no scene named "X"', undefined).outcome, 'input-error');
    // Blender read the file and refused it: the file is there, so "missing file" would send the user looking for it.
    for (const message of [
      "Blender could not open /x/new.blend: Error: Cannot read file '/x/new.blend': File format is not supported",
      "Blender could not open /x/new.blend: Failed to read blend file '/x/new.blend', not a blend file",
    ]) {
      assert.deepEqual(
        classifyTaskError('input', message, undefined),
        { outcome: 'cannot-open', transient: false, label: 'cannot open' },
        message,
      );
    }
    assert.equal(classifyTaskError('python', 'ZeroDivisionError: division by zero', 'Traceback...').outcome, 'python-error');
    assert.deepEqual(classifyTaskError('python', 'MemoryError: ', 'Traceback...\nMemoryError'), {
      outcome: 'out-of-memory',
      transient: true,
      label: 'out of memory',
    });
    assert.equal(classifyTaskError('python', 'RuntimeError: Error: CUDA error: Out of memory in cuMemAlloc', undefined).cpuFallback, true);
  });

  it('backs off 1, 2, 4 ... seconds, at most 30', () => {
    assert.deepEqual([1, 2, 3, 4, 5, 6, 7].map(backoffSeconds), [1, 2, 4, 8, 16, 30, 30]);
  });
});
