import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import { newJob, type JobRecord, type WorkUnit } from '../../sidecar/domain/jobs/job.js';
import type { JobRunner, TaskRequest, UnitVerdict } from '../../sidecar/domain/jobs/runner.js';
import { Scheduler, type JobProgress } from '../../sidecar/domain/jobs/scheduler.js';
import type { JobStore } from '../../sidecar/domain/jobs/job-store.js';
import type { TaskOutcome } from '../../sidecar/domain/workers/blender-worker.js';
import type { WorkerPool } from '../../sidecar/domain/workers/pool.js';

/** A worker that answers each task at once (on the next turn), ok unless the test says the label fails. Its output
 * events (which the scheduler reads render samples from) never fire. */
class FakeWorker extends EventEmitter {
  state: 'idle' | 'busy' = 'idle';
  readonly blender = 'blender';
  openFile: string | undefined;
  openJobKey: string | undefined;
  lastOutputAt = Date.now();
  rssBytes = 0;
  current: { startedAt: number } | undefined;
  readonly tasks: Array<Record<string, unknown>> = [];
  constructor(
    readonly id: string,
    readonly pid: number,
    private readonly pool: FakePool,
  ) {
    super();
  }
  run(task: Record<string, unknown>, current: { label: string }): Promise<TaskOutcome> {
    this.state = 'busy';
    this.current = { startedAt: Date.now() };
    this.tasks.push(task);
    this.pool.started.push(current.label);
    return new Promise((resolve) =>
      setTimeout(() => {
        this.state = 'idle';
        this.current = undefined;
        const fails = this.pool.failing.has(current.label);
        resolve(
          fails ? { ok: false, errorKind: 'input', message: `${current.label} broke`, seconds: 0 } : { ok: true, result: {}, seconds: 0 },
        );
        setImmediate(() => this.pool.emit('idle'));
      }, 5),
    );
  }
  kill() {}
}

class FakePool extends EventEmitter {
  readonly workers: FakeWorker[];
  readonly started: string[] = [];
  readonly failing = new Set<string>();
  constructor(readonly size: number) {
    super();
    this.workers = Array.from({ length: size }, (_, i) => new FakeWorker(`w${i + 1}`, 1000 + i, this));
  }
  idle() {
    return this.workers.filter((w) => w.state === 'idle');
  }
  list() {
    return this.workers;
  }
  defaultBlender() {
    return 'blender';
  }
  get count() {
    return this.workers.length;
  }
  async grow() {
    return undefined;
  }
  retire() {}
}

/** Units as given; every task succeeds unless its label is in pool.failing. */
class FakeRunner implements JobRunner {
  readonly kind = 'pipeline' as const;
  readonly unitNoun = 'steps';
  constructor(
    private readonly units: Array<Pick<WorkUnit, 'key' | 'label' | 'dependsOn' | 'node'>>,
    private readonly perNode?: number,
  ) {}
  limits() {
    return { instances: 8, timeoutS: 60, maxRetries: 0 };
  }
  fileOf() {
    return { blendFile: '/x.blend', jobKey: 'k' };
  }
  planTask() {
    return undefined;
  }
  async plan(): Promise<WorkUnit[]> {
    return this.units.map((u) => ({ ...u, state: 'pending', attempts: [] }));
  }
  task(_job: JobRecord, unit: WorkUnit): TaskRequest {
    return { payload: { kind: 'test' }, label: unit.label, file: { blendFile: `/work/${unit.key}.blend`, jobKey: `k/${unit.node}` } };
  }
  async accept(): Promise<UnitVerdict> {
    return { ok: true };
  }
  discard() {}
  summarize() {
    return {};
  }
  mayStart(_job: JobRecord, unit: WorkUnit, running: WorkUnit[]) {
    return !this.perNode || running.filter((u) => u.node === unit.node).length < this.perNode;
  }
}

