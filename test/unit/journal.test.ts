import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { JOURNAL_FILE, openSyncStore, type SyncJournalOptions } from '../../sidecar/domain/sync/journal-persistence.js';
import type { EntryKey } from '../../sidecar/domain/sync/value.js';
import { tempDir } from '../helpers/sidecar.js';

const key = (input: string): EntryKey => ({ object: 'Grid', modifier: 'GeometryNodes', input });

function open(dir: string, options: SyncJournalOptions = {}) {
  mkdirSync(dir, { recursive: true });
  const warnings: string[] = [];
  const state = openSyncStore(dir, (m) => warnings.push(m), options);
  return { ...state, warnings };
}

function values(dir: string) {
  const s = open(dir);
  const snap = s.store.get('shot');
  s.close();
  return {
    revision: snap.revision,
    epoch: snap.epoch,
    values: Object.fromEntries(snap.entries.map((e) => [e.key.input, e.value])),
    warnings: s.warnings,
  };
}

describe('the Geometry Nodes journal', () => {
  it('cut at every byte of its last record, restarts with what was acknowledged, and takes later writes for good', () => {
    const base = tempDir('journal-cut-');
    const whole = join(base, 'whole');
    const s = open(whole);
    s.store.set('shot', { key: key('Count'), type: 'int', value: 1 }, 0, 'alice');
    s.store.set('shot', { key: key('Name'), type: 'string', value: 'first' }, 1, 'alice');
    const lengthBefore = statSync(join(whole, JOURNAL_FILE)).size;
    s.store.setMany(
      'shot',
      [
        { key: key('Count'), type: 'int', value: 3 },
        { key: key('Name'), type: 'string', value: 'lost?' },
      ],
      2,
      'bob',
    );
    s.close();
    const bytes = readFileSync(join(whole, JOURNAL_FILE));
    const epoch = values(whole).epoch;
    assert.ok(bytes.length > lengthBefore + 100, 'the last record is a real one');

    for (let cut = lengthBefore; cut < bytes.length; cut++) {
      const dir = join(base, `cut-${cut}`);
      open(dir).close();
      writeFileSync(join(dir, JOURNAL_FILE), bytes.subarray(0, cut));
      const first = open(dir);
      assert.equal(first.store.revision('shot'), 2, `cut at ${cut}: the two acknowledged writes are there`);
      assert.deepEqual(
        first.store.get('shot').entries.map((e) => e.value),
        [1, 'first'],
        `cut at ${cut}`,
      );
      if (cut > lengthBefore) assert.match(first.warnings.join('\n'), /torn record .*cut back to the last whole record/, `cut at ${cut}`);
      else assert.deepEqual(first.warnings, [], 'a journal cut on a record boundary is whole');
      // The next write takes revision 3 and survives the following restarts: nothing glues it to the torn bytes.
      assert.equal(first.store.set('shot', { key: key('Count'), type: 'int', value: 30 + cut }, 2, 'carol').revision, 3);
      first.close();
      for (let restart = 0; restart < 2; restart++) {
        const again = values(dir);
        assert.equal(again.revision, 3, `cut at ${cut}, restart ${restart}`);
        assert.equal(again.epoch, epoch, 'the same history');
        assert.deepEqual(again.values, { Name: 'first', Count: 30 + cut });
        assert.deepEqual(again.warnings, [], `cut at ${cut}, restart ${restart}: nothing left to cut`);
      }
    }
  });

  it('starts past a damaged line in the middle, keeping what came before and a copy of the file', () => {
    const dir = tempDir('journal-damaged-');
    const s = open(dir);
    for (let i = 1; i <= 3; i++) s.store.set('shot', { key: key('Count'), type: 'int', value: i }, i - 1, 'alice');
    s.close();
    const lines = readFileSync(join(dir, JOURNAL_FILE), 'utf8').split('\n');
    lines[1] = `${lines[1]!.slice(0, 1)}#garbage#${lines[1]!.slice(1)}`;
    writeFileSync(join(dir, JOURNAL_FILE), lines.join('\n'));
    const after = open(dir);
    assert.equal(after.store.revision('shot'), 1);
    assert.match(after.warnings.join('\n'), /line 2 is damaged .*kept the 1 record\(s\) before it and set the file aside as .*damaged-/);
    const copies = readdirSync(dir).filter((f) => f.startsWith(`${JOURNAL_FILE}.damaged-`));
    assert.equal(copies.length, 1);
    assert.equal(readFileSync(join(dir, copies[0]!), 'utf8'), lines.join('\n'), 'the copy holds the damaged file as it was');
    assert.equal(after.store.set('shot', { key: key('Count'), type: 'int', value: 9 }, 1, 'alice').revision, 2);
    after.close();
    assert.deepEqual(values(dir).values, { Count: 9 });
  });

  it('compacts while running: many writes of large values keep the file near the size of what it holds', () => {
    const dir = tempDir('journal-compact-');
    const floor = 1 * 2 ** 20;
    const s = open(dir, { compactFloorBytes: floor });
    const big = (i: number) => `${i}:`.padEnd(60_000, 'x');
    let revision = 0;
    let largest = 0;
    for (let i = 0; i < 200; i++) {
      const changes = Array.from({ length: 8 }, (_, j) => ({ key: key(`In ${j}`), type: 'string' as const, value: big(i * 8 + j) }));
      revision = s.store.setMany('shot', changes, revision, 'alice').revision;
      largest = Math.max(largest, statSync(join(dir, JOURNAL_FILE)).size);
    }
    s.close();
    const written = 200 * 8 * 60_000;
    assert.ok(largest < 3 * s.store.bytes + floor, `the journal peaked at ${largest} bytes for ${s.store.bytes} held (${written} written)`);
    const again = values(dir);
    assert.equal(again.revision, 200);
    assert.equal(again.values['In 7'], big(199 * 8 + 7));
    assert.deepEqual(again.warnings, []);
  });

  it('refuses writes past the entry and byte limits with a sentence naming the channel and the way out', () => {
    const dir = tempDir('journal-limits-');
    const s = open(dir, { maxEntries: 4, maxChannelBytes: 200_000, maxTotalBytes: 300_000 });
    s.store.setMany(
      'a',
      [0, 1, 2, 3].map((i) => ({ key: key(`In ${i}`), type: 'int' as const, value: i })),
      0,
      'alice',
    );
    assert.throws(
      () => s.store.set('a', { key: key('In 4'), type: 'int', value: 4 }, 1, 'alice'),
      /channel "a" holds 4 entries and may hold at most 4; write to another channel, or delete this one with gn.deleteChannel/,
    );
    const large = 'y'.repeat(65_000);
    s.store.setMany(
      'b',
      [0, 1].map((i) => ({ key: key(`S ${i}`), type: 'string' as const, value: large })),
      0,
      'alice',
    );
    assert.throws(
      () =>
        s.store.setMany(
          'b',
          [
            { key: key('S 2'), type: 'string', value: large },
            { key: key('S 3'), type: 'string', value: large },
          ],
          1,
          'alice',
        ),
      /would take channel "b" to .* MiB of values, over its 0.2 MiB limit/,
    );
    s.store.setMany(
      'c',
      [0, 1].map((i) => ({ key: key(`S ${i}`), type: 'string' as const, value: large })),
      0,
      'alice',
    );
    assert.throws(
      () => s.store.set('d', { key: key('S 0'), type: 'string', value: large }, 0, 'alice'),
      /over the sidecar's 0.3 MiB limit; delete channels you no longer need/,
    );
    assert.deepEqual(s.store.channelNames(), ['a', 'b', 'c'], 'a refused first write takes no slot');
    assert.equal(s.store.deleteChannel('c', 'alice'), true);
    assert.equal(
      s.store.set('d', { key: key('S 0'), type: 'string', value: large }, 0, 'alice').revision,
      1,
      'room again after a deletion',
    );
    s.close();
    const again = open(dir);
    assert.deepEqual(again.store.channelNames(), ['a', 'b', 'd'], 'the deletion is durable');
    again.close();
  });
});
