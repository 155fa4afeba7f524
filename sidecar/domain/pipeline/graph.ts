/**
 * The JSON form of a pipeline (docs/pipeline.md) and its checks. `checkGraph` reads a graph as a client sent it and
 * answers either the checked graph (typed settings, links resolved, nodes in an order that runs every node after
 * the nodes it depends on) or every problem at once, each naming the node (type, name and id) or link it is about.
 */
import { z } from 'zod';
import { DomainError, fieldPath } from '../errors.js';
import type { ExportFormat } from '../blender/probe.js';
import { parseFrames } from '../render/frame-range.js';
import { normalizeImageFormat } from '../render/render-request.js';
import { NODE_TYPE_NAMES, NODE_TYPES, type NodeType, type NodeTypeSpec, type SettingsOf, type SocketSpec } from './nodes.js';
import { fieldsOf, templateProblem } from './template.js';

export const PIPELINE_VERSION = 1;

const nodeId = z.string().min(1).max(128).describe('Unique within the graph; links and progress name nodes by it.');
const ui = z
  .record(z.string(), z.unknown())
  .optional()
  .describe("The editor's own (location, width, colour, ...): kept as it is, never read by the sidecar.");

export const graphNode = z.strictObject({
  id: nodeId,
  type: z.string().min(1).describe(`One of ${NODE_TYPE_NAMES.join(', ')}.`),
  name: z.string().min(1).max(256).optional().describe('What the node is called in the editor and in messages (default: its id).'),
  settings: z.record(z.string(), z.unknown()).default({}).describe("The node type's settings (docs/pipeline.md)."),
  ui,
});

const socketRef = z.strictObject({
  node: nodeId.describe('The node\'s id.'),
  socket: z.string().min(1).describe('The socket\'s name: objects or files.'),
});

export const graphLink = z.strictObject({
  from: socketRef.describe('An output socket.'),
  to: socketRef.describe('An input socket.'),
});

const envelope = z.strictObject({
  version: z.literal(PIPELINE_VERSION).describe('The version of this form: 1.'),
  name: z.string().min(1).max(256).optional().describe('The pipeline\'s name ({name} of a Report\'s output).'),
  description: z.string().max(10_000).optional(),
  nodes: z.array(z.unknown()).max(1000),
  links: z.array(z.unknown()).max(10_000).default([]),
  ui,
});

/** The graph as the RPC methods take it: its shape only. Node types, settings and links are checked by `checkGraph`. */
export const pipelineGraph = envelope
  .extend({ nodes: z.array(graphNode).max(1000), links: z.array(graphLink).max(10_000).default([]) })
  .describe(`A pipeline graph, version ${PIPELINE_VERSION} (docs/pipeline.md).`);
export type PipelineGraph = z.input<typeof pipelineGraph>;

