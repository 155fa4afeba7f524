/**
 * From a checked graph and what the file holds to steps: one step per node per branch (per frame for a render), each
 * with the steps it waits for. A branch is one line of work through the graph: a Source over collections starts one
 * per collection, a Geometry Nodes Variant multiplies them by its values.
 *
 * State does not cross workers in memory: a step that changes the scene (transform, gn_variant) writes a .blend into
 * the job's work folder, and the steps after it open that file. A validate step changes nothing; the steps after it
 * wait for it, so a failed check stops its branch.
 *
 * This file walks the graph; the planner of each node type is in plan/scene-steps.ts (source, validate, transform,
 * gn_variant, bake) or plan/file-steps.ts (export, render, movie, report).
 */
import { DomainError } from '../errors.js';
import { describeNode, type CheckedGraph } from './graph.js';
import type { NodeType } from './nodes.js';
import { planExport, planMovie, planRender, planReport } from './plan/file-steps.js';
import type { Flow, Inspection, NodeContext, NodePlan, PipelinePlan, PlanContext, RenderedBranch, Step } from './plan/model.js';
import { planBake, planGnVariant, planSource, planTransform, planValidate } from './plan/scene-steps.js';

export type { Inspection, PipelinePlan, Step } from './plan/model.js';

/** The plan could not be made: what the file holds does not fit the graph. Each problem names its node. */
export class PlanError extends DomainError {
  override readonly name = 'PlanError';
  constructor(readonly problems: Array<{ node: string; message: string }>) {
    super('bad-input', problems.map((p) => p.message).join('; '), {
      errors: problems.map((p) => ({ field: 'graph', node: p.node, message: p.message })),
    });
  }
}

/** Each node type's planner: it adds the node's steps and answers the flows leaving the node. */
const PLANNERS: Record<NodeType, (node: NodeContext) => Flow[]> = {
  source: planSource,
  validate: planValidate,
  transform: planTransform,
  gn_variant: planGnVariant,
  bake: planBake,
  export: planExport,
  render: planRender,
  movie: planMovie,
  report: planReport,
};

/** The steps for `graph` on the file `file` describes; throws PlanError naming every node the file does not fit. */
export function planPipeline(graph: CheckedGraph, file: Inspection, ctx: PlanContext): PipelinePlan {
  const problems: Array<{ node: string; message: string }> = [];
  const flows = new Map<string, Flow[]>();
  const files = new Map<string, number[]>();
  const renders = new Map<string, RenderedBranch[]>();
  const steps: Step[] = [];
  const nodes: NodePlan[] = [];

  for (const n of graph.order) {
    const plan: NodePlan = { id: n.id, type: n.type, name: n.name, steps: [], branches: 0 };
    nodes.push(plan);
    const upstreamOf = (socket: string) =>
      graph.links.filter((l) => l.to.node.id === n.id && l.to.socket.name === socket).map((l) => l.from.node.id);
    const out = PLANNERS[n.type]({
      n,
      graph,
      file,
      ctx,
      plan,
      input: n.type === 'source' || n.type === 'report' ? [] : (flows.get(upstreamOf('objects')[0]!) ?? []),
      steps,
      files,
      renders,
      add: (step) => {
        const key = steps.length;
        steps.push({ ...step, key, node: n.id } as Step);
        plan.steps.push(key);
        return key;
      },
      fail: (message) => problems.push({ node: n.id, message: `${describeNode(n)}: ${message}` }),
      label: (title, b, extra = '') => `${title} '${n.name}'${b.label ? ` [${b.label}]` : ''}${extra}`,
      upstreamOf,
    });
    flows.set(n.id, out);
    plan.branches = out.length;
  }

  problems.push(...collisions(steps, graph));
  if (problems.length) throw new PlanError(problems);
  return { pipeline: graph.name, scene: file.scene, baseDir: ctx.baseDir, workDir: ctx.workDir, date: ctx.date, steps, nodes };
}

/** Two steps writing one file would overwrite each other: name both. */
function collisions(steps: Step[], graph: CheckedGraph): Array<{ node: string; message: string }> {
  const seen = new Map<string, Step>();
  const out: Array<{ node: string; message: string }> = [];
  for (const step of steps) {
    if (step.kind !== 'export' && step.kind !== 'render' && step.kind !== 'movie') continue;
    const before = seen.get(step.output);
    if (!before) {
      seen.set(step.output, step);
      continue;
    }
    const n = graph.nodes.find((x) => x.id === step.node)!;
    out.push({
      node: step.node,
      message: `${describeNode(n)}: ${step.label} and ${before.label} would both write ${step.output}; put {name} or {variant} in the output`,
    });
    if (out.length >= 5) break;
  }
  return out;
}
