/**
 * checkGraph's steps over the graph as a whole, once its nodes and links are read: required inputs linked, no cycle,
 * outputs that tell a fan-out's branches apart, something to run; and the order the nodes run in.
 */
import { fieldsOf } from '../template.js';
import { NODE_TYPE_NAMES, NODE_TYPES } from '../nodes.js';
import type { CheckedNodes } from './check-nodes.js';
import { describeNode, type CheckedLink, type CheckedNode, type GraphError } from './model.js';

/** Each input a node needs that no link goes into (a node whose own problems are reported already is left out). */
export function checkRequiredInputs(nodes: CheckedNodes, attempted: Set<string>): GraphError[] {
  const errors: GraphError[] = [];
  for (const n of nodes.byId.values()) {
    if (nodes.broken.has(n.id)) continue;
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
  return errors;
}

/** Each cycle the links form, named by its nodes and the links along it (any one of which breaks it). */
export function checkCycles(nodes: CheckedNode[], links: CheckedLink[]): GraphError[] {
  return findCycles(nodes, links).map((cycle) => {
    const first = cycle.reduce((m, n) => (n.index < m.index ? n : m), cycle[0]!);
    const path = [...cycle, cycle[0]!].map((n) => `${n.type} '${n.name}'`).join(' → ');
    const along = cycle.map((n, k) => links.find((l) => l.from.node === n && l.to.node === cycle[(k + 1) % cycle.length])!.index);
    return {
      field: `nodes[${first.index}]`,
      node: first.id,
      message: `the links form a cycle: ${path}; a pipeline must flow one way, so remove one of these links: ${along.map((j) => `links[${j}]`).join(', ')}`,
    };
  });
}

/** A graph of nodes only sources and reports, or of none at all, would run nothing. */
export function checkSomethingToRun(nodes: CheckedNode[], written: number): GraphError[] {
  const working = nodes.filter((n) => n.type !== 'source' && n.type !== 'report');
  if (nodes.length > 0 && working.length === 0) {
    return [{ field: 'nodes', message: 'the pipeline has nothing to run: add a validate, transform, gn_variant, export or render node' }];
  }
  if (nodes.length === 0 && written === 0) return [{ field: 'nodes', message: 'the pipeline has no nodes' }];
  return [];
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
        const key = cycle
          .map((x) => x.id)
          .sort()
          .join('\0');
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

/** Every node after the nodes it takes links from (Kahn's algorithm; ties keep the graph's own order). */
export function runOrder(nodes: CheckedNode[], links: CheckedLink[]): CheckedNode[] {
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
export function checkOutputsPerBranch(nodes: CheckedNode[], links: CheckedLink[]): GraphError[] {
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
    if (variant && !fields.has('variant') && !fields.has('variant_index'))
      missing.push(`{variant} (it comes after ${describeNode(variant)}, one branch per value)`);
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