/** The whole form with every node type's settings: the JSON Schema in docs/pipeline.schema.json is made from it. */
export function fullGraphSchema() {
  const nodes = NODE_TYPE_NAMES.map((t) => {
    const spec: NodeTypeSpec = NODE_TYPES[t];
    return graphNode.extend({ type: z.literal(t), settings: spec.settings.optional() }).describe(`${spec.title}: ${spec.summary}`);
  });
  return envelope.extend({
    nodes: z.array(z.discriminatedUnion('type', nodes as unknown as [typeof nodes[0], ...typeof nodes])).max(1000),
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

/** One problem with a graph. `field` is relative to the graph (`nodes[3].settings.ratio`, `links[2]`). */
export interface GraphError {
  field: string;
  message: string;
  /** The node it is about (the one a link goes into, for a link). */
  node?: string;
  /** The link it is about (its index in links). */
  link?: number;
}

export interface CheckedNode<T extends NodeType = NodeType> {
  index: number;
  id: string;
  type: T;
  /** The node's name, or its id when it has none. */
  name: string;
  settings: SettingsOf[T];
  spec: NodeTypeSpec;
}

export interface CheckedLink {
  index: number;
  from: { node: CheckedNode; socket: SocketSpec };
  to: { node: CheckedNode; socket: SocketSpec };
}

export interface CheckedGraph {
  version: number;
  name: string;
  nodes: CheckedNode[];
  links: CheckedLink[];
  /** Every node after the nodes it takes links from. */
  order: CheckedNode[];
}

export type GraphCheck = { ok: true; graph: CheckedGraph } | { ok: false; errors: GraphError[] };

/** How messages name a node: "export node 'Export GLB' (id glb)", or "export node 'glb'" when it has no name. */
export function describeNode(n: { id: string; type: string; name?: string }): string {
  return n.name && n.name !== n.id ? `${n.type} node '${n.name}' (id ${n.id})` : `${n.type} node '${n.id}'`;
}

function issueText(issue: z.core.$ZodIssue, path: readonly PropertyKey[]): string {
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys.map((k) => `'${k}'`).join(', ');
    return `${issue.keys.length === 1 ? `${keys} is not a field` : `${keys} are not fields`} of a node (nodes have id, type, name, settings, ui)`;
  }
  const where = path.length ? `${fieldPath(path)}: ` : '';
  return `${where}${issue.message}`;
}

/** The field names a settings schema has at `path` (for "it takes ..." in messages). */
function settingNames(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  type Json = { properties?: Record<string, Json>; anyOf?: Json[] };
  let json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Json | undefined;
  for (const part of path) json = json?.properties?.[String(part)] ?? json?.anyOf?.find((j) => j.properties)?.properties?.[String(part)];
  return Object.keys(json?.properties ?? {});
}

/** Reads and checks a graph; see the module comment. Never throws for a bad graph. */
export function checkGraph(raw: unknown): GraphCheck {
  const errors: GraphError[] = [];
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return { ok: false, errors: [{ field: '(graph)', message: 'a pipeline graph is a JSON object: {"version": 1, "nodes": [...], "links": [...]}' }] };
  }
  const top = envelope.safeParse(raw);
  if (!top.success) {
    for (const issue of top.error.issues) {
      if (issue.code === 'unrecognized_keys') {
        for (const key of issue.keys) errors.push({ field: fieldPath([...issue.path, key]), message: `'${key}' is not a field of a pipeline graph` });
      } else errors.push({ field: fieldPath(issue.path), message: issue.message });
    }
    const nodes = (raw as { nodes?: unknown })?.nodes;
    if (!Array.isArray(nodes)) return { ok: false, errors };
  }
  const g = top.success ? top.data : (raw as { nodes: unknown[]; links?: unknown; name?: string; version?: number });

  // Nodes: shape, unique ids, known types, settings.
  const byId = new Map<string, CheckedNode>();
  const seen = new Map<string, number>();
  const broken = new Set<string>(); // nodes that exist but are unusable: links to them are not checked further
  g.nodes.forEach((rawNode, i) => {
    const parsed = graphNode.safeParse(rawNode);
    const field = `nodes[${i}]`;
    const id = typeof (rawNode as { id?: unknown })?.id === 'string' ? (rawNode as { id: string }).id : undefined;
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        errors.push({ field: fieldPath(['nodes', i, ...issue.path]), message: `${field}: ${issueText(issue, issue.path)}`, ...(id ? { node: id } : {}) });
      }
      if (id) broken.add(id);
      return;
    }
    const n = parsed.data;
    const label = describeNode(n);
    const before = seen.get(n.id);
    if (before !== undefined) {
      errors.push({ field: `${field}.id`, node: n.id, message: `${label}: id '${n.id}' is also the id of nodes[${before}]; every node needs its own id` });
      return;
    }
    seen.set(n.id, i);
    if (!(NODE_TYPE_NAMES as string[]).includes(n.type)) {
      const what = n.name && n.name !== n.id ? `node '${n.name}' (id ${n.id})` : `node '${n.id}'`;
      errors.push({
        field: `${field}.type`,
        node: n.id,
        message: `${what} has an unknown type '${n.type}'; the node types are ${NODE_TYPE_NAMES.join(', ')}`,
      });
      broken.add(n.id);
      return;
    }
    const type = n.type as NodeType;
    const spec: NodeTypeSpec = NODE_TYPES[type];
    const settings = spec.settings.safeParse(n.settings);
    if (!settings.success) {
      for (const issue of settings.error.issues) {
        const path = ['settings', ...issue.path];
        if (issue.code === 'unrecognized_keys') {
          const known = settingNames(spec.settings, issue.path);
          const keys = issue.keys.map((k) => `'${k}'`).join(', ');
          const what = `${fieldPath(path)}: ${keys} ${issue.keys.length === 1 ? 'is' : 'are'} not known here`;
          errors.push({ field: fieldPath(['nodes', i, ...path, issue.keys[0]!]), node: n.id, message: `${label}: ${what}${known.length ? `; it takes ${known.join(', ')}` : ''}` });
        } else {
          errors.push({ field: fieldPath(['nodes', i, ...path]), node: n.id, message: `${label}: ${fieldPath(path)}: ${issue.message}` });
        }
      }
    }
    const checked: CheckedNode = { index: i, id: n.id, type, name: n.name ?? n.id, settings: (settings.success ? settings.data : {}) as CheckedNode['settings'], spec };
    // What the schema cannot say, checked on the settings as written (so they come with the schema's own errors).
    const flagged = new Set(settings.success ? [] : settings.error.issues.map((x) => String(x.path[0])));
    for (const e of settingsProblems(type, n.settings)) {
      if (flagged.has(e.path[0]!)) continue;
      errors.push({ field: fieldPath(['nodes', i, 'settings', ...e.path]), node: n.id, message: `${label}: settings.${e.path.join('.')}: ${e.message}` });
    }
    if (!settings.success) broken.add(n.id);
    byId.set(n.id, checked);
  });

  // Links: ends that exist, sockets that exist, types that match, one link per single input.
  const links: CheckedLink[] = [];
  const cycleLinks: CheckedLink[] = []; // every link whose ends exist and fit, even one refused for a full input
  const intoInput = new Map<string, number>(); // "node\0socket" -> first link index
  const attempted = new Set<string>(); // inputs some link goes into, usable or not: not reported as unlinked too
  const rawLinks: unknown[] = Array.isArray(g.links) ? g.links : [];
  rawLinks.forEach((rawLink, j) => {
    const field = `links[${j}]`;
    const parsed = graphLink.safeParse(rawLink);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        const text = issue.code === 'unrecognized_keys' ? `${issue.keys.map((k) => `'${k}'`).join(', ')} is not a field of a link (links have from and to, each {node, socket})` : issueText(issue, issue.path);
        errors.push({ field: fieldPath(['links', j, ...issue.path]), link: j, message: `${field}: ${text}` });
      }
      return;
    }
    const { from, to } = parsed.data;
    const a = byId.get(from.node);
    const b = byId.get(to.node);
    const missing = [
      !a && !broken.has(from.node) ? `comes from node '${from.node}'` : undefined,
      !b && !broken.has(to.node) ? `goes into node '${to.node}'` : undefined,
    ].filter(Boolean);
    if (missing.length) {
      errors.push({ field, link: j, ...(b ? { node: b.id } : a ? { node: a.id } : {}), message: `${field} ${missing.join(' and ')}, which ${missing.length > 1 ? 'are' : 'is'} not among the nodes` });
      return;
    }
    attempted.add(`${to.node}\0${to.socket}`);
    if (!a || !b) return; // a broken node: already reported
    const out = a.spec.outputs.find((s) => s.name === from.socket);
    const inp = b.spec.inputs.find((s) => s.name === to.socket);
    if (!out) {
      const outs = a.spec.outputs.map((s) => `'${s.name}'`).join(', ');
      errors.push({ field: `${field}.from`, link: j, node: a.id, message: `${field}: ${describeNode(a)} has no output '${from.socket}'; ${outs ? `its outputs: ${outs}` : 'it has no outputs'}` });
    }
    if (!inp) {
      const ins = b.spec.inputs.map((s) => `'${s.name}'`).join(', ');
      errors.push({ field: `${field}.to`, link: j, node: b.id, message: `${field}: ${describeNode(b)} has no input '${to.socket}'; ${ins ? `its inputs: ${ins}` : 'it has no inputs'}` });
    }
    if (!out || !inp) return;
    if (out.type !== inp.type) {
      errors.push({
        field,
        link: j,
        node: b.id,
        message: `${field}: ${describeNode(b)} input '${inp.name}' takes ${inp.type}, but ${describeNode(a)} output '${out.name}' gives ${out.type}`,
      });
      return;
    }
    const slot = `${b.id}\0${inp.name}`;
    const first = intoInput.get(slot);
    cycleLinks.push({ index: j, from: { node: a, socket: out }, to: { node: b, socket: inp } });
    if (first !== undefined && !inp.multi) {
      errors.push({ field, link: j, node: b.id, message: `${field}: ${describeNode(b)} input '${inp.name}' takes one link, but links[${first}] goes into it too` });
      return;
    }
    if (first === undefined) intoInput.set(slot, j);
    links.push({ index: j, from: { node: a, socket: out }, to: { node: b, socket: inp } });
  });

  // Required inputs.
  for (const n of byId.values()) {
    if (broken.has(n.id)) continue;
    for (const inp of n.spec.inputs) {
      if (!inp.required || attempted.has(`${n.id}\0${inp.name}`)) continue;
      const givers = NODE_TYPE_NAMES.filter((t) => NODE_TYPES[t].outputs.some((o) => o.type === inp.type));
      errors.push({
        field: `nodes[${n.index}]`,
        node: n.id,
        message: `${describeNode(n)} needs its input '${inp.name}' linked (from a node that gives ${inp.type}: ${givers.join(', ')})`,
      });
    }
  }

  for (const cycle of findCycles([...byId.values()], cycleLinks)) {
    const first = cycle.reduce((m, n) => (n.index < m.index ? n : m), cycle[0]!);
    const path = [...cycle, cycle[0]!].map((n) => `${n.type} '${n.name}'`).join(' → ');
    const along = cycle.map((n, k) => cycleLinks.find((l) => l.from.node === n && l.to.node === cycle[(k + 1) % cycle.length])!.index);
    errors.push({
      field: `nodes[${first.index}]`,
      node: first.id,
      message: `the links form a cycle: ${path}; a pipeline must flow one way, so remove one of these links: ${along.map((j) => `links[${j}]`).join(', ')}`,
    });
  }

  if (errors.length === 0) {
    errors.push(...fanOutProblems([...byId.values()], links));
    const working = [...byId.values()].filter((n) => n.type !== 'source' && n.type !== 'report');
    if (byId.size > 0 && working.length === 0) {
      errors.push({ field: 'nodes', message: 'the pipeline has nothing to run: add a validate, transform, gn_variant, export or render node' });
    }
    if (byId.size === 0 && g.nodes.length === 0) errors.push({ field: 'nodes', message: 'the pipeline has no nodes' });
  }
  if (errors.length) return { ok: false, errors };
  const nodes = [...byId.values()].sort((x, y) => x.index - y.index);
  return {
    ok: true,
    graph: { version: PIPELINE_VERSION, name: (g as { name?: string }).name ?? 'pipeline', nodes, links, order: topoOrder(nodes, links) },
  };
}

