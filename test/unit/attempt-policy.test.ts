import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AlertCenter } from '../../sidecar/domain/alerts/alerts.js';
import { AttemptPolicy, retryDecision, type AttemptFailure } from '../../sidecar/domain/jobs/attempt-policy.js';
import { newJob, type Attempt, type WorkUnit } from '../../sidecar/domain/jobs/job.js';
import { liveJob, type LiveJob } from '../../sidecar/domain/jobs/live-job.js';
import type { JobRunner } from '../../sidecar/domain/jobs/runner.js';
import { CrashLoopGuard } from '../../sidecar/domain/jobs/supervisor.js';
import { WorkerDiedError, type BlenderWorker } from '../../sidecar/domain/workers/blender-worker.js';

/** The policy reads a worker's id, Blender and version: a plain object carries them (no process is involved). */
function worker(id: string): BlenderWorker {
  return { id, blender: '/opt/blender-4.3/blender', blenderVersion: '4.3.2' } as unknown as BlenderWorker;
}

function job(units: WorkUnit[], limits = { instances: 2, timeoutS: 30, maxRetries: 2 }): LiveJob {
  const runner = {
    kind: 'render',
    unitNoun: 'frames',
    limits: () => limits,
    fileOf: () => ({ blendFile: '/shots/sh010.blend', jobKey: 'j' }),
  } as unknown as JobRunner;
  const record = newJob('render', { priority: 'normal', params: {}, blend: { version: '4.3.2' } });
  record.units = units;
  return liveJob(record, runner);
}

function frame(key: number, attempts: Attempt[] = []): WorkUnit {
  return { key, label: `frame ${key}`, state: 'running', attempts };
}

function attempt(workerId: string, outcome?: Attempt['outcome']): Attempt {
  return { worker: workerId, pid: 1, startedAt: new Date().toISOString(), ...(outcome ? { outcome } : {}) };
}

/** A worker that died on its own; its message names no worker, so nothing can be read back out of it. */
function crashed(): WorkerDiedError {
  return new WorkerDiedError('crashed', 'Blender crashed', { code: null, signal: 'SIGSEGV' }, ['Fra:1 Mem:20M', 'Segmentation fault']);
}

function policy(count = 3) {
  const alerts = new AlertCenter(() => {});
  const guard = new CrashLoopGuard(
    { count, windowMs: 60_000, restMs: 60_000 },
    alerts,
    () => {},
    () => {},
  );
  return { alerts, guard, policy: new AttemptPolicy(guard, count) };
}

describe('the attempt policy', () => {
  it('retries a transient failure with a growing backoff until maxRetries, then says how often it failed', () => {
    const failure: AttemptFailure = { outcome: 'crashed', reason: 'frame 3: killed by SIGKILL', retryable: true };
    const unit = frame(3, [attempt('w1', 'crashed')]);
    assert.deepEqual(retryDecision(unit, failure, { instances: 1, timeoutS: 30, maxRetries: 2 }), { retry: true, waitS: 1, onCpu: false });
    unit.attempts.push(attempt('w2', 'crashed'));
    assert.deepEqual(retryDecision(unit, failure, { instances: 1, timeoutS: 30, maxRetries: 2 }), { retry: true, waitS: 2, onCpu: false });
    unit.attempts.push(attempt('w3', 'crashed'));
    assert.deepEqual(retryDecision(unit, failure, { instances: 1, timeoutS: 30, maxRetries: 2 }), {
      retry: false,
      error: 'frame 3: killed by SIGKILL (failed 3 times, more than maxRetries 2)',
    });
  });

  it('does not count an attempt the sidecar lost by stopping, and never retries a deterministic failure', () => {
    const unit = frame(1, [attempt('w1', 'lost'), attempt('w2', 'python-error')]);
    const failure: AttemptFailure = { outcome: 'python-error', reason: 'frame 1: NameError', retryable: false };
    assert.deepEqual(retryDecision(unit, failure, { instances: 1, timeoutS: 30, maxRetries: 5 }), {
      retry: false,
      error: 'frame 1: NameError',
    });
  });

  it('retries a frame whose GPU ran out of memory on the CPU only when the job allows it', () => {
    const unit = frame(2, [attempt('w1', 'gpu-out-of-memory')]);
    const failure: AttemptFailure = {
      outcome: 'gpu-out-of-memory',
      reason: 'frame 2: GPU out of memory',
      retryable: true,
      cpuFallback: true,
    };
    assert.equal(
      (retryDecision(unit, failure, { instances: 1, timeoutS: 30, maxRetries: 1, cpuFallback: true }) as { onCpu: boolean }).onCpu,
      true,
    );
    assert.equal((retryDecision(unit, failure, { instances: 1, timeoutS: 30, maxRetries: 1 }) as { onCpu: boolean }).onCpu, false);
  });

  it('names the worker a hung frame was killed on from the worker itself', () => {
    const { policy: p } = policy();
    const unit = frame(4, [attempt('w7')]);
    const hung = new WorkerDiedError('hung', 'Blender was killed', { code: null, signal: 'SIGKILL' }, []);
    const failure = p.unitDied(job([unit]), unit, unit.attempts[0]!, worker('w7'), hung, 30.2);
    assert.equal(failure.reason, 'frame 4 hung: Blender printed nothing for 30 s, so worker w7 was killed');
    assert.equal(failure.retryable, true);
  });

  it('holds a first crash back, and fails the frame once a second worker dies on it, naming the file and both workers', () => {
    const { policy: p, alerts } = policy(1);
    const unit = frame(5, [attempt('w1')]);
    const j = job([unit]);
    const first = p.unitDied(j, unit, unit.attempts[0]!, worker('w1'), crashed(), 2);
    assert.equal(first.retryable, true);
    assert.equal(j.heldCrashes.get(5), first.reason, 'nothing done yet: the file may be the cause, so the crash waits');
    assert.equal(alerts.isOpen('worker-crash-loop'), false);
    unit.attempts[0]!.outcome = first.outcome;
    unit.attempts.push(attempt('w2'));
    const second = p.unitDied(j, unit, unit.attempts[1]!, worker('w2'), crashed(), 2);
    assert.equal(second.retryable, false);
    assert.match(
      second.reason,
      /^\/shots\/sh010\.blend kills Blender 4\.3\.2 \(\/opt\/blender-4\.3\/blender\): it crashed on 2 workers \(w1, w2\) while running frame 5, killed by SIGSEGV; not retried\./,
    );
    assert.equal(j.heldCrashes.has(5), false);
  });

  it("counts a held crash towards the crash-loop rest once a retry elsewhere works: the crash was Blender's", () => {
    const { policy: p, alerts } = policy(1);
    const unit = frame(6, [attempt('w1')]);
    const j = job([unit]);
    p.unitDied(j, unit, unit.attempts[0]!, worker('w1'), crashed(), 2);
    assert.equal(alerts.isOpen('worker-crash-loop'), false);
    p.unitSucceeded(j, unit, worker('w2'));
    assert.equal(alerts.isOpen('worker-crash-loop'), true);
  });
});
