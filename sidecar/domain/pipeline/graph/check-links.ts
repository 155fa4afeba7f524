/**
 * checkGraph's link step, link by link: ends that are among the nodes, sockets those nodes have, socket types that
 * match, and one link at most into an input that takes one.
 */
import type { z } from 'zod';
import { fieldPath } from '../../errors.js';
import type { SocketSpec } from '../nodes.js';
import type { CheckedNodes } from './check-nodes.js';
import { issueText } from './check-nodes.js';
import { describeNode, type CheckedLink, type CheckedNode, type GraphError } from './model.js';
import { graphLink } from './schema.js';

export interface CheckedLinks {
  /** The links the pipeline runs along. */
  links: CheckedLink[];
  /** Every link whose ends exist and fit, even one refused for a full input: what the cycle check follows. */
  fitting: CheckedLink[];
  /** Inputs some link goes into ("node\0socket"), usable or not: not reported as unlinked as well. */
  attempted: Set<string>;
}

type GraphLink = z.output<typeof graphLink>;

/** Checks every link against the checked nodes, adding each problem to `errors`. */
export function checkLinks(rawLinks: unknown[], nodes: CheckedNodes, errors: GraphError[]): CheckedLinks {
  const checked: CheckedLinks = { links: [], fitting: [], attempted: new Set() };
  const intoInput = new Map<string, number>(); // "node\0socket" -> the first link into it
  rawLinks.forEach((rawLink, j) => {
    const link = checkLinkShape(rawLink, j, errors);
    if (!link) return;
    const ends = checkEndsExist(link, j, nodes, errors);
    if (!ends) return;
    checked.attempted.add(`${link.to.node}\0${link.to.socket}`);
    if (!ends.from || !ends.to) return; // a broken node: already reported
    const sockets = checkSocketsFit(link, j, ends.from, ends.to, errors);
    if (!sockets) return;
    const fitting: CheckedLink = { index: j, from: { node: ends.from, socket: sockets.out }, to: { node: ends.to, socket: sockets.inp } };
    checked.fitting.push(fitting);
    if (checkInputHasRoom(fitting, intoInput, errors)) checked.links.push(fitting);
  });
  return checked;
}

function checkLinkShape(rawLink: unknown, j: number, errors: GraphError[]): GraphLink | undefined {
  const parsed = graphLink.safeParse(rawLink);
  if (parsed.success) return parsed.data;
  for (const issue of parsed.error.issues) {
    const text =
      issue.code === 'unrecognized_keys'
        ? `${issue.keys.map((k) => `'${k}'`).join(', ')} is not a field of a link (links have from and to, each {node, socket})`
        : issueText(issue, issue.path);
    errors.push({ field: fieldPath(['links', j, ...issue.path]), link: j, message: `links[${j}]: ${text}` });
  }
  return undefined;
}

/**
 * Undefined when an end names no node at all (reported here); otherwise the nodes at each end, where an end at a
 * broken node (one whose own problems are already reported) is missing.
 */
function checkEndsExist(link: GraphLink, j: number, nodes: CheckedNodes, errors: GraphError[]) {
  const field = `links[${j}]`;
  const { from, to } = link;
  const a = nodes.byId.get(from.node);
  const b = nodes.byId.get(to.node);
  const missing = [
    !a && !nodes.broken.has(from.node) ? `comes from node '${from.node}'` : undefined,
    !b && !nodes.broken.has(to.node) ? `goes into node '${to.node}'` : undefined,
  ].filter(Boolean);
  if (missing.length) {
    errors.push({
      field,
      link: j,
      ...(b ? { node: b.id } : a ? { node: a.id } : {}),
      message: `${field} ${missing.join(' and ')}, which ${missing.length > 1 ? 'are' : 'is'} not among the nodes`,
    });
    return undefined;
  }
  return { from: a, to: b };
}

/** The output and input the link names, when both exist and carry the same type. */
function checkSocketsFit(
  link: GraphLink,
  j: number,
  a: CheckedNode,
  b: CheckedNode,
  errors: GraphError[],
): { out: SocketSpec; inp: SocketSpec } | undefined {
  const field = `links[${j}]`;
  const out = a.spec.outputs.find((s) => s.name === link.from.socket);
  const inp = b.spec.inputs.find((s) => s.name === link.to.socket);
  if (!out) {
    const outs = a.spec.outputs.map((s) => `'${s.name}'`).join(', ');
    errors.push({
      field: `${field}.from`,
      link: j,
      node: a.id,
      message: `${field}: ${describeNode(a)} has no output '${link.from.socket}'; ${outs ? `its outputs: ${outs}` : 'it has no outputs'}`,
    });
  }
  if (!inp) {
    const ins = b.spec.inputs.map((s) => `'${s.name}'`).join(', ');
    errors.push({
      field: `${field}.to`,
      link: j,
      node: b.id,
      message: `${field}: ${describeNode(b)} has no input '${link.to.socket}'; ${ins ? `its inputs: ${ins}` : 'it has no inputs'}`,
    });
  }
  if (!out || !inp) return undefined;
  if (out.type !== inp.type) {
    errors.push({
      field,
      link: j,
      node: b.id,
      message: `${field}: ${describeNode(b)} input '${inp.name}' takes ${inp.type}, but ${describeNode(a)} output '${out.name}' gives ${out.type}`,
    });
    return undefined;
  }
  return { out, inp };
}

/** An input that takes one link refuses a second (the first stays); a multi input takes them all. */
function checkInputHasRoom(link: CheckedLink, intoInput: Map<string, number>, errors: GraphError[]): boolean {
  const { node, socket } = link.to;
  const slot = `${node.id}\0${socket.name}`;
  const first = intoInput.get(slot);
  if (first !== undefined && !socket.multi) {
    const field = `links[${link.index}]`;
    errors.push({
      field,
      link: link.index,
      node: node.id,
      message: `${field}: ${describeNode(node)} input '${socket.name}' takes one link, but links[${first}] goes into it too`,
    });
    return false;
  }
  if (first === undefined) intoInput.set(slot, link.index);
  return true;
}
