import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { tempDir, testSidecar } from '../helpers/sidecar.js';

const day = 86_400_000;

/** A finished render job's file, as the job store writes it, finished `daysAgo` days ago. */
function finishedJob(id: string, daysAgo: number) {
  const at = new Date(Date.now() - daysAgo * day).toISOString();
  return {
    id,
    kind: 'render',
    state: 'completed',
    priority: 'normal',
    createdAt: at,
    startedAt: at,
    finishedAt: at,
    params: { blendFile: '/x/shot.blend', output: '/x/renders/' },
    units: [{ key: 1, label: 'frame 1', state: 'done', attempts: [] }],
  };
}

describe('finished jobs are kept for a while, then pruned', () => {
  it('keeps those within the retention (days and count), and prunes the rest from the list and the disk', async () => {
    const state = join(tempDir('retention-'), 'state');
    const jobs = join(state, 'jobs');
    mkdirSync(jobs, { recursive: true, mode: 0o700 });
    const ages = { 'j-new1': 1, 'j-new2': 2, 'j-new3': 3, 'j-old': 40 };
    for (const [id, age] of Object.entries(ages)) writeFileSync(join(jobs, `${id}.json`), JSON.stringify(finishedJob(id, age)));
    const sidecar = await testSidecar({ stateDir: state, retention: { keepDays: 30, keepFinished: 2 } });
    try {
      const c = await sidecar.client();
      const listed = (await c.call('job.list', {})).jobs.map((j) => j.id).sort();
      assert.deepEqual(listed, ['j-new1', 'j-new2'], 'the two newest, within 30 days');
      assert.deepEqual(readdirSync(jobs).sort(), ['j-new1.json', 'j-new2.json']);
      assert.equal(existsSync(join(jobs, 'j-old.json')), false);
    } finally {
      await sidecar.stop();
    }
  });
});
