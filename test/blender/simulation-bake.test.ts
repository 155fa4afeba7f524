import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { RpcCallError } from '../../sidecar/client/errors.js';
import type { SidecarClient } from '../../sidecar/client/sidecar-client.js';
import { runBlender } from '../helpers/bake.js';
import { blenderPath, makeScene } from '../helpers/blender.js';
import { waitForLine } from '../helpers/cli.js';
import { tempDir, testSidecar, type TestSidecar } from '../helpers/sidecar.js';

const fixtures = fileURLToPath(new URL('../fixtures/', import.meta.url));

describe('bake.simulation on real Blender', () => {
  let sidecar: TestSidecar;
  let client: SidecarClient;
  let dir: string;
  let info: { version: string; simulationBake: boolean };

  before(async () => {
    dir = tempDir('simbake-');
    sidecar = await testSidecar({ instances: 2 });
    client = await sidecar.client();
    const i = await client.call('sidecar.info', {});
    info = { version: i.blender.version!, simulationBake: i.simulationBake };
  });
  after(() => sidecar.stop());

  it('bakes a simulation to disk on 4.1+, which a running Blender then plays back without reopening; 3.4 is refused naming its version', async () => {
    if (!info.simulationBake) {
      // Blender 3.4 has no simulation zones: the request is refused before a job exists, naming the version.
      assert.match(info.version, /^3\./);
      const scene = makeScene(dir, 'plain.blend');
      await assert.rejects(client.call('bake.simulation', { blendFile: scene, output: `${dir}/bake/` }), (err: unknown) => {
        assert.ok(err instanceof RpcCallError);
        assert.equal(err.code, -32602);
        assert.match(
          err.message,
          new RegExp(
            `^Blender ${info.version.replaceAll('.', '\\.')} \\(the Blender this file runs on\\) has no simulation zones or Bake nodes to bake`,
          ),
        );
        return true;
      });
      return;
    }
    const blend = join(dir, 'sim.blend');
    runBlender(['--python', join(fixtures, 'sim_scene.py'), '--', blend]);
    // The artist's session: open before the bake, still running after it.
    const go = join(dir, 'go');
    const session = spawn(
      blenderPath(),
      ['-b', blend, '--python-exit-code', '1', '--python', join(fixtures, 'sim_playback.py'), '--', go],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    session.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => session.on('exit', resolve));
    const beforeLine = await waitForLine(session, /^BEFORE (\S+)$/m, 60_000);
    assert.equal(Number(beforeLine[1]), 1.2, 'unbaked, a jump to the last frame shows one step');

    const { jobId } = await client.call('bake.simulation', { blendFile: blend, output: `${dir}/bake/` });
    const job = await client.call('job.wait', { jobId, timeoutMs: 120_000 }, { timeoutMs: 130_000 });
    assert.equal(job.state, 'completed', job.error);
    const caches = job.result!.caches as Array<{ object: string; modifier: string; directory: string; bakes: Array<{ frames: number }> }>;
    assert.deepEqual(
      caches.map((c) => [c.object, c.modifier]),
      [['Riser', 'Rise']],
      'only the object with a simulation',
    );
    assert.equal(caches[0]!.directory, join(dir, 'bake', 'Riser_Rise'));
    assert.equal(caches[0]!.bakes[0]!.frames, 10);
    assert.deepEqual(readdirSync(join(dir, 'bake')), ['Riser_Rise'], 'no staging folder left');

    writeFileSync(go, caches[0]!.directory);
    assert.equal(await exited, 0, out);
    const played = /^AFTER (.*)$/m.exec(out)?.[1];
    assert.equal(
      played,
      [...Array(10).keys()].map((i) => `${i + 1}=${(1 + 0.1 * (i + 1)).toFixed(1)}`).join(' '),
      'every frame read from the bake',
    );

    // An object without a simulation is refused in a sentence naming it.
    const plain = await client.call('bake.simulation', { blendFile: blend, objects: ['Plain'], output: `${dir}/bake2/` });
    const refused = await client.call('job.wait', { jobId: plain.jobId, timeoutMs: 60_000 }, { timeoutMs: 70_000 });
    assert.equal(refused.state, 'failed');
    assert.match(refused.error ?? '', /'Plain' has no Geometry Nodes modifier with a simulation zone or Bake node/);
  });
});