/** Checks a settings schema cannot express: templates, frame lists, image formats. */
function settingsProblems(type: NodeType, settings: Record<string, unknown>): Array<{ path: string[]; message: string }> {
  const out: Array<{ path: string[]; message: string }> = [];
  const { output, frames, format } = settings;
  if (typeof output === 'string' && output) {
    const problem = templateProblem(output);
    if (problem) out.push({ path: ['output'], message: problem });
  }
  if (type === 'movie' && typeof output === 'string' && !/\.(mp4|mov|mkv)$/i.test(output)) {
    out.push({ path: ['output'], message: `"${output}" must end in .mp4, .mov or .mkv (the container follows the extension)` });
  }
  if (type !== 'render') return out;
  try {
    if (typeof frames === 'string' && frames) parseFrames(frames);
  } catch (err) {
    out.push({ path: ['frames'], message: (err as Error).message.replace(/^frames: /, '') });
  }
  try {
    if (typeof format === 'string' && format) normalizeImageFormat(format);
  } catch (err) {
    out.push({ path: ['format'], message: (err as Error).message.replace(/^format: /, '') });
  }
  return out;
}

/** Every cycle once (as the nodes along it, in link order), found by depth-first search. */
function findCycles(nodes: CheckedNode[], links: CheckedLink[]): CheckedNode[][] {
  const next = new Map<string, CheckedNode[]>();
  for (const l of links) next.set(l.from.node.id, [...(next.get(l.from.node.id) ?? []), l.to.node]);
  const state = new Map<string, 'open' | 'done'>();
  const stack: CheckedNode[] = [];
  const cycles: CheckedNode[][] = [];
  const seenSets = new Set<string>();
  const visit = (n: CheckedNode) => {
    state.set(n.id, 'open');
    stack.push(n);
    for (const m of next.get(n.id) ?? []) {
      const st = state.get(m.id);
      if (st === 'open') {
        const cycle = stack.slice(stack.findIndex((x) => x.id === m.id));
        const key = cycle.map((x) => x.id).sort().join('\0');
        if (!seenSets.has(key)) {
          seenSets.add(key);
          cycles.push(cycle);
        }
      } else if (st === undefined) visit(m);
    }
    stack.pop();
    state.set(n.id, 'done');
  };
  for (const n of nodes) if (!state.has(n.id)) visit(n);
  return cycles;
}

