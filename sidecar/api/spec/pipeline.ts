/** pipeline.*: node graphs of validate, transform, Geometry Nodes variant, export and render steps, run as one job. */
import { z } from 'zod';
import { method, type ErrorSpec } from '../../protocol/method.js';
import { blenderPin, priority } from '../../domain/render/render-request.js';

const graph = z
  .record(z.string(), z.unknown())
  .describe(
    'The pipeline graph in its JSON form: {version: 1, name, nodes: [{id, type, name, settings}], links: [{from: {node, socket}, to: {node, socket}}]} (docs/pipeline.md; JSON Schema in docs/pipeline.schema.json).',
  );

const GraphError = z.object({
  field: z.string().describe('Where, relative to the graph: nodes[3], nodes[3].settings.output, links[2].'),
  message: z.string().describe('One sentence naming the node (type, name and id) or link and what is wrong.'),
  node: z.string().optional().describe('The id of the node it is about (for a link: the node it goes into).'),
  link: z.number().int().optional().describe('The index of the link it is about.'),
});

const Socket = z.object({
  name: z.string(),
  type: z.enum(['objects', 'files']),
  multi: z.boolean().optional(),
  required: z.boolean().optional(),
});

const graphErrors: ErrorSpec = {
  kind: 'bad-input',
  message:
    'the graph is wrong (data.errors lists every problem, each with field, node or link, and message): an unknown node type, an input not linked, a link between sockets of different types, a cycle, bad settings',
};

export const pipelineMethods = {
  'pipeline.validate': method({
    summary:
      'Checks a pipeline graph without running it: every problem at once, each naming its node or link (for the editor to show before running).',
    params: z.strictObject({ graph }),
    result: z.object({ ok: z.boolean(), errors: z.array(GraphError) }),
    example: {
      graph: {
        version: 1,
        nodes: [
          { id: 'src', type: 'source', settings: { mode: 'collections' } },
          { id: 'glb', type: 'export', name: 'Export GLB', settings: { format: 'glb', output: '//export/{name}.glb' } },
        ],
        links: [{ from: { node: 'src', socket: 'objects' }, to: { node: 'glb', socket: 'objects' } }],
      },
    },
  }),
  'pipeline.submit': method({
    summary: 'Queues a pipeline over a .blend: its steps run as tasks on the worker pool, each after the steps it depends on.',
    description:
      "The graph is checked first (as pipeline.validate, plus export formats and options against this Blender). The job's " +
      'planning task reads the file (collections, objects, Geometry Nodes inputs); a name the file lacks fails the job ' +
      'naming the node. job.progress carries `nodes` (state and counts by node id); each unit has `node`; the finished ' +
      "job's result is the report. A failed validation fails its step and skips what depends on it, while other branches go on.",
    params: z.strictObject({
      graph,
      blendFile: z.string().min(1).describe('Absolute path of the .blend the pipeline works on.'),
      baseDir: z
        .string()
        .min(1)
        .optional()
        .describe(
          "What // means in output templates (default: the blend file's folder; the add-on passes the open file's folder when it submits a temporary copy).",
        ),
      priority,
      keepWorkFiles: z
        .boolean()
        .default(false)
        .describe('Keep the intermediate .blend files (state folder, pipelines/<jobId>/) after the job ends.'),
      instances: z.number().int().min(1).max(64).optional().describe('At most this many workers on this job at once.'),
      timeoutS: z
        .number()
        .positive()
        .max(7 * 86400)
        .default(600)
        .describe('A worker silent this long is hung: killed and the step retried.'),
      maxRetries: z.number().int().min(0).max(20).default(1).describe('Retries per step after a crash or hang, each on another worker.'),
      memoryLimitMB: z.number().int().min(64).optional(),
      temporaryBlendFile: z.boolean().default(false).describe('The blend file is a temporary copy: delete it when the job ends.'),
      saveCopySeconds: z.number().min(0).optional().describe('How long saving the temporary copy blocked Blender (the add-on reports it).'),
      blender: blenderPin,
    }),
    result: z.object({ jobId: z.string(), nodes: z.number().int().describe('Nodes in the graph.') }),
    errors: [graphErrors, { kind: 'no-blender', message: 'no Blender to run' }],
    example: {
      blendFile: '/assets/props.blend',
      graph: {
        version: 1,
        name: 'Game asset',
        nodes: [
          { id: 'src', type: 'source', settings: { mode: 'collections' } },
          { id: 'check', type: 'validate', name: 'Check meshes', settings: { checks: { ngons: 'fail' } } },
          { id: 'glb', type: 'export', name: 'Export GLB', settings: { format: 'glb', output: '//export/{name}.glb' } },
        ],
        links: [
          { from: { node: 'src', socket: 'objects' }, to: { node: 'check', socket: 'objects' } },
          { from: { node: 'check', socket: 'objects' }, to: { node: 'glb', socket: 'objects' } },
        ],
      },
    },
  }),
  'pipeline.schema': method({
    summary: 'The node types (sockets, settings as JSON Schema), validation checks and template fields, and the whole form as JSON Schema.',
    params: z.strictObject({}),
    result: z.object({
      version: z.number().int(),
      nodeTypes: z.array(
        z.object({
          type: z.string(),
          title: z.string(),
          summary: z.string(),
          inputs: z.array(Socket),
          outputs: z.array(Socket),
          settings: z.record(z.string(), z.unknown()).describe('JSON Schema of the settings.'),
        }),
      ),
      checks: z.array(z.string()),
      templateFields: z.array(z.string()),
      schema: z.record(z.string(), z.unknown()).describe('JSON Schema of a whole graph (the same as docs/pipeline.schema.json).'),
    }),
  }),
};
