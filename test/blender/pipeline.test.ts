import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { NotificationParams } from '../../sidecar/api/spec/index.js';
import { RpcCallError } from '../../sidecar/client/errors.js';
import type { SidecarClient } from '../../sidecar/client/sidecar-client.js';
import { inspectGltf } from '../../sidecar/domain/verify/gltf.js';
import { makeScene } from '../helpers/blender.js';
import { pixels } from '../helpers/images.js';
import { runCli } from '../helpers/cli.js';
import { readMovie } from '../helpers/movie.js';
import { validateGltf } from '../helpers/gltf-validator.js';
import { tempDir, testSidecar, type TestSidecar } from '../helpers/sidecar.js';

const template = (name: string) =>
  JSON.parse(readFileSync(new URL(`../../sidecar/pipelines/templates/${name}.json`, import.meta.url), 'utf8'));
const link = (from: string, to: string, fromSocket = 'objects', toSocket = 'objects') => ({
  from: { node: from, socket: fromSocket },
  to: { node: to, socket: toSocket },
});

/** Five nodes: every collection but the default one and the faulty one, checked strictly, triangulated, exported. */
const assetGraph = {
  version: 1,
  name: 'Assets',
  nodes: [
    { id: 'src', type: 'source', name: 'Collections', settings: { mode: 'collections', exclude: ['Collection', 'Faulty'] } },
    {
      id: 'check',
      type: 'validate',
      name: 'Check meshes',
      settings: {
        checks: { non_manifold: 'fail', missing_textures: 'fail', unapplied_scale: 'fail', ngons: 'fail', empty_meshes: 'fail' },
      },
    },
    { id: 'tri', type: 'transform', name: 'Triangulate', settings: { applyModifiers: true, triangulate: true } },
    { id: 'glb', type: 'export', name: 'Export GLB', settings: { format: 'glb', output: '//assets/{name}.glb' } },
    { id: 'report', type: 'report', name: 'Report', settings: { output: '//assets/report.json' } },
  ],
  links: [link('src', 'check'), link('check', 'tri'), link('tri', 'glb'), link('glb', 'report', 'files', 'files')],
};

const corpus = new URL('../../../shared/corpus/', import.meta.url).pathname;

/** The box of pixels that differ from the top-left corner's colour (the background), or undefined when none do. */
function foreground({ width, height, data }: ReturnType<typeof pixels>) {
  const differs = (x: number, y: number) => {
    const i = (y * width + x) * 4;
    return [0, 1, 2].some((c) => Math.abs(data[i + c]! - data[c]!) > 8);
  };
  let box: { left: number; top: number; right: number; bottom: number } | undefined;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (!differs(x, y)) continue;
      box ??= { left: x, top: y, right: x, bottom: y };
      box = { left: Math.min(box.left, x), top: Math.min(box.top, y), right: Math.max(box.right, x), bottom: Math.max(box.bottom, y) };
    }
  }
  return box;
}

/** The triangles of every primitive of a GLB, read from its JSON chunk (indexed TRIANGLES, as Blender writes them). */
function primitiveTriangles(path: string): number[] {
  const buf = readFileSync(path);
  const json = JSON.parse(buf.subarray(20, 20 + buf.readUInt32LE(12)).toString('utf8'));
  return json.meshes.flatMap((m: any) =>
    m.primitives.map((p: any) => {
      assert.equal(p.mode ?? 4, 4, 'a TRIANGLES primitive');
      return json.accessors[p.indices].count / 3;
    }),
  );
}