function topoOrder(nodes: CheckedNode[], links: CheckedLink[]): CheckedNode[] {
  const indegree = new Map(nodes.map((n) => [n.id, 0]));
  for (const l of links) indegree.set(l.to.node.id, indegree.get(l.to.node.id)! + 1);
  const ready = nodes.filter((n) => indegree.get(n.id) === 0);
  const order: CheckedNode[] = [];
  while (ready.length) {
    const n = ready.shift()!;
    order.push(n);
    for (const l of links) {
      if (l.from.node.id !== n.id) continue;
      const d = indegree.get(l.to.node.id)! - 1;
      indegree.set(l.to.node.id, d);
      if (d === 0) ready.push(l.to.node);
    }
  }
  return order;
}

/**
 * An output downstream of a fan-out must tell its branches apart, or every branch writes the same file: {variant}
 * (or {variant_index}) after a Geometry Nodes Variant, {name} after a Source over collections. An export into a folder
 * (ending in /) is named per branch on its own.
 */
function fanOutProblems(nodes: CheckedNode[], links: CheckedLink[]): GraphError[] {
  const upstream = (n: CheckedNode, seen = new Set<string>()): CheckedNode[] => {
    const out: CheckedNode[] = [];
    for (const l of links) {
      if (l.to.node.id !== n.id || seen.has(l.from.node.id)) continue;
      seen.add(l.from.node.id);
      out.push(l.from.node, ...upstream(l.from.node, seen));
    }
    return out;
  };
  const errors: GraphError[] = [];
  for (const n of nodes) {
    if (n.type !== 'export' && n.type !== 'render' && n.type !== 'movie') continue;
    const output = (n.settings as { output: string }).output;
    if (n.type === 'export' && /[\\/]$/.test(output)) continue;
    const fields = new Set(fieldsOf(output));
    const up = upstream(n);
    const variant = up.find((u) => u.type === 'gn_variant');
    const fanSource = up.find((u) => u.type === 'source' && (u.settings as { mode: string }).mode === 'collections');
    const missing: string[] = [];
    if (variant && !fields.has('variant') && !fields.has('variant_index')) missing.push(`{variant} (it comes after ${describeNode(variant)}, one branch per value)`);
    if (fanSource && !fields.has('name')) missing.push(`{name} (it comes after ${describeNode(fanSource)}, one branch per collection)`);
    if (missing.length) {
      errors.push({
        field: `nodes[${n.index}].settings.output`,
        node: n.id,
        message: `${describeNode(n)}: every branch would write ${output}; put ${missing.join(' and ')} in it`,
      });
    }
  }
  return errors;
}

