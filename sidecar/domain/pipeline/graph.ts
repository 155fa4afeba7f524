/**
 * The JSON form of a pipeline (docs/pipeline.md) and its checks. `checkGraph` reads a graph as a client sent it and
 * answers either the checked graph (typed settings, links resolved, nodes in an order that runs every node after
 * the nodes it depends on) or every problem at once, each naming the node (type, name and id) or link it is about.
 *
 * The form itself is in graph/schema.ts; checkGraph's steps, each named for what it checks, are in graph/check-*.ts.
 */
import { DomainError, fieldPath } from '../errors.js';
import type { ExportFormat } from '../blender/probe.js';
import type { SettingsOf } from './nodes.js';
import { checkLinks } from './graph/check-links.js';
import { checkNodes } from './graph/check-nodes.js';
import { checkCycles, checkOutputsPerBranch, checkRequiredInputs, checkSomethingToRun, runOrder } from './graph/check-flow.js';
import { describeNode, type CheckedGraph, type GraphCheck, type GraphError } from './graph/model.js';
import { envelope, PIPELINE_VERSION } from './graph/schema.js';

// What callers outside the pipeline folder use, from where it lives now.
export { describeNode, type CheckedGraph, type CheckedNode, type GraphError } from './graph/model.js';
export { PIPELINE_VERSION, pipelineJsonSchema } from './graph/schema.js';

/** Reads and checks a graph; see the module comment. Never throws for a bad graph. */
export function checkGraph(raw: unknown): GraphCheck {
  const { graph, errors } = checkEnvelope(raw);
  if (!graph) return { ok: false, errors };
  const nodes = checkNodes(graph.nodes, errors);
  const links = checkLinks(Array.isArray(graph.links) ? graph.links : [], nodes, errors);
  errors.push(...checkRequiredInputs(nodes, links.attempted));
  errors.push(...checkCycles([...nodes.byId.values()], links.fitting));
  // Only a graph whose parts are sound is checked as a whole: on a broken one these would name the wrong cause.
  if (errors.length === 0) {
    errors.push(...checkOutputsPerBranch([...nodes.byId.values()], links.links));
    errors.push(...checkSomethingToRun([...nodes.byId.values()], graph.nodes.length));
  }
  if (errors.length) return { ok: false, errors };
  const sorted = [...nodes.byId.values()].sort((x, y) => x.index - y.index);
  return {
    ok: true,
    graph: {
      version: PIPELINE_VERSION,
      name: graph.name ?? 'pipeline',
      nodes: sorted,
      links: links.links,
      order: runOrder(sorted, links.links),
    },
  };
}

/**
 * The graph's own fields (version, name, ...). Their problems are reported, and the check goes on to the nodes as long
 * as there is a list of them; `graph` is undefined when there is not.
 */
function checkEnvelope(raw: unknown): { graph?: { nodes: unknown[]; links?: unknown; name?: string }; errors: GraphError[] } {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return { errors: [{ field: '(graph)', message: 'a pipeline graph is a JSON object: {"version": 1, "nodes": [...], "links": [...]}' }] };
  }
  const top = envelope.safeParse(raw);
  if (top.success) return { graph: top.data, errors: [] };
  const errors: GraphError[] = [];
  for (const issue of top.error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys)
        errors.push({ field: fieldPath([...issue.path, key]), message: `'${key}' is not a field of a pipeline graph` });
    } else errors.push({ field: fieldPath(issue.path), message: issue.message });
  }
  const nodes = (raw as { nodes?: unknown }).nodes;
  return { graph: Array.isArray(nodes) ? { ...(raw as { links?: unknown; name?: string }), nodes } : undefined, errors };
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
    super('bad-input', `the pipeline has ${errors.length === 1 ? 'an error' : `${errors.length} errors`}: ${shown.join('; ')}${more}`, {
      errors: errors.map((e) => ({ ...e, field: prefix + e.field })),
    });
  }
}
