import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { checkGraph, pipelineJsonSchema, type GraphError } from '../../sidecar/domain/pipeline/graph.js';
import { NODE_TYPE_NAMES, variantValues } from '../../sidecar/domain/pipeline/nodes.js';
import { type PlanError, planPipeline, type Inspection } from '../../sidecar/domain/pipeline/plan.js';
import { fillTemplate } from '../../sidecar/domain/pipeline/template.js';

const read = (path: string) => JSON.parse(readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8'));
const templates = {
  'game-asset': read('sidecar/pipelines/templates/game-asset.json'),
  turntable: read('sidecar/pipelines/templates/turntable.json'),
  'variant-sweep': read('sidecar/pipelines/templates/variant-sweep.json'),
};

const link = (from: string, to: string, fromSocket = 'objects', toSocket = 'objects') => ({
  from: { node: from, socket: fromSocket },
  to: { node: to, socket: toSocket },
});

/** Source → Validate → Transform → Export → Report: the smallest useful pipeline, to break one way per test. */
function graph(overrides: { nodes?: unknown[]; links?: unknown[] } = {}) {
  return {
    version: 1,
    name: 'Test',
    nodes: overrides.nodes ?? [
      { id: 'src', type: 'source', name: 'Collections', settings: { mode: 'collections' } },
      { id: 'chk', type: 'validate', name: 'Check meshes', settings: { checks: { ngons: 'fail' } } },
      { id: 'tri', type: 'transform', name: 'Triangulate', settings: { triangulate: true } },
      { id: 'glb', type: 'export', name: 'Export GLB', settings: { format: 'glb', output: '//out/{name}.glb' } },
      { id: 'rep', type: 'report', settings: {} },
    ],
    links: overrides.links ?? [link('src', 'chk'), link('chk', 'tri'), link('tri', 'glb'), link('glb', 'rep', 'files', 'files')],
  };
}

function errorsOf(g: unknown): GraphError[] {
  const r = checkGraph(g);
  assert.equal(r.ok, false, 'the graph was accepted');
  return (r as { errors: GraphError[] }).errors;
}

function only(errors: GraphError[], field: string): GraphError {
  const hit = errors.filter((e) => e.field === field);
  assert.equal(hit.length, 1, `one error at ${field}: ${JSON.stringify(errors, null, 1)}`);
  return hit[0]!;
}

describe('pipeline graphs', () => {
  describe('the templates', () => {
    for (const [name, g] of Object.entries(templates)) {
      it(`${name}.json is a valid pipeline and matches the JSON Schema`, () => {
        const r = checkGraph(g);
        assert.ok(r.ok, JSON.stringify(!r.ok && r.errors));
        const Ajv2020 = createRequire(import.meta.url)('ajv/dist/2020.js');
        const validate = new Ajv2020({ allErrors: true, strict: false }).compile(pipelineJsonSchema());
        assert.ok(validate(g), JSON.stringify(validate.errors));
      });
    }

    it('game-asset is validate, triangulate and GLB export per collection; the variant sweep renders per Geometry Nodes variant; the turntable renders the file as it is', () => {
      const ga = checkGraph(templates['game-asset']);
      assert.ok(ga.ok);
      assert.deepEqual(
        ga.graph.order.map((n) => n.type),
        ['source', 'validate', 'transform', 'export', 'report'],
      );
      assert.equal((ga.graph.nodes[0]!.settings as { mode: string }).mode, 'collections');
      assert.equal((ga.graph.nodes[3]!.settings as { format: string }).format, 'glb');
      const sweep = checkGraph(templates['variant-sweep']);
      assert.ok(sweep.ok);
      assert.deepEqual(
        sweep.graph.order.map((n) => n.type),
        ['source', 'gn_variant', 'render', 'report'],
      );
      const tt = checkGraph(templates.turntable);
      assert.ok(tt.ok);
      assert.deepEqual(
        tt.graph.order.map((n) => n.type),
        ['source', 'render', 'report'],
      );
      assert.equal((tt.graph.nodes[1]!.settings as { turntable: boolean }).turntable, true);
    });
  });

  describe('docs', () => {
    it('docs/pipeline.schema.json is the schema the sidecar makes (run npm run docs)', () => {
      assert.deepEqual(
        read('docs/pipeline.schema.json'),
        pipelineJsonSchema(),
        'docs/pipeline.schema.json is out of date: run `npm run docs`',
      );
    });

    it('docs/pipeline.md names every node type and every setting', () => {
      const doc = readFileSync(new URL('../../docs/pipeline.md', import.meta.url), 'utf8');
      for (const t of NODE_TYPE_NAMES) {
        assert.ok(doc.includes(`### ${t}`), `a section for ${t}`);
        const json = pipelineJsonSchema() as any;
        const node = json.properties.nodes.items.oneOf.find((n: any) => n.properties.type.const === t);
        for (const setting of Object.keys(node.properties.settings.properties ?? {})) {
          assert.ok(doc.includes(`\`${setting}\``) || doc.includes(`\`checks.`), `${t}.${setting} is described`);
        }
      }
    });
  });

  describe('checkGraph', () => {
    it('accepts a good graph and orders every node after the nodes it takes links from', () => {
      const shuffled = graph();
      shuffled.nodes = [...shuffled.nodes].reverse();
      const r = checkGraph(shuffled);
      assert.ok(r.ok, JSON.stringify(!r.ok && r.errors));
      assert.deepEqual(
        r.graph.order.map((n) => n.id),
        ['src', 'chk', 'tri', 'glb', 'rep'],
      );
      assert.equal((r.graph.nodes.find((n) => n.id === 'chk')!.settings as any).checks.empty_meshes, 'fail', 'defaults filled in');
    });

    it('names a node of unknown type, and lists the types', () => {
      const g = graph();
      (g.nodes[2] as any).type = 'blur';
      const e = only(errorsOf(g), 'nodes[2].type');
      assert.equal(e.node, 'tri');
      assert.equal(
        e.message,
        "node 'Triangulate' (id tri) has an unknown type 'blur'; the node types are source, validate, transform, gn_variant, export, render, movie, bake, report",
      );
    });

    it('names a node whose required input is not linked', () => {
      const g = graph({ links: [link('src', 'chk'), link('chk', 'tri'), link('glb', 'rep', 'files', 'files')] });
      const e = only(errorsOf(g), 'nodes[3]');
      assert.equal(e.node, 'glb');
      assert.match(
        e.message,
        /^export node 'Export GLB' \(id glb\) needs its input 'objects' linked \(from a node that gives objects: source, validate, transform, gn_variant, bake\)$/,
      );
    });

    it('names both ends of a link between sockets of different types', () => {
      const g = graph({
        nodes: [...graph().nodes, { id: 'r', type: 'render', name: 'Render', settings: { output: '//r/{name}/' } }],
        links: [
          link('src', 'chk'),
          link('chk', 'tri'),
          link('r', 'glb', 'files', 'objects'),
          link('glb', 'rep', 'files', 'files'),
          link('tri', 'r'),
        ],
      });
      const e = only(errorsOf(g), 'links[2]');
      assert.deepEqual([e.node, e.link], ['glb', 2]);
      assert.equal(
        e.message,
        "links[2]: export node 'Export GLB' (id glb) input 'objects' takes objects, but render node 'Render' (id r) output 'files' gives files",
      );
    });

    it('names the nodes and links on a cycle', () => {
      const g = graph({
        links: [link('src', 'chk'), link('chk', 'tri'), link('tri', 'glb'), link('glb', 'rep', 'files', 'files'), link('tri', 'chk')],
      });
      const errors = errorsOf(g);
      // chk now has two links into its one input (src and tri): that is reported too, and the cycle is still found.
      const e = errors.find((x) => /cycle/.test(x.message));
      assert.ok(e, JSON.stringify(errors));
      assert.match(
        e.message,
        /^the links form a cycle: validate 'Check meshes' → transform 'Triangulate' → validate 'Check meshes'; .* links\[1\], links\[4\]$/,
      );
      const g2 = graph({
        nodes: [
          ...graph().nodes.slice(0, 2),
          { id: 'a', type: 'transform', name: 'A' },
          { id: 'b', type: 'validate', name: 'B' },
          ...graph().nodes.slice(2),
        ],
        links: [
          link('src', 'chk'),
          link('a', 'b'),
          link('b', 'a'),
          link('chk', 'tri'),
          link('tri', 'glb'),
          link('glb', 'rep', 'files', 'files'),
        ],
      });
      const c = only(errorsOf(g2), 'nodes[2]');
      assert.equal(c.node, 'a');
      assert.equal(
        c.message,
        "the links form a cycle: transform 'A' → validate 'B' → transform 'A'; a pipeline must flow one way, so remove one of these links: links[1], links[2]",
      );
    });

    it('names links to nodes or sockets that do not exist, and a second link into a single input', () => {
      const g = graph({
        links: [
          link('src', 'chk'),
          link('chk', 'tri'),
          link('tri', 'glb'),
          link('glb', 'rep', 'files', 'files'),
          link('ghost', 'tri'),
          link('tri', 'glb', 'objects', 'mesh'),
          link('src', 'glb'),
        ],
      });
      const errors = errorsOf(g);
      assert.equal(only(errors, 'links[4]').message, "links[4] comes from node 'ghost', which is not among the nodes");
      assert.equal(
        only(errors, 'links[5].to').message,
        "links[5]: export node 'Export GLB' (id glb) has no input 'mesh'; its inputs: 'objects'",
      );
      assert.equal(
        only(errors, 'links[6]').message,
        "links[6]: export node 'Export GLB' (id glb) input 'objects' takes one link, but links[2] goes into it too",
      );
    });

    it('reports every problem at once, each with its field and node', () => {
      const g = graph({
        nodes: [
          { id: 'src', type: 'source', settings: { mode: 'objects' } },
          { id: 'src', type: 'source' },
          { id: 'x', type: 'explode' },
          { id: 'tri', type: 'transform', settings: { decimateRatio: 2, smooth: true } },
          { id: 'glb', type: 'export', settings: { format: 'gif', output: 'out/{nme}.glb' } },
        ],
        links: [link('src', 'tri'), link('tri', 'glb')],
      });
      const errors = errorsOf(g);
      assert.deepEqual(
        errors.map((e) => [e.field, e.node]),
        [
          ['nodes[0].settings.objects', 'src'],
          ['nodes[1].id', 'src'],
          ['nodes[2].type', 'x'],
          ['nodes[3].settings.decimateRatio', 'tri'],
          ['nodes[3].settings.smooth', 'tri'],
          ['nodes[4].settings.format', 'glb'],
          ['nodes[4].settings.output', 'glb'],
        ],
      );
      assert.match(
        only(errors, 'nodes[3].settings.smooth').message,
        /^transform node 'tri': settings: 'smooth' is not known here; it takes applyModifiers, decimateRatio, triangulate/,
      );
      assert.match(only(errors, 'nodes[4].settings.output').message, /\{nme\} is not a template field; use \{name\}, \{variant\}/);
      assert.match(only(errors, 'nodes[0].settings.objects').message, /mode objects needs the objects listed/);
    });

    it('refuses an output that every fan-out branch would write, and accepts one that tells them apart', () => {
      const nodes = [
        { id: 'src', type: 'source', settings: { mode: 'collections' } },
        { id: 'var', type: 'gn_variant', name: 'Counts', settings: { object: 'Grid', input: 'Count', range: { start: 1, end: 10 } } },
        { id: 'glb', type: 'export', name: 'Export', settings: { format: 'glb', output: '//out/grid.glb' } },
      ];
      const links = [link('src', 'var'), link('var', 'glb')];
      const e = only(errorsOf({ version: 1, nodes, links }), 'nodes[2].settings.output');
      assert.match(
        e.message,
        /every branch would write \/\/out\/grid\.glb; put \{variant\} \(it comes after gn_variant node 'Counts' \(id var\), one branch per value\) and \{name\}/,
      );
      (nodes[2]!.settings as any).output = '//out/{name}-{variant_index}.glb';
      assert.ok(checkGraph({ version: 1, nodes, links }).ok);
      (nodes[2]!.settings as any).output = '//out/';
      assert.ok(checkGraph({ version: 1, nodes, links }).ok, 'a folder output names its files per branch');
    });

    it('refuses an unknown field, a wrong version, and a graph with nothing to run', () => {
      assert.deepEqual(
        errorsOf({ version: 2, nodes: [], extra: 1 })
          .map((e) => e.field)
          .sort(),
        ['extra', 'version'],
      );
      const e = only(errorsOf({ version: 1, nodes: [{ id: 's', type: 'source' }] }), 'nodes');
      assert.match(e.message, /nothing to run/);
    });
  });

  describe('values and templates', () => {
    it('turns a range into values without float drift', () => {
      assert.deepEqual(variantValues({ object: 'o', input: 'i', range: { start: 1, end: 10, step: 1 } }), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      assert.deepEqual(variantValues({ object: 'o', input: 'i', range: { start: 0, end: 0.5, step: 0.1 } }), [0, 0.1, 0.2, 0.3, 0.4, 0.5]);
    });

    it('fills templates file-safely, with // as the base folder', () => {
      assert.equal(
        fillTemplate('//out/{name}_{variant}_{date}.glb', { name: 'My Rock', variant: [1, 2, 3], date: '2025-01-02' }, '/base'),
        '/base/out/My_Rock_1_2_3_2025-01-02.glb',
      );
      assert.equal(fillTemplate('/abs/{node}/', { node: 'n1' }, '/base'), '/abs/n1/');
    });
  });

  describe('planPipeline', () => {
    const file: Inspection = {
      scene: 'Scene',
      frameStart: 1,
      frameEnd: 3,
      frameStep: 1,
      camera: 'Camera',
      cameras: ['Camera'],
      collections: [
        { name: 'Props', objects: 1, top: true },
        { name: 'Inner', objects: 1, top: false },
        { name: 'Rocks', objects: 2, top: true },
        { name: 'Empty', objects: 0, top: true },
      ],
      objects: [
        { name: 'Grid', type: 'MESH', inViewLayer: true },
        { name: 'Camera', type: 'CAMERA', inViewLayer: true },
      ],
      modifiers: [
        {
          object: 'Grid',
          modifier: 'GeometryNodes',
          inputs: [
            { name: 'Count', type: 'int' },
            { name: 'Size', type: 'float' },
          ],
        },
      ],
    };
    const ctx = { blendFile: '/art/props.blend', baseDir: '/art', workDir: '/state/pipelines/j1', date: '2025-03-04' };
    const plan = (g: unknown, f = file) => {
      const r = checkGraph(g);
      assert.ok(r.ok, JSON.stringify(!r.ok && r.errors));
      return planPipeline(r.graph, f, ctx);
    };

    it('makes a branch per top collection with objects, each step waiting for the one before it', () => {
      const p = plan(graph());
      assert.deepEqual(
        p.steps.map((s) => [s.key, s.kind, s.label, s.dependsOn]),
        [
          [0, 'validate', "Validate 'Check meshes' [Props]", []],
          [1, 'validate', "Validate 'Check meshes' [Rocks]", []],
          [2, 'transform', "Transform 'Triangulate' [Props]", [0]],
          [3, 'transform', "Transform 'Triangulate' [Rocks]", [1]],
          [4, 'export', "Export 'Export GLB' [Props]", [2]],
          [5, 'export', "Export 'Export GLB' [Rocks]", [3]],
        ],
      );
      const exp = p.steps[4] as Extract<(typeof p.steps)[number], { kind: 'export' }>;
      assert.equal(exp.output, '/art/out/Props.glb');
      assert.equal(exp.open, '/state/pipelines/j1/2-tri.blend', 'the export opens what the transform wrote');
      assert.deepEqual(exp.scope, { collection: 'Props' });
      assert.deepEqual(p.nodes.find((n) => n.id === 'rep')!.collects, [4, 5]);
      assert.equal(p.nodes.find((n) => n.id === 'src')!.branches, 2);
    });

    it('fans out over ten values of a Geometry Nodes input, with {variant} the value', () => {
      const p = plan({
        version: 1,
        nodes: [
          { id: 'src', type: 'source', settings: { mode: 'objects', objects: ['Grid'] } },
          { id: 'var', type: 'gn_variant', settings: { object: 'Grid', input: 'Count', range: { start: 1, end: 10 } } },
          { id: 'glb', type: 'export', settings: { format: 'glb', output: '//grids/grid-{variant}.glb' } },
        ],
        links: [link('src', 'var'), link('var', 'glb')],
      });
      const variants = p.steps.filter((s) => s.kind === 'variant');
      const exports = p.steps.filter((s) => s.kind === 'export');
      assert.equal(variants.length, 10);
      assert.deepEqual(
        exports.map((s) => (s as any).output),
        [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((v) => `/art/grids/grid-${v}.glb`),
      );
      assert.deepEqual(
        variants.map((s) => (s as any).modifier),
        Array(10).fill('GeometryNodes'),
        'the first Geometry Nodes modifier',
      );
      assert.equal(exports[4]!.label, "Export 'glb' [Count=5]");
    });

    it("renders the scene's frames per branch when the node names none", () => {
      const p = plan({
        version: 1,
        nodes: [
          { id: 'src', type: 'source' },
          { id: 'var', type: 'gn_variant', settings: { object: 'Grid', input: 'Size', values: [0.5, 1] } },
          { id: 'r', type: 'render', settings: { output: '//tt/{variant}/', instances: 1 } },
        ],
        links: [link('src', 'var'), link('var', 'r')],
      });
      const frames = p.steps.filter((s) => s.kind === 'render').map((s) => (s as any).output);
      assert.deepEqual(frames, [
        '/art/tt/0.5/0001.png',
        '/art/tt/0.5/0002.png',
        '/art/tt/0.5/0003.png',
        '/art/tt/1/0001.png',
        '/art/tt/1/0002.png',
        '/art/tt/1/0003.png',
      ]);
      assert.equal(p.nodes.find((n) => n.id === 'r')!.instances, 1);
    });

    it('fails naming the node when the file lacks what the graph names, or a value does not fit the input', () => {
      const bad = (settings: Record<string, unknown>) => () =>
        plan({
          version: 1,
          nodes: [
            { id: 'src', type: 'source' },
            { id: 'var', type: 'gn_variant', name: 'Counts', settings },
            { id: 'glb', type: 'export', settings: { format: 'glb', output: '//{variant}.glb' } },
          ],
          links: [link('src', 'var'), link('var', 'glb')],
        });
      assert.throws(
        bad({ object: 'Grid', input: 'Cnt', values: [1] }),
        (e: PlanError) =>
          e.kind === 'bad-input' &&
          /gn_variant node 'Counts' \(id var\): modifier 'GeometryNodes' on 'Grid' has no input named 'Cnt'; its inputs: Count, Size/.test(
            e.message,
          ),
      );
      assert.throws(bad({ object: 'Grid', input: 'Count', values: [1, 2.5] }), /input 'Count' is an int, which 2.5 is not/);
      assert.throws(bad({ object: 'Cube', input: 'Count', values: [1] }), /the file has no object named 'Cube'/);
      assert.throws(
        () =>
          plan({
            ...graph(),
            nodes: [{ id: 'src', type: 'source', settings: { mode: 'collection', collection: 'Trees' } }, ...graph().nodes.slice(1)],
          }),
        (e: PlanError) =>
          e.problems[0]!.node === 'src' &&
          /the scene has no collection named 'Trees'; its collections: Props, Inner, Rocks, Empty/.test(e.message),
      );
    });
  });
});
