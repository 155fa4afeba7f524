/**
 * The real-file corpus (28 .blend files saved by Blender 2.78 to 5.3) through one sidecar that knows Blender 3.4, 4.3
 * and 5.2 (the .ci wrappers are installed Blenders like any other): each file is exported by the Blender it needs, and
 * its GLB agrees with that Blender's own direct export. It runs once, not per matrix Blender (it is outside
 * test/blender/), and needs all three Blenders: without them it fails saying which is missing.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { SidecarClient } from '../../sidecar/client/sidecar-client.js';
import { resolveCommand } from '../../sidecar/domain/blender/locate.js';
import { inspectGltf, type GltfSummary } from '../../sidecar/domain/verify/gltf.js';
import { corpusDir, corpusVersions } from '../helpers/corpus.js';
import { tempDir, testSidecar, type TestSidecar } from '../helpers/sidecar.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
export const MATRIX = {
  '3.4': resolveCommand('blender'),
  '4.3': join(root, '.ci', 'blender-4.3'),
  '5.2': join(root, '.ci', 'blender-5.2'),
} as const;

/** The routing rule, written out by hand for the three Blenders: same major.minor, else the oldest newer one. */
function expectedBlender(saved: string): '3.4' | '4.3' | '5.2' | 'refused' {
  const [major, minor] = saved.split('.').map(Number) as [number, number];
  const n = major * 100 + minor;
  if (n <= 304) return '3.4';
  if (n <= 403) return '4.3';
  if (n <= 502) return '5.2';
  return 'refused';
}

/** Blender's own export of a file, as a user would run it: one Blender per file. */
export function directExport(blender: string, blend: string, out: string): void {
  const expr = `import bpy; bpy.ops.export_scene.gltf(filepath=${JSON.stringify(out)}, export_format='GLB')`;
  execFileSync(blender, ['-b', '--factory-startup', blend, '--python-exit-code', '1', '--python-expr', expr], {
    stdio: 'ignore',
    timeout: 180_000,
  });
}

const comparable = (s: GltfSummary) => ({ ...s, bytes: undefined });

describe('the corpus, each file on the Blender it needs', () => {
  let dir: string;
  let sidecar: TestSidecar;
  let client: SidecarClient;
  const files: Array<{ name: string; path: string; saved: string }> = [];

  before(async () => {
    const corpus = corpusDir();
    dir = tempDir('corpus-');
    // Copies: the corpus is read-only, and Blender may write beside a file it opens. The images come along.
    for (const name of readdirSync(corpus)) copyFileSync(join(corpus, name), join(dir, name));
    const { readBlendHeader } = await import('../../sidecar/domain/blender/blend-header.js');
    for (const name of [...corpusVersions().keys()].sort()) {
      files.push({ name, path: join(dir, name), saved: readBlendHeader(join(dir, name)).version! });
    }
    sidecar = await testSidecar({ instances: 2, blender: Object.values(MATRIX) });
    client = await sidecar.client();
  });
  after(() => sidecar?.stop());

  it('knows the three Blenders, with their versions and formats', async () => {
    const info = await client.call('sidecar.info', {});
    const versions = info.blenders.map((b) => `${b.version?.split('.').slice(0, 2).join('.')}`);
    assert.deepEqual(versions, ['3.4', '4.3', '5.2'], JSON.stringify(info.blenders));
    for (const b of info.blenders) assert.ok(b.exportFormats?.includes('glb'), `${b.path} can write glb`);
  });

  it("exports every file on its Blender, each GLB agreeing with that Blender's direct export; a file newer than all is refused", async () => {
    mkdirSync(join(dir, 'out'));
    const jobs: Array<{ file: (typeof files)[number]; jobId: string; want: string }> = [];
    for (const file of files) {
      const want = expectedBlender(file.saved);
      const params = { blendFile: file.path, format: 'glb', output: join(dir, 'out', file.name.replace(/\.blend$/, '.glb')) };
      if (want === 'refused') {
        await assert.rejects(client.call('export.submit', params), (err: Error & { code: number }) => {
          assert.equal(err.code, -32602);
          assert.match(
            err.message,
            new RegExp(
              `saved by Blender ${file.saved.replace('.', '\\.')}, newer than every installed Blender \\(3\\.4\\.\\d.*4\\.3\\.\\d.*5\\.2\\.\\d`,
            ),
          );
          return true;
        });
        continue;
      }
      const { jobId } = await client.call('export.submit', params);
      jobs.push({ file, jobId, want });
    }
    assert.equal(jobs.length, files.length - 1, 'one file (saved by 5.3) is refused, every other one runs');
    for (const { file, jobId, want } of jobs) {
      const job = await client.call('job.wait', { jobId, timeoutMs: 300_000 }, { timeoutMs: 310_000 });
      assert.equal(job.state, 'completed', `${file.name}: ${job.error}`);
      assert.equal(job.blend?.version, file.saved, file.name);
      assert.equal(job.blender?.path, MATRIX[want as keyof typeof MATRIX], `${file.name} (saved by ${file.saved}) goes to ${want}`);
      assert.ok(
        job.units[0]!.attempts.every((a) => a.blender?.startsWith(`${want}.`)),
        `${file.name} ran on ${want}`,
      );
      const output = job.units[0]!.output!;
      const reference = join(dir, 'out', `${file.name}.direct.glb`);
      directExport(MATRIX[want as keyof typeof MATRIX], file.path, reference);
      assert.deepEqual(
        comparable(await inspectGltf(output)),
        comparable(await inspectGltf(reference)),
        `${file.name} agrees with Blender ${want}'s own export`,
      );
    }
  });
});
