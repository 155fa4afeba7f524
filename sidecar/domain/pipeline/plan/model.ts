/** The plan's shape: what the file holds, the steps made from a graph, and what planning one node can reach. */
import type { CheckedGraph, CheckedNode } from '../graph/model.js';
import type { BakeSettings, CheckLevel, CheckName, MovieSettings, TransformSettings } from '../nodes.js';

/** What the planning task found in the file (sidecar_worker/pipeline/inspect.py). */
export interface Inspection {
  scene: string;
  frameStart: number;
  frameEnd: number;
  frameStep: number;
  camera: string | null;
  cameras: string[];
  /** Every collection in the scene's tree; `top`: directly under the scene's own collection. */
  collections: Array<{ name: string; objects: number; top: boolean }>;
  objects: Array<{ name: string; type: string; inViewLayer: boolean }>;
  /** The scene's frame rate (a Movie node's default). */
  fps?: number;
  /** Geometry Nodes modifiers and their inputs (type: int, float, bool, vector, string, object, material, ...). */
  modifiers: Array<{ object: string; modifier: string; inputs: Array<{ name: string; type: string }> }>;
}

/** Which objects a step works on: a collection, some objects, or (neither) every visible object of the scene. */
export interface Scope {
  collection?: string;
  objects?: string[];
}

export interface Branch {
  /** {name}: the collection, object or file. */
  name: string;
  /** How labels tell branches apart ("Props, Count=5"); empty when the pipeline does not fan out. */
  label: string;
  /** {variant} and {variant_index}: the nearest Geometry Nodes Variant's value. */
  variant?: unknown;
  variantIndex?: number;
}

interface StepBase {
  key: number;
  node: string;
  label: string;
  branch: Branch;
  /** The .blend the step opens: the input file, or what a step before it wrote. */
  open: string;
  dependsOn: number[];
  scope: Scope;
}

export type Step = StepBase &
  (
    | { kind: 'validate'; checks: Partial<Record<CheckName, Exclude<CheckLevel, 'off'>>> }
    | { kind: 'transform'; settings: TransformSettings; output: string }
    | { kind: 'variant'; object: string; modifier: string; input: string; value: unknown; output: string }
    | { kind: 'export'; format: string; options?: Record<string, unknown>; applyModifiers: boolean; output: string }
    | { kind: 'bake'; settings: BakeSettings; folder: string; output: string }
    | {
        kind: 'render';
        frame: number;
        camera?: string;
        format: string;
        extension: string;
        engine?: string;
        samples?: number;
        resolutionPercent?: number;
        /** Orbit a camera made at run time around the branch's objects (see RenderSettings.turntable). */
        turntable?: TurntableOrbit;
        output: string;
      }
    | { kind: 'movie'; frames: string[]; format: string; output: string; fps: number; codec: MovieSettings['codec'] }
  );

/** Where a turntable camera is on a frame: `turns` times round from `first` over `span` frames. */
export interface TurntableOrbit {
  first: number;
  span: number;
  turns: number;
  elevation: number;
}

export interface NodePlan {
  id: string;
  type: string;
  name: string;
  /** Its steps, by key (none for source and report nodes). */
  steps: number[];
  /** Branches leaving it (a source over collections: one per collection). */
  branches: number;
  /** Report nodes: the export and render steps it collects. */
  collects?: number[];
  /** Report nodes: where the report is written as JSON. */
  output?: string;
  /** Render nodes: at most this many frames at once. */
  instances?: number;
}

export interface PipelinePlan {
  pipeline: string;
  scene: string;
  baseDir: string;
  workDir: string;
  date: string;
  steps: Step[];
  nodes: NodePlan[];
}

export interface PlanContext {
  blendFile: string;
  /** What // means in output templates. */
  baseDir: string;
  /** Where intermediate .blend files go. */
  workDir: string;
  /** {date}: YYYY-MM-DD. */
  date: string;
}

/** A step before it has its key and node. */
export type NewStep = Step extends infer S ? (S extends Step ? Omit<S, 'key' | 'node'> : never) : never;

/** What a flow along an `objects` link carries for one branch. */
export interface Flow {
  branch: Branch;
  open: string;
  /** The step the next one waits for (none straight from a source). */
  after?: number;
  scope: Scope;
}

/** A Render node's frame steps for one branch: what a Movie node after it encodes. */
export interface RenderedBranch {
  flow: Flow;
  keys: number[];
  format: string;
}

/**
 * What planning one node can reach: the graph, the file, the plan so far, and how to add a step or a problem. A planner
 * per node type (plan/*-steps.ts) takes it and answers the flows leaving the node along its objects output.
 */
export interface NodeContext {
  n: CheckedNode;
  graph: CheckedGraph;
  file: Inspection;
  ctx: PlanContext;
  plan: NodePlan;
  /** The flows coming in along its objects input (none for sources and reports). */
  input: Flow[];
  /** The steps so far; the next one added gets key `steps.length`. */
  steps: readonly Step[];
  /** Export, render and movie nodes' steps, by node: what a Report collects. */
  files: Map<string, number[]>;
  /** Render nodes' frame steps per branch, by node. */
  renders: Map<string, RenderedBranch[]>;
  /** Adds a step of this node; answers its key. */
  add(step: NewStep): number;
  /** Reports a problem with this node (prefixed with its name). */
  fail(message: string): void;
  /** A step's label: "Render 'Beauty' [Props, Count=5] frame 3". */
  label(title: string, b: Branch, extra?: string): string;
  /** The nodes linked into this node's input `socket`. */
  upstreamOf(socket: string): string[];
}

/** The step a flow's next step waits for: none straight from a source. */
export function deps(f: Flow): number[] {
  return f.after === undefined ? [] : [f.after];
}
