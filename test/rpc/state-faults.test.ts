import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { tempDir, testSidecar } from '../helpers/sidecar.js';
import { fill, mountTmpfs, remountReadOnly, subdir, unmountAll } from '../helpers/tmpfs.js';

const key = { object: 'Grid', modifier: 'GeometryNodes', input: 'Count' };

describe('a state folder that cannot be written', () => {
  after(unmountAll);

  it('read-only at start: serve exits non-zero at once with a sentence naming the folder, no stack trace', () => {
    const mount = mountTmpfs(256);
    const state = subdir(mount, 'state');
    remountReadOnly(mount);
    const r = runCli(['serve', '--state-dir', state]);
    assert.equal(r.status, 1);
    assert.match(
      r.stderr,
      new RegExp(
        `^error: could not take the lock sidecar.lock in the state folder ${state}: it is on a read-only file system; start the sidecar with --state-dir`,
      ),
    );
    assert.doesNotMatch(r.stderr, /unexpected error|\n\s+at /);
    assert.equal(r.stdout, '', 'it never listened');
  });

  it('sidecar.json in the way: serve exits non-zero, leaves no temp file and no lock', () => {
    const state = join(tempDir('faults-json-'), 'state');
    mkdirSync(join(state, 'sidecar.json'), { recursive: true });
    const r = runCli(['serve', '--state-dir', state]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /could not write sidecar.json in the state folder .*: something in it is not what the sidecar expects/);
    assert.deepEqual(
      readdirSync(state).filter((f) => f.endsWith('.tmp') || f === 'sidecar.lock'),
      [],
    );
  });

  it('damaged at start: a damaged journal line and job file become alerts, and the sidecar serves what it could read', async () => {
    const state = join(tempDir('faults-damaged-'), 'state');
    const first = await testSidecar({ stateDir: state });
    const c1 = await first.client();
    for (let i = 0; i < 3; i++) await c1.call('gn.set', { channel: 'shot', key, type: 'int', value: i, baseRevision: i });
    await first.stop();
    const journal = join(state, 'gn-journal.jsonl');
    const lines = readFileSync(journal, 'utf8').split('\n');
    lines[1] = `{${lines[1]}`;
    writeFileSync(journal, lines.join('\n'));
    writeFileSync(join(state, 'jobs', 'j-broken.json'), '{"id": "j-bro');
    const second = await testSidecar({ stateDir: state });
    try {
      const c = await second.client();
      assert.equal((await c.call('gn.get', { channel: 'shot' })).revision, 1, 'what came before the damage');
      const { alerts } = await c.call('alert.list', {});
      const keys = alerts.map((a) => a.key);
      assert.ok(keys.includes('gn-journal-damaged') && keys.includes('job-file-damaged:j-broken.json'), keys.join(', '));
      assert.match(alerts.find((a) => a.key === 'gn-journal-damaged')!.what, /line 2 is damaged .*set the file aside as/);
      assert.deepEqual(await c.call('gn.set', { channel: 'shot', key, type: 'int', value: 7, baseRevision: 1 }), { revision: 2 });
    } finally {
      await second.stop();
    }
  });

  it('full while running: new writes are refused with -32005 and an alert, unsaved jobs are not listed, and all is well once space returns', async () => {
    const mount = mountTmpfs(1024);
    const state = subdir(mount, 'state');
    const sidecar = await testSidecar({ stateDir: state });
    try {
      const c = await sidecar.client();
      assert.deepEqual(await c.call('gn.set', { channel: 'shot', key, type: 'int', value: 1, baseRevision: 0 }), { revision: 1 });
      const blend = join(tempDir('faults-blend-'), 'shot.blend');
      writeFileSync(blend, 'BLENDER-v304');
      const filler = fill(mount);

      // Larger than what is left of the journal's last page: the append needs a new one.
      const refused = await c
        .call('gn.set', { channel: 'shot', key: { ...key, input: 'Label' }, type: 'string', value: 'x'.repeat(20_000), baseRevision: 1 })
        .catch((e) => e);
      assert.equal(refused.code, -32005);
      assert.match(
        refused.message,
        /could not be saved \(ENOSPC.*\); this write was not applied; try again once the state folder has room/,
      );
      const job = await c.call('render.submit', { blendFile: blend, output: `${tempDir('faults-out-')}/` }).catch((e) => e);
      assert.equal(job.code, -32005);
      assert.match(
        job.message,
        new RegExp(`could not save the new job .* in the state folder ${state}: the disk is full; free space there`),
      );
      assert.deepEqual((await c.call('job.list', {})).jobs, [], 'a job that could not be saved is not listed');
      const { alerts } = await c.call('alert.list', {});
      const alert = alerts.find((a) => a.key === 'state-folder-unwritable');
      assert.ok(alert, JSON.stringify(alerts));
      assert.equal(alert.where, state);
      assert.match(alert.action, /disk is full; free space there/);
      assert.equal((await c.call('gn.get', { channel: 'shot' })).revision, 1, 'reads go on');

      rmSync(filler);
      assert.deepEqual(await c.call('gn.set', { channel: 'shot', key, type: 'int', value: 2, baseRevision: 1 }), { revision: 2 });
      assert.ok(!(await c.call('alert.list', {})).alerts.some((a) => a.key === 'state-folder-unwritable'), 'the alert is resolved');
      assert.deepEqual(
        readdirSync(state).filter((f) => f.endsWith('.tmp')),
        [],
      );
      assert.deepEqual(
        readdirSync(join(state, 'jobs')).filter((f) => f.endsWith('.tmp')),
        [],
      );
    } finally {
      await sidecar.stop();
    }
  });
});