/** Export nodes against the installed Blender: a format it can write, options its exporter has. */
export function checkExportFormats(graph: CheckedGraph, available: ExportFormat[]): GraphError[] {
  const errors: GraphError[] = [];
  for (const n of graph.nodes) {
    if (n.type !== 'export') continue;
    const s = n.settings as SettingsOf['export'];
    const f = available.find((a) => a.format === s.format);
    if (!f) {
      errors.push({
        field: `nodes[${n.index}].settings.format`,
        node: n.id,
        message: `${describeNode(n)}: this Blender cannot write ${s.format}; it can write ${available.map((a) => a.format).join(', ')}`,
      });
      continue;
    }
    for (const name of Object.keys(s.options ?? {})) {
      if (f.options.includes(name)) continue;
      errors.push({
        field: `nodes[${n.index}].settings.options.${name}`,
        node: n.id,
        message: `${describeNode(n)}: '${name}' is not an option of the ${s.format} exporter; its options: ${f.options.join(', ')}`,
      });
    }
  }
  return errors;
}

/** A bad-input error carrying every problem of a graph in data.errors (fields relative to the graph, as checkGraph gives them). */
export class GraphInvalidError extends DomainError {
  override readonly name = 'GraphInvalidError';
  constructor(errors: GraphError[], prefix = '') {
    const shown = errors.slice(0, 3).map((e) => e.message);
    const more = errors.length > 3 ? `; and ${errors.length - 3} more (data.errors lists them all)` : '';
    super(
      'bad-input',
      `the pipeline has ${errors.length === 1 ? 'an error' : `${errors.length} errors`}: ${shown.join('; ')}${more}`,
      { errors: errors.map((e) => ({ ...e, field: prefix + e.field })) },
    );
  }
}
