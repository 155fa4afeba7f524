import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_WORKER_BYTES, Placement } from '../../sidecar/domain/workers/placement.js';

const MB = 1024 ** 2;
const GB = 1024 ** 3;

describe('Placement', () => {
  describe('#threads', () => {
    it('gives a frame starting alone every core, and one starting beside others its share', () => {
      const p = new Placement({ cores: 8 });
      assert.deepEqual(
        [0, 1, 2, 3, 7, 20].map((busy) => p.threads(busy)),
        [8, 4, 2, 2, 1, 1],
      );
    });

    it('keeps a fixed thread count whatever runs', () => {
      const p = new Placement({ cores: 8, fixedThreads: 3 });
      assert.deepEqual(
        [0, 1, 7].map((busy) => p.threads(busy)),
        [3, 3, 3],
      );
    });
  });

  describe('#fit', () => {
    const ask = { perWorkerBytes: 2 * GB, jobWorkers: 1, jobRssBytes: 2 * GB, otherRssBytes: 0, wanted: 4 };

    it("allows as many workers as fit in free memory less the margin, the job's own workers counting as its own", () => {
      const p = new Placement({ freeMemory: () => 7 * GB, marginBytes: 1 * GB });
      // 7 free - 1 margin + 2 held by the job = 8 GB: four workers of 2 GB.
      assert.deepEqual(p.fit(ask), { cap: 4 });
      assert.equal(new Placement({ freeMemory: () => 4 * GB, marginBytes: 1 * GB }).fit(ask).cap, 2);
    });

    it('says why in one line when memory holds the job back', () => {
      const p = new Placement({ freeMemory: () => 14 * GB, marginBytes: 0 });
      const fit = p.fit({ perWorkerBytes: 11.8 * GB, jobWorkers: 1, jobRssBytes: 0, otherRssBytes: 0, wanted: 4 });
      assert.deepEqual(fit, { cap: 1, note: '1 of 4 workers: 11.8 GB each, 14.0 GB free' });
    });

    it('stays within the budget, less what other workers hold', () => {
      const p = new Placement({ freeMemory: () => 100 * GB, marginBytes: 0, memoryBudgetBytes: 3 * GB });
      const fit = p.fit({ perWorkerBytes: 600 * MB, jobWorkers: 0, jobRssBytes: 0, otherRssBytes: 1 * GB, wanted: 8 });
      assert.equal(fit.cap, 3);
      assert.match(fit.note!, /^3 of 8 workers: 600 MB each, 100\.0 GB free, a budget of 3\.0 GB with 1\.0 GB held by other workers$/);
    });

    it('always leaves a job one worker, and assumes a size until a frame is measured', () => {
      const p = new Placement({ freeMemory: () => 256 * MB, marginBytes: 512 * MB });
      const fit = p.fit({ perWorkerBytes: undefined, jobWorkers: 0, jobRssBytes: 0, otherRssBytes: 0, wanted: 2 });
      assert.equal(fit.cap, 1);
      assert.match(fit.note!, new RegExp(`${(DEFAULT_WORKER_BYTES / GB).toFixed(1)} GB each \\(assumed until a frame is measured\\)`));
    });

    it('never offers more than the job wants', () => {
      assert.deepEqual(new Placement({ freeMemory: () => 100 * GB, marginBytes: 0 }).fit({ ...ask, wanted: 2 }), { cap: 2 });
    });
  });
});