function run(units: ConstructorParameters<typeof FakeRunner>[0], options: { workers?: number; failing?: string[]; perNode?: number } = {}) {
  const pool = new FakePool(options.workers ?? 2);
  for (const f of options.failing ?? []) pool.failing.add(f);
  const store = { save() {}, create() {}, remove() {} } as unknown as JobStore;
  const progress: JobProgress[] = [];
  let maxRunning = 0;
  const scheduler = new Scheduler({
    pool: pool as unknown as WorkerPool,
    store,
    events: {
      state() {},
      progress(_j, p) {
        progress.push(p);
        maxRunning = Math.max(maxRunning, p.running.length);
      },
      unitFinished() {},
    },
    log: () => {},
    runners: [new FakeRunner(units, options.perNode)],
  });
  const job = newJob('pipeline', { priority: 'normal', params: {} });
  scheduler.submit(job);
  return {
    pool,
    progress,
    maxRunning: () => maxRunning,
    done: async () => {
      const ended = await scheduler.wait(job.id, 5000);
      await scheduler.close();
      return ended;
    },
  };
}

describe('the scheduler with unit dependencies', () => {
  it('starts a unit only once every unit it depends on is done, each on the file its task names', async () => {
    const t = run([
      { key: 0, label: 'A', node: 'a' },
      { key: 1, label: 'B', node: 'b', dependsOn: [0] },
      { key: 2, label: 'C', node: 'c', dependsOn: [1] },
      { key: 3, label: 'D', node: 'd' },
    ]);
    const job = await t.done();
    assert.equal(job.state, 'completed', job.error);
    const order = t.pool.started;
    assert.ok(order.indexOf('A') < order.indexOf('B') && order.indexOf('B') < order.indexOf('C'), order.join(' '));
    const tasks = t.pool.workers.flatMap((w) => w.tasks);
    const c = tasks.find((x) => x.blendFile === '/work/2.blend');
    assert.ok(c, 'the task opened the file its request named');
    assert.equal(c.jobKey, 'k/c');
  });

  it('skips everything downstream of a failed unit, naming it, while an independent branch completes', async () => {
    const t = run(
      [
        { key: 0, label: "Validate 'Check' [Faulty]", node: 'v' },
        { key: 1, label: "Transform 'Tri' [Faulty]", node: 't', dependsOn: [0] },
        { key: 2, label: "Export 'GLB' [Faulty]", node: 'e', dependsOn: [1] },
        { key: 3, label: "Validate 'Check' [Props]", node: 'v' },
        { key: 4, label: "Export 'GLB' [Props]", node: 'e', dependsOn: [3] },
      ],
      { failing: ["Validate 'Check' [Faulty]"] },
    );
    const job = await t.done();
    assert.equal(job.state, 'failed');
    assert.deepEqual(
      job.units.map((u) => u.state),
      ['failed', 'skipped', 'skipped', 'done', 'done'],
    );
    assert.equal(job.units[1]!.error, "not run: Validate 'Check' [Faulty] failed");
    assert.equal(
      job.units[2]!.error,
      "not run: Validate 'Check' [Faulty] failed",
      'the first failure is named, not the skipped step between',
    );
    assert.equal(job.error, "1 of 5 steps failed: Validate 'Check' [Faulty]: Validate 'Check' [Faulty] broke");
    assert.ok(!t.pool.started.includes("Transform 'Tri' [Faulty]"), 'a skipped unit never reaches a worker');
    const last = t.progress.at(-1)!;
    assert.deepEqual([last.done, last.failed, last.skipped, last.total], [2, 1, 2, 5]);
  });

  it('lets the runner hold units back (a per-node limit) without stalling the job', async () => {
    const units = Array.from({ length: 6 }, (_, i) => ({ key: i, label: `frame ${i}`, node: 'render' }));
    const t = run(units, { workers: 3, perNode: 1 });
    const job = await t.done();
    assert.equal(job.state, 'completed');
    assert.equal(t.maxRunning(), 1, 'never more than one frame of the node at once');
  });

  it('skips a unit that depends on a unit the job does not have, rather than waiting forever', async () => {
    const t = run([
      { key: 0, label: 'A', node: 'a' },
      { key: 1, label: 'B', node: 'b', dependsOn: [7] },
    ]);
    const job = await t.done();
    assert.deepEqual(
      job.units.map((u) => u.state),
      ['done', 'skipped'],
    );
    assert.match(job.units[1]!.error!, /depends on unit 7, which this job does not have/);
  });
});
