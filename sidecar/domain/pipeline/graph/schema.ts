/**
 * The JSON form of a pipeline (docs/pipeline.md) as zod shapes: the envelope, a node and a link as a client sends them,
 * and the full form with every node type's settings that docs/pipeline.schema.json is generated from.
 */
import { z } from 'zod';
import { NODE_TYPE_NAMES, NODE_TYPES, type NodeTypeSpec } from '../nodes.js';

export const PIPELINE_VERSION = 1;

const nodeId = z.string().min(1).max(128).describe('Unique within the graph; links and progress name nodes by it.');
const ui = z
  .record(z.string(), z.unknown())
  .optional()
  .describe("The editor's own (location, width, colour, ...): kept as it is, never read by the sidecar.");

export const graphNode = z.strictObject({
  id: nodeId,
  type: z
    .string()
    .min(1)
    .describe(`One of ${NODE_TYPE_NAMES.join(', ')}.`),
  name: z.string().min(1).max(256).optional().describe('What the node is called in the editor and in messages (default: its id).'),
  settings: z.record(z.string(), z.unknown()).default({}).describe("The node type's settings (docs/pipeline.md)."),
  ui,
});

const socketRef = z.strictObject({
  node: nodeId.describe("The node's id."),
  socket: z.string().min(1).describe("The socket's name: objects or files."),
});

export const graphLink = z.strictObject({
  from: socketRef.describe('An output socket.'),
  to: socketRef.describe('An input socket.'),
});

/** The graph's own fields, nodes and links still unread: checkGraph reads them one by one, to report each. */
export const envelope = z.strictObject({
  version: z.literal(PIPELINE_VERSION).describe('The version of this form: 1.'),
  name: z.string().min(1).max(256).optional().describe("The pipeline's name ({name} of a Report's output)."),
  description: z.string().max(10_000).optional(),
  nodes: z.array(z.unknown()).max(1000),
  links: z.array(z.unknown()).max(10_000).default([]),
  ui,
});

/** The whole form with every node type's settings: the JSON Schema in docs/pipeline.schema.json is made from it. */
function fullGraphSchema() {
  const nodes = NODE_TYPE_NAMES.map((t) => {
    const spec: NodeTypeSpec = NODE_TYPES[t];
    return graphNode.extend({ type: z.literal(t), settings: spec.settings.optional() }).describe(`${spec.title}: ${spec.summary}`);
  });
  return envelope.extend({
    nodes: z.array(z.discriminatedUnion('type', nodes as unknown as [(typeof nodes)[0], ...typeof nodes])).max(1000),
    links: z.array(graphLink).max(10_000).default([]),
  });
}

export function pipelineJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(fullGraphSchema(), { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return {
    $schema: schema.$schema,
    title: 'Blender Sidecar pipeline',
    description: `A pipeline graph, version ${PIPELINE_VERSION}: nodes (configured steps) and links between their typed sockets. See docs/pipeline.md.`,
    ...Object.fromEntries(Object.entries(schema).filter(([k]) => k !== '$schema')),
  };
}
