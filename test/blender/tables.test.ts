// The worker, run by real Blender from dist/worker as the sidecar ships it, reads its tables from the sidecar's:
// every export format it reports is the table's (label, extensions, one of the table's operators), and the image and
// bake formats its modules use are the table's.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { BAKE_IMAGE_FORMATS } from '../../sidecar/domain/bake/bake-request.js';
import { EXPORT_FORMATS } from '../../sidecar/domain/export/formats.js';
import { RENDER_ENGINES } from '../../sidecar/domain/render/engines.js';
import { IMAGE_FORMAT_TABLE } from '../../sidecar/domain/render/image-formats.js';
import { MOVIE_CODEC_TABLE, MOVIE_CONTAINER_TABLE } from '../../sidecar/domain/render/movie.js';
import { blenderPath } from '../helpers/blender.js';

const worker = fileURLToPath(new URL('../../dist/worker/', import.meta.url));
// After the probe, the worker modules' own view of the image and bake tables, as one line.
const modules = [
  'import json, sys',
  'from sidecar_worker import bake, movie, preview',
  'sys.stdout.write("WORKER_TABLES " + json.dumps({"linear": sorted(preview.LINEAR_FORMATS), "bake": bake.BAKE_IMAGE_FORMATS, "codecs": movie.CODECS, "containers": movie.CONTAINERS}) + "\\n")',
].join('\n');

function line(stdout: string, tag: string): any {
  const found = stdout.split('\n').find((l) => l.startsWith(`${tag} `));
  assert.ok(found, `no ${tag} line in Blender's output:\n${stdout.slice(-2000)}`);
  return JSON.parse(found.slice(tag.length + 1));
}

describe("the worker's formats in Blender", () => {
  const r = spawnSync(
    blenderPath(),
    ['-b', '--factory-startup', '--python-exit-code', '1', '--python', join(worker, 'probe.py'), '--python-expr', modules],
    { encoding: 'utf8', timeout: 120_000 },
  );

  it("reports each export format as the sidecar's table has it", () => {
    assert.equal(r.status, 0, r.stderr);
    const reported = line(r.stdout, 'SIDECAR_PROBE').exportFormats as Array<{
      format: string;
      label: string;
      extensions: string[];
      operator: string;
      options: string[];
    }>;
    // Every Blender of the matrix writes these; the rest depend on the build.
    for (const name of ['glb', 'gltf', 'fbx', 'obj'])
      assert.ok(
        reported.some((f) => f.format === name),
        `${name} is not among ${reported.map((f) => f.format).join(', ')}`,
      );
    for (const f of reported) {
      const spec = EXPORT_FORMATS.find((s) => s.format === f.format);
      assert.ok(spec, `${f.format} is not in the sidecar's table`);
      assert.equal(f.label, spec.label);
      assert.deepEqual(f.extensions, [...spec.extensions]);
      assert.ok(
        spec.exporters.some((e) => e.operator === f.operator),
        `${f.format}: ${f.operator} is not one of the table's operators`,
      );
      assert.ok(f.options.length > 0, `${f.format}: no options listed`);
    }
    assert.deepEqual(
      reported.map((f) => f.format),
      EXPORT_FORMATS.map((f) => f.format).filter((n) => reported.some((f) => f.format === n)),
    );
  });

  it("finds this Blender's engines among the table's identifiers, Cycles and Workbench on every Blender", () => {
    const engines = line(r.stdout, 'SIDECAR_PROBE').engines as string[];
    const known: string[] = RENDER_ENGINES.flatMap((e) => [...e.identifiers]);
    for (const e of engines) assert.ok(known.includes(e), `${e} is not in the sidecar's engine table`);
    for (const e of ['CYCLES', 'BLENDER_WORKBENCH']) assert.ok(engines.includes(e), `${e} is not among ${engines.join(', ')}`);
    assert.ok(
      engines.some((e) => e.startsWith('BLENDER_EEVEE')),
      `no EEVEE among ${engines.join(', ')}`,
    );
  });

  it("tone-maps previews of the table's linear formats, saves baked maps and encodes movies in the table's formats", () => {
    const tables = line(r.stdout, 'WORKER_TABLES');
    assert.deepEqual(
      tables.linear,
      IMAGE_FORMAT_TABLE.filter((f) => f.linear)
        .map((f) => f.format)
        .sort(),
    );
    assert.deepEqual(tables.bake, BAKE_IMAGE_FORMATS);
    assert.deepEqual(tables.codecs, Object.fromEntries(MOVIE_CODEC_TABLE.map((c) => [c.codec, c.ffmpeg])));
    assert.deepEqual(tables.containers, Object.fromEntries(MOVIE_CONTAINER_TABLE.map((c) => [c.extension, c.ffmpeg])));
  });
});
