import assert from 'node:assert/strict';
import { appendFileSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { JobRecord } from '../../sidecar/domain/jobs/job.js';
import { JobStore } from '../../sidecar/domain/jobs/job-store.js';
import { tempDir } from '../helpers/sidecar.js';

function renderJob(frames: number): JobRecord {
  return {
    id: 'j-progress',
    kind: 'render',
    state: 'running',
    priority: 'normal',
    createdAt: new Date().toISOString(),
    params: { blendFile: '/x/shot.blend', output: '/x/renders/' },
    units: Array.from({ length: frames }, (_, i) => ({ key: i + 1, label: `frame ${i + 1}`, state: 'pending', attempts: [] })),
  } as unknown as JobRecord;
}

describe('the job store', () => {
  it('records a frame as a short progress line, not a rewrite, and reads the job back whole (a torn last line ignored)', () => {
    const state = tempDir('job-store-');
    const store = new JobStore(state);
    const job = renderJob(500);
    store.create(job);
    const file = join(state, 'jobs', `${job.id}.json`);
    const whole = statSync(file).size;
    for (let i = 0; i < 20; i++) {
      job.units[i]!.state = 'done';
      (job.units[i] as { output?: string }).output = `/x/renders/${String(i + 1).padStart(4, '0')}.png`;
      store.save(job);
    }
    assert.equal(statSync(file).size, whole, 'the job file was not rewritten per frame');
    const log = readFileSync(join(state, 'jobs', `${job.id}.progress.jsonl`), 'utf8');
    assert.equal(log.trim().split('\n').length, 20, 'one line per frame');
    assert.ok(log.length < whole / 4, `20 frames cost ${log.length} bytes, the whole file ${whole}`);
    appendFileSync(join(state, 'jobs', `${job.id}.progress.jsonl`), '{"unit":20,"value":{"key":21,"sta'); // a crash mid-append

    const again = new JobStore(state).loadAll(() => assert.fail('nothing is damaged'));
    assert.equal(again.length, 1);
    assert.deepEqual(again[0]!.units.map((u) => u.state).slice(0, 22), [...Array(20).fill('done'), 'pending', 'pending']);
    assert.equal((again[0]!.units[19] as { output?: string }).output, '/x/renders/0020.png');

    job.state = 'completed';
    store.save(job, { durable: true });
    assert.deepEqual(readdirSync(join(state, 'jobs')), [`${job.id}.json`], 'a state change folds the log into the job file');
    assert.equal(JSON.parse(readFileSync(file, 'utf8')).units.filter((u: { state: string }) => u.state === 'done').length, 20);
  });

  it("leaves finished jobs unread for one command's sidecar, loads the unfinished, and keeps the retention by file times", () => {
    const state = tempDir('job-store-skip-');
    const store = new JobStore(state);
    const make = (id: string, state: string, frames = 3) => {
      const job = { ...renderJob(frames), id, state } as JobRecord;
      store.create(job);
      return job;
    };
    make('j-running', 'running');
    for (const id of ['j-old', 'j-done-1', 'j-done-2', 'j-done-3']) make(id, 'completed');
    const jobs = join(state, 'jobs');
    const ago = (days: number) => new Date(Date.now() - days * 86_400_000);
    utimesSync(join(jobs, 'j-old.json'), ago(40), ago(40)); // past 30 days
    utimesSync(join(jobs, 'j-done-1.json'), ago(3), ago(3));
    utimesSync(join(jobs, 'j-done-2.json'), ago(2), ago(2));
    utimesSync(join(jobs, 'j-done-3.json'), ago(1), ago(1));
    // The newest finished job's file is cut after its start: read whole it is damaged; left unread, nobody notices.
    writeFileSync(join(jobs, 'j-done-3.json'), readFileSync(join(jobs, 'j-done-3.json'), 'utf8').slice(0, 120));
    utimesSync(join(jobs, 'j-done-3.json'), ago(1), ago(1));
    // A file that does not start the usual way (state first) is read whole, finished or not.
    const { state: _running, ...rest } = renderJob(1);
    writeFileSync(join(jobs, 'j-odd.json'), JSON.stringify({ state: 'completed', ...rest, id: 'j-odd' }));

    const loaded = new JobStore(state).loadAll(() => assert.fail('no file was read whole but the odd one'), {
      skipFinished: { keepDays: 30, keepFinished: 2 },
    });
    assert.deepEqual(loaded.map((j) => j.id).sort(), ['j-odd', 'j-running']);
    assert.deepEqual(
      readdirSync(jobs).sort(),
      ['j-done-2.json', 'j-done-3.json', 'j-odd.json', 'j-running.json'],
      'past 30 days and past the newest 2 finished: removed',
    );
    // Read as a long-running sidecar does: every job, and the cut one is damaged.
    const damaged: string[] = [];
    new JobStore(state).loadAll((file) => damaged.push(file));
    assert.deepEqual(damaged, ['j-done-3.json']);
  });
});