describe('pipelines on real Blender', () => {
  let sidecar: TestSidecar;
  let client: SidecarClient;
  let dir: string;
  let scene: string;
  const progress: Array<NotificationParams<'job.progress'>> = [];
  const wait = async (jobId: string) => client.call('job.wait', { jobId, timeoutMs: 240_000 }, { timeoutMs: 250_000 });

  before(async () => {
    dir = tempDir('pipeline-');
    scene = makeScene(dir, 'assets.blend', { collections: true, gn: true, faults: true, frames: 2 });
    sidecar = await testSidecar({ instances: 2 });
    client = await sidecar.client();
    await client.subscribe(['job.progress']);
    client.on('job.progress', (p) => progress.push(p));
  });
  after(async () => {
    await sidecar.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs a five-node pipeline over a real file: validated, triangulated GLBs per collection, a report, node states', async () => {
    const base = join(dir, 'rpc');
    const { jobId, nodes } = await client.call('pipeline.submit', { graph: assetGraph, blendFile: scene, baseDir: base });
    assert.equal(nodes, 5);
    const job = await wait(jobId);
    assert.equal(job.state, 'completed', job.error);
    assert.deepEqual(readdirSync(join(base, 'assets')).sort(), ['Props.glb', 'Rocks.glb', 'Trees.glb', 'report.json']);
    for (const name of ['Props', 'Rocks', 'Trees']) {
      const path = join(base, 'assets', `${name}.glb`);
      const report = await validateGltf(path);
      assert.equal(report.errors, 0, `${name}: ${report.messages.join('\n')}`);
      const transform = job.units.find((u) => u.node === 'tri' && u.label.endsWith(`[${name}]`))!;
      const counted = (transform.result as any).counted.perObject[`${name}Mesh`];
      assert.equal(counted.faces, counted.triangles, `${name}: every face is a triangle after the transform`);
      assert.deepEqual(primitiveTriangles(path), [counted.triangles], `${name}: the GLB's primitive holds the triangles Blender counted`);
    }
    // The report: every node done, the three outputs with their sizes, written to the Report node's file too.
    const result = job.result as any;
    assert.deepEqual(
      result.nodes.map((n: any) => [n.id, n.state, n.done, n.total]),
      [
        ['src', 'done', 3, 3],
        ['check', 'done', 3, 3],
        ['tri', 'done', 3, 3],
        ['glb', 'done', 3, 3],
        ['report', 'done', 3, 3],
      ],
    );
    assert.deepEqual(
      result.outputs.map((o: any) => o.path).sort(),
      ['Props', 'Rocks', 'Trees'].map((n) => join(base, 'assets', `${n}.glb`)),
    );
    assert.ok(result.outputs.every((o: any) => o.bytes > 0 && o.triangles > 0));
    const written = JSON.parse(readFileSync(join(base, 'assets', 'report.json'), 'utf8'));
    assert.equal(written.job, jobId);
    assert.deepEqual(written.outputs, result.outputs);
    // Progress per node, by node id, while it ran; units name their node; the work folder is gone.
    const mine = progress.filter((p) => p.jobId === jobId && p.nodes);
    assert.ok(
      mine.some((p) => Object.values(p.nodes!).some((n) => n.state === 'running')),
      'some node was seen running',
    );
    assert.deepEqual(Object.keys(mine.at(-1)!.nodes!), ['src', 'check', 'tri', 'glb', 'report']);
    assert.ok(job.units.every((u) => u.node && ['check', 'tri', 'glb'].includes(u.node)));
    assert.equal(existsSync(join(sidecar.stateDir, 'pipelines', jobId)), false, 'intermediate files removed');
  });

  it('refuses a cycle, a type mismatch, a missing link and an unknown type, each naming the node', async () => {
    const g = structuredClone(assetGraph);
    const cases: Array<[string, (g: any) => void, string, RegExp]> = [
      [
        'a cycle',
        (x) => {
          x.nodes.push({ id: 'a', type: 'transform', name: 'A' }, { id: 'b', type: 'validate', name: 'B' });
          x.links.push(link('a', 'b'), link('b', 'a'));
        },
        'a',
        /^the links form a cycle: transform 'A' → validate 'B' → transform 'A'; a pipeline must flow one way, so remove one of these links: links\[4\], links\[5\]$/,
      ],
      [
        'a type mismatch',
        (x) => {
          x.nodes.push({ id: 'r', type: 'render', name: 'Render', settings: { output: '//r/{name}/' } });
          x.links[2] = link('r', 'glb', 'files', 'objects');
          x.links.push(link('tri', 'r'));
        },
        'glb',
        /^links\[2\]: export node 'Export GLB' \(id glb\) input 'objects' takes objects, but render node 'Render' \(id r\) output 'files' gives files$/,
      ],
      ['a missing link', (x) => x.links.splice(2, 1), 'glb', /^export node 'Export GLB' \(id glb\) needs its input 'objects' linked/],
      [
        'an unknown type',
        (x) => (x.nodes[2].type = 'smooth'),
        'tri',
        /^node 'Triangulate' \(id tri\) has an unknown type 'smooth'; the node types are source, validate/,
      ],
    ];
    for (const [what, change, node, message] of cases) {
      const graph = structuredClone(g);
      change(graph);
      const err = await client.call('pipeline.submit', { graph, blendFile: scene }).then(
        () => assert.fail(`${what} was accepted`),
        (e: unknown) => e as RpcCallError,
      );
      assert.ok(err instanceof RpcCallError, what);
      assert.equal(err.code, -32602, `${what}: ${err.message}`);
      const errors = (err.data as any).errors as Array<{ field: string; node?: string; message: string }>;
      assert.equal(errors.length, 1, `${what}: ${JSON.stringify(errors)}`);
      assert.equal(errors[0]!.node, node, what);
      assert.match(errors[0]!.message, message, what);
      assert.ok(err.message.includes(errors[0]!.message), `${what}: the error's message says it too`);
      const checked = await client.call('pipeline.validate', { graph });
      assert.deepEqual(checked, { ok: false, errors }, `${what}: pipeline.validate answers the same`);
    }
    for (const name of ['game-asset', 'variant-sweep', 'turntable'])
      assert.deepEqual(await client.call('pipeline.validate', { graph: template(name) }), { ok: true, errors: [] }, name);
  });

  it('runs the game-asset template: a failing validation stops its branch, saying why, while the other branches complete', async () => {
    const base = join(dir, 'game');
    const { jobId } = await client.call('pipeline.submit', { graph: template('game-asset'), blendFile: scene, baseDir: base });
    const job = await wait(jobId);
    assert.equal(job.state, 'failed');
    const reason =
      "Validate 'Check meshes' [Faulty] failed: missing_textures: FaultyMesh (material FaultyMaterial: image missing.png not found at //textures/missing.png); empty_meshes: EmptyMesh (no faces)";
    assert.equal(job.error, `1 of 15 steps failed: ${reason}`);
    const faulty = job.units.filter((u) => u.label.endsWith('[Faulty]'));
    assert.deepEqual(
      faulty.map((u) => [u.node, u.state, u.error]),
      [
        ['validate', 'failed', reason],
        ['triangulate', 'skipped', "not run: Validate 'Check meshes' [Faulty] failed"],
        ['export', 'skipped', "not run: Validate 'Check meshes' [Faulty] failed"],
      ],
    );
    assert.deepEqual(readdirSync(join(base, 'export')).sort(), ['Collection.glb', 'Props.glb', 'Rocks.glb', 'Trees.glb', 'report.json']);
    const nodes = (await client.call('job.get', { jobId })).progress.nodes!;
    assert.deepEqual(nodes.validate, {
      state: 'failed',
      total: 5,
      done: 4,
      running: 0,
      failed: 1,
      skipped: 0,
      warnings: 3,
      message: reason,
    });
    assert.deepEqual(nodes.export, {
      state: 'partial',
      total: 5,
      done: 4,
      running: 0,
      failed: 0,
      skipped: 1,
      message: "not run: Validate 'Check meshes' [Faulty] failed",
    });
    const result = job.result as any;
    assert.deepEqual(
      result.skipped.map((s: any) => s.step),
      ["Transform 'Triangulate' [Faulty]", "Export 'Export GLB' [Faulty]"],
    );
    const warned = result.validations
      .find((v: any) => v.branch === 'Faulty')
      .warnings.map((w: any) => w.check)
      .sort();
    assert.deepEqual(
      warned,
      ['ngons', 'non_manifold', 'unapplied_scale'],
      'the warn-level checks found the open plane, the n-gons and the scale',
    );
  });

  it('names every check that fails with its objects, and a transform fixes what the checks found', async () => {
    const checks = { non_manifold: 'fail', missing_textures: 'fail', unapplied_scale: 'fail', ngons: 'fail', empty_meshes: 'fail' };
    const strict = {
      version: 1,
      nodes: [
        { id: 'src', type: 'source', settings: { mode: 'collection', collection: 'Faulty' } },
        { id: 'check', type: 'validate', name: 'All checks', settings: { checks } },
        { id: 'glb', type: 'export', settings: { format: 'glb', output: '//strict/{name}.glb' } },
      ],
      links: [link('src', 'check'), link('check', 'glb')],
    };
    const a = await wait((await client.call('pipeline.submit', { graph: strict, blendFile: scene, baseDir: join(dir, 'strict') })).jobId);
    assert.equal(a.state, 'failed');
    assert.equal(
      a.units.find((u) => u.node === 'check')!.error,
      "Validate 'All checks' failed: non_manifold: OpenPlane (4 non-manifold edges); " +
        'missing_textures: FaultyMesh (material FaultyMaterial: image missing.png not found at //textures/missing.png); ' +
        'unapplied_scale: FaultyMesh (scale 2, 2, 2); ngons: FaultyMesh (2 faces with more than 4 sides); empty_meshes: EmptyMesh (no faces)',
    );

    const fixed = {
      version: 1,
      nodes: [
        { id: 'src', type: 'source', settings: { mode: 'objects', objects: ['FaultyMesh'] } },
        {
          id: 'fix',
          type: 'transform',
          name: 'Fix',
          settings: { decimateRatio: 0.5, triangulate: true, applyScale: true, origin: 'bottom' },
        },
        { id: 'check', type: 'validate', name: 'Recheck', settings: { checks: { ...checks, missing_textures: 'off' } } },
        { id: 'glb', type: 'export', settings: { format: 'glb', output: '//fixed/{name}.glb' } },
      ],
      links: [link('src', 'fix'), link('fix', 'check'), link('check', 'glb')],
    };
    const base = join(dir, 'fixed');
    const b = await wait((await client.call('pipeline.submit', { graph: fixed, blendFile: scene, baseDir: base })).jobId);
    assert.equal(b.state, 'completed', b.error);
    const counted = (b.units.find((u) => u.node === 'fix')!.result as any).counted.perObject.FaultyMesh;
    // The cylinder had 8 sides, two 8-gon caps: 28 triangles; decimated to half, every face a triangle.
    assert.ok(counted.triangles < 28 && counted.triangles === counted.faces, JSON.stringify(counted));
    const path = join(base, 'fixed', 'FaultyMesh.glb');
    assert.deepEqual(primitiveTriangles(path), [counted.triangles]);
    const buf = readFileSync(path);
    const node = JSON.parse(buf.subarray(20, 20 + buf.readUInt32LE(12)).toString('utf8')).nodes.find((n: any) => n.name === 'FaultyMesh');
    assert.equal(node.scale, undefined, 'the scale was applied');
    // The origin at the bottom of the (scale 2, depth 2) cylinder standing at z 0: z -2 in Blender, y -2 in glTF.
    assert.ok(Math.abs(node.translation[1] + 2) < 1e-4 && Math.abs(node.translation[0] + 4) < 1e-4, JSON.stringify(node.translation));
  });

  it('fans out over 10 Geometry Nodes values: 10 GLBs, each with the triangles its Count makes', async () => {
    const base = join(dir, 'variants');
    const graph = {
      version: 1,
      name: 'Grids',
      nodes: [
        { id: 'src', type: 'source', name: 'Grid', settings: { mode: 'objects', objects: ['Grid'] } },
        { id: 'counts', type: 'gn_variant', name: 'Counts', settings: { object: 'Grid', input: 'Count', range: { start: 1, end: 10 } } },
        { id: 'glb', type: 'export', name: 'Export', settings: { format: 'glb', output: '//grids/grid-{variant}.glb' } },
        { id: 'report', type: 'report', settings: {} },
      ],
      links: [link('src', 'counts'), link('counts', 'glb'), link('glb', 'report', 'files', 'files')],
    };
    const { jobId } = await client.call('pipeline.submit', { graph, blendFile: scene, baseDir: base, keepWorkFiles: true });
    const job = await wait(jobId);
    assert.equal(job.state, 'completed', job.error);
    assert.equal(readdirSync(join(base, 'grids')).length, 10);
    const kept = readdirSync(join(sidecar.stateDir, 'pipelines', jobId)).sort();
    assert.equal(kept.length, 10, `one intermediate .blend per variant, kept: ${kept.join(', ')}`);
    assert.equal((job.result as any).workDir, join(sidecar.stateDir, 'pipelines', jobId));
    for (let count = 1; count <= 10; count++) {
      const summary = await inspectGltf(join(base, 'grids', `grid-${count}.glb`));
      assert.equal(summary.triangles, count * count * 12, `Count ${count}: a ${count}x${count} grid of cubes`);
      const variant = job.units.find((u) => u.node === 'counts' && u.label === `GN Variant 'Counts' [Count=${count}]`)!;
      assert.equal((variant.result as any).value, count);
    }
    assert.deepEqual(
      (job.result as any).outputs.map((o: any) => o.variant),
      [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
    );
    const nodes = job.progress.nodes!;
    assert.deepEqual([nodes.counts!.state, nodes.counts!.done, nodes.glb!.done], ['done', 10, 10]);
  });

  it("encodes each variant's frames into a movie with a Movie node, every frame at the frames' size, listed in the report", async () => {
    const base = join(dir, 'movies');
    const graph = template('variant-sweep');
    graph.nodes[1].settings.values = [2, 4];
    Object.assign(graph.nodes[2].settings, { frames: '1-2', engine: 'workbench' });
    graph.nodes.push({ id: 'movie', type: 'movie', name: 'Preview', settings: { output: '//movies/count-{variant}.mp4', fps: 12 } });
    graph.links = graph.links.filter((l: { to: { node: string } }) => l.to.node !== 'report');
    graph.links.push(link('render', 'movie', 'files', 'files'), link('movie', 'report', 'files', 'files'));
    const { jobId } = await client.call('pipeline.submit', { graph, blendFile: scene, baseDir: base });
    const job = await wait(jobId);
    assert.equal(job.state, 'completed', job.error);
    for (const v of [2, 4]) assert.deepEqual(readMovie(join(base, 'movies', `count-${v}.mp4`)), { frames: 2, width: 96, height: 72 });
    const report = JSON.parse(readFileSync(join(base, 'variants', 'report.json'), 'utf8'));
    const movies = report.outputs.filter((o: { kind: string }) => o.kind === 'movie');
    assert.deepEqual(
      movies.map((m: { variant: number; frames: number }) => [m.variant, m.frames]),
      [
        [2, 2],
        [4, 2],
      ],
    );
    assert.equal(job.progress.nodes?.movie?.state, 'done');
  });

  it('refuses a Movie node that does not follow a Render node, naming the node', async () => {
    const graph = structuredClone(assetGraph);
    graph.nodes.push({ id: 'movie', type: 'movie', name: 'Wrong', settings: { output: '//m-{name}.mp4' } } as never);
    graph.links.push(link('glb', 'movie', 'files', 'files'));
    const { jobId } = await client.call('pipeline.submit', { graph, blendFile: scene, baseDir: join(dir, 'wrong-movie') });
    const job = await wait(jobId);
    assert.equal(job.state, 'failed');
    assert.match(
      job.error!,
      /movie node 'Wrong' \(id movie\): its files come from export node 'Export GLB' \(id glb\); a Movie takes a Render node's frames/,
    );
  });

  it('renders frames per variant, at most `instances` frames of the node at once', async () => {
    const base = join(dir, 'sweep');
    const graph = template('variant-sweep');
    graph.nodes[1].settings.values = [2, 4];
    Object.assign(graph.nodes[2].settings, { frames: '1-2', engine: 'workbench', instances: 1 });
    const { jobId } = await client.call('pipeline.submit', { graph, blendFile: scene, baseDir: base });
    const job = await wait(jobId);
    assert.equal(job.state, 'completed', job.error);
    const frames = (v: number) => readdirSync(join(base, 'variants', String(v))).sort();
    assert.deepEqual(
      [frames(2), frames(4)],
      [
        ['0001.png', '0002.png'],
        ['0001.png', '0002.png'],
      ],
    );
    const a = readFileSync(join(base, 'variants', '2', '0001.png'));
    const b = readFileSync(join(base, 'variants', '4', '0001.png'));
    assert.notDeepEqual(a, b, 'the variants look different');
    const mine = progress.filter((p) => p.jobId === jobId);
    assert.ok(
      mine.every((p) => p.running.filter((r) => r.label.startsWith('Render')).length <= 1),
      'one frame of the render node at a time',
    );
    assert.ok(existsSync(join(base, 'variants', 'report.json')));
  });

  it('runs the turntable template on a file it has never seen, without a camera, and leaves the file as it was', async () => {
    // A real file nobody here wrote (Blender 2.79, no camera), copied: the template is used as shipped, only made small.
    const blend = join(dir, 'cs_rotate.blend');
    copyFileSync(join(corpus, '01_cs_rotate.blend'), blend);
    const before = createHash('sha256').update(readFileSync(blend)).digest('hex');
    const graph = template('turntable');
    Object.assign(graph.nodes[1].settings, { frames: '1-3', engine: 'workbench', resolutionPercent: 10 });
    const base = join(dir, 'tt');
    const { jobId } = await client.call('pipeline.submit', { graph, blendFile: blend, baseDir: base });
    const job = await wait(jobId);
    assert.equal(job.state, 'completed', job.error);
    const folder = join(base, 'turntable', 'cs_rotate');
    assert.deepEqual(readdirSync(folder).sort(), ['0001.png', '0002.png', '0003.png']);
    const shots = [1, 2, 3].map((f) => pixels(join(folder, `000${f}.png`)));
    for (const [i, shot] of shots.entries()) {
      const box = foreground(shot);
      assert.ok(box, `frame ${i + 1} shows something`);
      // Framed whole: nothing touches the picture's edges, and the objects fill a fair part of it.
      assert.ok(
        box.left > 0 && box.top > 0 && box.right < shot.width - 1 && box.bottom < shot.height - 1,
        `frame ${i + 1}: ${JSON.stringify(box)}`,
      );
      assert.ok(box.right - box.left > shot.width / 8, `frame ${i + 1} is not a speck: ${JSON.stringify(box)}`);
    }
    assert.ok(
      !shots[0]!.data.equals(shots[1]!.data) && !shots[0]!.data.equals(shots[2]!.data),
      'the camera goes round (a third of a turn a frame)',
    );
    assert.equal(createHash('sha256').update(readFileSync(blend)).digest('hex'), before, 'the file is unchanged');
    assert.ok(existsSync(join(base, 'turntable', 'report.json')));
  });

  it('gives the same files from the CLI as from pipeline.submit for the same graph, and exits 1 when it fails', async () => {
    const graphFile = join(dir, 'assets-graph.json');
    writeFileSync(graphFile, JSON.stringify(assetGraph, null, 2));
    const cliBase = join(dir, 'cli');
    mkdirSync(cliBase);
    const state = join(dir, 'cli-state');
    const r = runCli(['pipeline', 'run', graphFile, '--input', scene, '--base-dir', cliBase, '--state-dir', state, '--instances', '2']);
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /pipeline 'Assets' completed/);
    assert.match(r.stdout, /Check meshes +validate +done +3\/3 done/);
    assert.match(r.stdout, /outputs \(3\):/);
    for (const name of ['Props', 'Rocks', 'Trees']) {
      const fromCli = readFileSync(join(cliBase, 'assets', `${name}.glb`));
      const fromRpc = readFileSync(join(dir, 'rpc', 'assets', `${name}.glb`));
      assert.ok(fromCli.equals(fromRpc), `${name}.glb: the same bytes from the CLI and from pipeline.submit`);
      assert.match(r.stdout, new RegExp(`${join(cliBase, 'assets', `${name}.glb`)}  \\d+ KB  \\d+ triangles`));
    }
    const bad = runCli(['pipeline', 'run', graphFile.replace('assets-graph', 'missing'), '--input', scene]);
    assert.equal(bad.status, 2, bad.stderr);
    const broken = join(dir, 'broken.json');
    writeFileSync(broken, JSON.stringify({ ...assetGraph, links: assetGraph.links.slice(1) }));
    const v = runCli(['pipeline', 'validate', broken]);
    assert.equal(v.status, 1);
    assert.match(v.stderr, /nodes\[1\]: validate node 'Check meshes' \(id check\) needs its input 'objects' linked/);
  });
});
