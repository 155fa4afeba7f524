/**
 * One broken Blender among the installed ones: its jobs fail saying it could not start, while jobs of the working
 * Blender go on. The broken one is a wrapper script that answers --version and then fails to start, as a Blender with
 * a missing library does (a stand-in: a really broken install cannot be made here on purpose).
 */
import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { SidecarClient } from '../../sidecar/client/sidecar-client.js';
import { corpusDir } from '../helpers/corpus.js';
import { tempDir, testSidecar, type TestSidecar } from '../helpers/sidecar.js';

describe('a broken Blender beside a working one', () => {
  let dir: string;
  let broken: string;
  let sidecar: TestSidecar;
  let client: SidecarClient;
  before(async () => {
    dir = tempDir('broken-blender-');
    copyFileSync(join(corpusDir(), 'B.blend'), join(dir, 'B.blend'));
    broken = join(dir, 'blender-4.9');
    writeFileSync(
      broken,
      '#!/bin/sh\nif [ "$1" = "--version" ]; then echo "Blender 4.9.0"; exit 0; fi\necho "error while loading shared libraries: libfoo.so.1" >&2\nexit 127\n',
    );
    chmodSync(broken, 0o755);
    sidecar = await testSidecar({ instances: 2, blender: ['blender', broken] });
    client = await sidecar.client();
  });
  after(() => sidecar?.stop());

  it('fails the jobs pinned to the broken Blender with its reason, and runs the others', async () => {
    // Submitted together: the render pinned to the broken Blender, the export routed to the working one.
    const bad = await client.call('render.submit', {
      blendFile: join(dir, 'B.blend'),
      frames: '1',
      output: `${join(dir, 'frames')}/`,
      blender: '4.9',
    });
    const good = await client.call('export.submit', { blendFile: join(dir, 'B.blend'), format: 'glb', output: join(dir, 'good.glb') });
    const job = await client.call('job.wait', { jobId: good.jobId, timeoutMs: 120_000 }, { timeoutMs: 130_000 });
    assert.equal(job.state, 'completed', job.error);
    assert.match(job.blender!.version, /^3\.4\./);
    const failed = await client.call('job.wait', { jobId: bad.jobId, timeoutMs: 60_000 });
    assert.equal(failed.state, 'failed');
    assert.match(failed.error!, /no Blender worker could start: .*libfoo\.so\.1/);
    assert.equal(failed.blender?.path, broken);
  });
});
