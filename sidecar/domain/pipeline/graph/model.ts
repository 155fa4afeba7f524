/** What checking a graph answers: its problems, or the checked graph that planning works from. */
import type { NodeType, NodeTypeSpec, SettingsOf, SocketSpec } from '../nodes.js';

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
