/**
 * checkGraph's first steps, node by node: the node's own shape, an id no other node has, a type the sidecar knows, and
 * settings that type takes (its schema, then what a schema cannot say: output templates, frame lists, image formats).
 */
import { z } from 'zod';
import { fieldPath } from '../../errors.js';
import { parseFrames } from '../../render/frame-range.js';
import { normalizeImageFormat } from '../../render/render-request.js';
import { NODE_TYPE_NAMES, NODE_TYPES, type NodeType, type NodeTypeSpec } from '../nodes.js';
import { templateProblem } from '../template.js';
import { describeNode, type CheckedNode, type GraphError } from './model.js';
import { graphNode } from './schema.js';

/** The nodes as the link steps see them. */
export interface CheckedNodes {
  /** Every node with an id of its own and a known type, by id (its settings may still be wrong: see `broken`). */
  byId: Map<string, CheckedNode>;
  /** Nodes that exist but are unusable: links to them are not checked further. */
  broken: Set<string>;
}

type GraphNode = z.output<typeof graphNode>;

/** Checks every node, adding each problem to `errors`. */
export function checkNodes(rawNodes: unknown[], errors: GraphError[]): CheckedNodes {
  const nodes: CheckedNodes = { byId: new Map(), broken: new Set() };
  const firstWithId = new Map<string, number>();
  rawNodes.forEach((rawNode, i) => {
    const n = checkNodeShape(rawNode, i, errors, nodes.broken);
    if (!n || !checkIdIsOwn(n, i, firstWithId, errors)) return;
    if (!checkTypeIsKnown(n, i, errors)) {
      nodes.broken.add(n.id);
      return;
    }
    const { node, usable } = checkSettings(n, i, errors);
    if (!usable) nodes.broken.add(n.id);
    nodes.byId.set(n.id, node);
  });
  return nodes;
}

/** How a zod issue reads in a message about a node or link (its fields named as the user wrote them). */
export function issueText(issue: z.core.$ZodIssue, path: readonly PropertyKey[]): string {
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys.map((k) => `'${k}'`).join(', ');
    return `${issue.keys.length === 1 ? `${keys} is not a field` : `${keys} are not fields`} of a node (nodes have id, type, name, settings, ui)`;
  }
  const where = path.length ? `${fieldPath(path)}: ` : '';
  return `${where}${issue.message}`;
}

function checkNodeShape(rawNode: unknown, i: number, errors: GraphError[], broken: Set<string>): GraphNode | undefined {
  const parsed = graphNode.safeParse(rawNode);
  if (parsed.success) return parsed.data;
  const id = typeof (rawNode as { id?: unknown })?.id === 'string' ? (rawNode as { id: string }).id : undefined;
  for (const issue of parsed.error.issues) {
    errors.push({
      field: fieldPath(['nodes', i, ...issue.path]),
      message: `nodes[${i}]: ${issueText(issue, issue.path)}`,
      ...(id ? { node: id } : {}),
    });
  }
  if (id) broken.add(id);
  return undefined;
}

/** The first node with an id keeps it; a later one is reported (and left out, so links go to the first). */
function checkIdIsOwn(n: GraphNode, i: number, firstWithId: Map<string, number>, errors: GraphError[]): boolean {
  const before = firstWithId.get(n.id);
  if (before !== undefined) {
    errors.push({
      field: `nodes[${i}].id`,
      node: n.id,
      message: `${describeNode(n)}: id '${n.id}' is also the id of nodes[${before}]; every node needs its own id`,
    });
    return false;
  }
  firstWithId.set(n.id, i);
  return true;
}

function checkTypeIsKnown(n: GraphNode, i: number, errors: GraphError[]): boolean {
  if ((NODE_TYPE_NAMES as string[]).includes(n.type)) return true;
  const what = n.name && n.name !== n.id ? `node '${n.name}' (id ${n.id})` : `node '${n.id}'`;
  errors.push({
    field: `nodes[${i}].type`,
    node: n.id,
    message: `${what} has an unknown type '${n.type}'; the node types are ${NODE_TYPE_NAMES.join(', ')}`,
  });
  return false;
}

/** The settings against the type's schema, then the checks the schema cannot express; `usable`: the schema passed. */
function checkSettings(n: GraphNode, i: number, errors: GraphError[]): { node: CheckedNode; usable: boolean } {
  const type = n.type as NodeType;
  const spec: NodeTypeSpec = NODE_TYPES[type];
  const label = describeNode(n);
  const settings = spec.settings.safeParse(n.settings);
  if (!settings.success) {
    for (const issue of settings.error.issues) errors.push(settingsIssue(issue, spec, n.id, i, label));
  }
  const node: CheckedNode = {
    index: i,
    id: n.id,
    type,
    name: n.name ?? n.id,
    settings: (settings.success ? settings.data : {}) as CheckedNode['settings'],
    spec,
  };
  // What the schema cannot say, checked on the settings as written (so they come with the schema's own errors).
  const flagged = new Set(settings.success ? [] : settings.error.issues.map((x) => String(x.path[0])));
  for (const e of settingsProblems(type, n.settings)) {
    if (flagged.has(e.path[0]!)) continue;
    errors.push({
      field: fieldPath(['nodes', i, 'settings', ...e.path]),
      node: n.id,
      message: `${label}: settings.${e.path.join('.')}: ${e.message}`,
    });
  }
  return { node, usable: settings.success };
}

/** One schema issue with a node's settings; an unknown setting's message lists the ones the node takes there. */
function settingsIssue(issue: z.core.$ZodIssue, spec: NodeTypeSpec, id: string, i: number, label: string): GraphError {
  const path = ['settings', ...issue.path];
  if (issue.code !== 'unrecognized_keys') {
    return { field: fieldPath(['nodes', i, ...path]), node: id, message: `${label}: ${fieldPath(path)}: ${issue.message}` };
  }
  const known = settingNames(spec.settings, issue.path);
  const keys = issue.keys.map((k) => `'${k}'`).join(', ');
  const what = `${fieldPath(path)}: ${keys} ${issue.keys.length === 1 ? 'is' : 'are'} not known here`;
  return {
    field: fieldPath(['nodes', i, ...path, issue.keys[0]!]),
    node: id,
    message: `${label}: ${what}${known.length ? `; it takes ${known.join(', ')}` : ''}`,
  };
}

/** The field names a settings schema has at `path` (for "it takes ..." in messages). */
function settingNames(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  type Json = { properties?: Record<string, Json>; anyOf?: Json[] };
  let json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Json | undefined;
  for (const part of path) json = json?.properties?.[String(part)] ?? json?.anyOf?.find((j) => j.properties)?.properties?.[String(part)];
  return Object.keys(json?.properties ?? {});
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
