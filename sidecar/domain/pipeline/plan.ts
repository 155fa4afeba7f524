/**
 * From a checked graph and what the file holds to steps: one step per node per branch (per frame for a render), each
 * with the steps it waits for. A branch is one line of work through the graph: a Source over collections starts one
 * per collection, a Geometry Nodes Variant multiplies them by its values.
 *
 * State does not cross workers in memory: a step that changes the scene (transform, gn_variant) writes a .blend into
 * the job's work folder, and the steps after it open that file. A validate step changes nothing; the steps after it
 * wait for it, so a failed check stops its branch.
 */
import { basename, extname, join } from 'node:path';
import { DomainError } from '../errors.js';
import { parseFrames } from '../render/frame-range.js';
import { framePath } from '../render/output-path.js';
import { resolveMovieOutput } from '../render/movie.js';
import { normalizeImageFormat } from '../render/render-request.js';
import { formatExtensions } from '../export/formats.js';
import { imageExtension } from '../verify/image.js';
import { describeNode, type CheckedGraph, type CheckedNode } from './graph.js';
import {
  CHECK_NAMES,
  variantValues,
  type CheckLevel,
  type CheckName,
  type ExportSettings,
  type GnVariantSettings,
  type MovieSettings,
  type RenderSettings,
  type ReportSettings,
  type BakeSettings,
  type SourceSettings,
  type TransformSettings,
  type ValidateSettings,
} from './nodes.js';
import { fileSafe, fillTemplate } from './template.js';

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
type NewStep = Step extends infer S ? (S extends Step ? Omit<S, 'key' | 'node'> : never) : never;

/** What a flow along an `objects` link carries for one branch. */
interface Flow {
  branch: Branch;
  open: string;
  /** The step the next one waits for (none straight from a source). */
  after?: number;
  scope: Scope;
}

/** The plan could not be made: what the file holds does not fit the graph. Each problem names its node. */
export class PlanError extends DomainError {
  override readonly name = 'PlanError';
  constructor(readonly problems: Array<{ node: string; message: string }>) {
    super('bad-input', problems.map((p) => p.message).join('; '), { errors: problems.map((p) => ({ field: 'graph', node: p.node, message: p.message })) });
  }
}

export function planPipeline(graph: CheckedGraph, file: Inspection, ctx: PlanContext): PipelinePlan {
  const problems: Array<{ node: string; message: string }> = [];
  const flows = new Map<string, Flow[]>();
  const files = new Map<string, number[]>();
  // A Render node's frame steps per branch: what a Movie node after it encodes.
  const renders = new Map<string, Array<{ flow: Flow; keys: number[]; format: string }>>();
  const steps: Step[] = [];
  const nodes: NodePlan[] = [];
  const upstreamOf = (n: CheckedNode, socket: string) => graph.links.filter((l) => l.to.node.id === n.id && l.to.socket.name === socket).map((l) => l.from.node.id);

  for (const n of graph.order) {
    const fail = (message: string) => problems.push({ node: n.id, message: `${describeNode(n)}: ${message}` });
    const plan: NodePlan = { id: n.id, type: n.type, name: n.name, steps: [], branches: 0 };
    nodes.push(plan);
    const add = (step: NewStep): number => {
      const key = steps.length;
      steps.push({ ...step, key, node: n.id } as Step);
      plan.steps.push(key);
      return key;
    };
    const input = n.type === 'source' || n.type === 'report' ? [] : (flows.get(upstreamOf(n, 'objects')[0]!) ?? []);
    const label = (title: string, b: Branch, extra = '') => `${title} '${n.name}'${b.label ? ` [${b.label}]` : ''}${extra}`;
    const out: Flow[] = [];

    switch (n.type) {
      case 'source':
        out.push(...sourceFlows(n.settings as SourceSettings, file, ctx, fail));
        break;
      case 'validate': {
        const checks: Partial<Record<CheckName, 'fail' | 'warn'>> = {};
        const settings = n.settings as ValidateSettings;
        for (const c of CHECK_NAMES) if (settings.checks[c] !== 'off') checks[c] = settings.checks[c] as 'fail' | 'warn';
        for (const f of input) {
          const key = add({ kind: 'validate', label: label('Validate', f.branch), branch: f.branch, open: f.open, dependsOn: deps(f), scope: f.scope, checks });
          out.push({ ...f, after: key });
        }
        break;
      }
      case 'transform':
        for (const f of input) {
          const key = steps.length;
          const output = join(ctx.workDir, `${key}-${fileSafe(n.id)}.blend`);
          add({ kind: 'transform', label: label('Transform', f.branch), branch: f.branch, open: f.open, dependsOn: deps(f), scope: f.scope, settings: n.settings as TransformSettings, output });
          out.push({ ...f, open: output, after: key });
        }
        break;
      case 'gn_variant': {
        const s = n.settings as GnVariantSettings;
        const target = checkVariant(s, file, fail);
        if (!target) break;
        const values = variantValues(s);
        for (const f of input) {
          values.forEach((value, i) => {
            const key = steps.length;
            const branch: Branch = { name: f.branch.name, label: [f.branch.label, `${s.input}=${shown(value)}`].filter(Boolean).join(', '), variant: value, variantIndex: i };
            const output = join(ctx.workDir, `${key}-${fileSafe(n.id)}.blend`);
            add({ kind: 'variant', label: label('GN Variant', branch), branch, open: f.open, dependsOn: deps(f), scope: f.scope, object: s.object, modifier: target.modifier, input: s.input, value, output });
            out.push({ ...f, branch, open: output, after: key });
          });
        }
        break;
      }
      case 'bake': {
        const s = n.settings as BakeSettings;
        for (const f of input) {
          const key = steps.length;
          const folder = fillTemplate(s.output, { name: f.branch.name, variant: f.branch.variant, variant_index: f.branch.variantIndex, date: ctx.date, node: n.id }, ctx.baseDir).replace(/\/$/, '');
          const output = join(ctx.workDir, `${key}-${fileSafe(n.id)}.blend`);
          add({ kind: 'bake', label: label('Bake', f.branch), branch: f.branch, open: f.open, dependsOn: deps(f), scope: f.scope, settings: s, folder, output });
          out.push({ ...f, open: output, after: key });
        }
        break;
      }
      case 'export': {
        const s = n.settings as ExportSettings;
        const keys: number[] = [];
        for (const f of input) {
          const output = exportOutput(s, f.branch, n, ctx, fail);
          if (!output) continue;
          keys.push(add({ kind: 'export', label: label('Export', f.branch), branch: f.branch, open: f.open, dependsOn: deps(f), scope: f.scope, format: s.format, options: s.options, applyModifiers: s.applyModifiers, output }));
        }
        files.set(n.id, keys);
        break;
      }
      case 'render': {
        const s = n.settings as RenderSettings;
        const r = renderSetup(s, file, fail);
        const keys: number[] = [];
        if (r) {
          if (s.instances) plan.instances = s.instances;
          renders.set(n.id, []);
          for (const f of input) {
            const pattern = renderPattern(s, f.branch, n, ctx);
            const group = { flow: f, keys: [] as number[], format: r.format };
            renders.get(n.id)!.push(group);
            for (const frame of r.frames) {
              group.keys.push(steps.length);
              keys.push(
                add({
                  kind: 'render',
                  label: label('Render', f.branch, ` frame ${frame}`),
                  branch: f.branch,
                  open: f.open,
                  dependsOn: deps(f),
                  scope: f.scope,
                  frame,
                  camera: s.camera,
                  format: r.format,
                  extension: r.extension,
                  engine: s.engine,
                  samples: s.samples,
                  resolutionPercent: s.resolutionPercent,
                  ...(r.turntable && { turntable: r.turntable }),
                  output: framePath(pattern, frame, r.extension),
                }),
              );
            }
          }
        }
        files.set(n.id, keys);
        break;
      }
      case 'movie': {
        const from = graph.nodes.find((x) => x.id === upstreamOf(n, 'files')[0]);
        if (from && from.type !== 'render') {
          fail(`its files come from ${describeNode(from)}; a Movie takes a Render node's frames`);
          break;
        }
        const s = n.settings as MovieSettings;
        const keys: number[] = [];
        for (const g of renders.get(from?.id ?? '') ?? []) {
          const b = g.flow.branch;
          const output = fillTemplate(s.output, { name: b.name, variant: b.variant, variant_index: b.variantIndex, date: ctx.date, node: n.id }, ctx.baseDir);
          try {
            resolveMovieOutput(output, ctx.blendFile);
          } catch (err) {
            fail((err as Error).message.replace(/^movie\.output: /, ''));
            break;
          }
          const frames = g.keys.map((k) => (steps[k] as Extract<Step, { kind: 'render' }>).output);
          const movie = { kind: 'movie', frames, format: g.format, output, fps: s.fps ?? file.fps ?? 24, codec: s.codec } as const;
          keys.push(add({ ...movie, label: label('Movie', b), branch: b, open: g.flow.open, dependsOn: g.keys, scope: g.flow.scope }));
        }
        files.set(n.id, keys);
        break;
      }
      case 'report': {
        plan.collects = [...new Set(upstreamOf(n, 'files').flatMap((id) => files.get(id) ?? []))].sort((a, b) => a - b);
        const s = n.settings as ReportSettings;
        if (s.output) {
          let path = fillTemplate(s.output, { name: graph.name, date: ctx.date, node: n.id }, ctx.baseDir);
          if (path.endsWith('/')) path = join(path, `${fileSafe(graph.name)}-report.json`);
          plan.output = path;
        }
        break;
      }
    }
    flows.set(n.id, out);
    plan.branches = out.length;
  }

  problems.push(...collisions(steps, graph));
  if (problems.length) throw new PlanError(problems);
  return { pipeline: graph.name, scene: file.scene, baseDir: ctx.baseDir, workDir: ctx.workDir, date: ctx.date, steps, nodes };
}

function deps(f: Flow): number[] {
  return f.after === undefined ? [] : [f.after];
}

function shown(value: unknown): string {
  return Array.isArray(value) ? `(${value.join(', ')})` : String(value);
}

function sourceFlows(s: SourceSettings, file: Inspection, ctx: PlanContext, fail: (m: string) => void): Flow[] {
  const open = ctx.blendFile;
  const collections = new Map(file.collections.map((c) => [c.name, c]));
  const known = (names: string[]) => names.slice(0, 20).join(', ') || 'none';
  switch (s.mode) {
    case 'file':
      return [{ branch: { name: s.name ?? basename(ctx.blendFile).replace(/\.blend\d*$/i, ''), label: '' }, open, scope: {} }];
    case 'objects': {
      const byName = new Map(file.objects.map((o) => [o.name, o]));
      const missing = s.objects!.filter((o) => !byName.has(o));
      if (missing.length) {
        fail(`the file has no object named ${missing.map((m) => `'${m}'`).join(', ')}; its objects include: ${known(file.objects.map((o) => o.name))}`);
        return [];
      }
      const hidden = s.objects!.filter((o) => !byName.get(o)!.inViewLayer);
      if (hidden.length) fail(`${hidden.map((m) => `'${m}'`).join(', ')} ${hidden.length === 1 ? 'is' : 'are'} not in the view layer (an excluded collection)`);
      const name = s.name ?? (s.objects!.length === 1 ? s.objects![0]! : 'objects');
      return [{ branch: { name, label: '' }, open, scope: { objects: s.objects } }];
    }
    case 'collection': {
      const c = collections.get(s.collection!);
      if (!c) {
        fail(`the scene has no collection named '${s.collection}'; its collections: ${known([...collections.keys()])}`);
        return [];
      }
      if (c.objects === 0) fail(`collection '${c.name}' has no objects`);
      return [{ branch: { name: s.name ?? c.name, label: '' }, open, scope: { collection: c.name } }];
    }
    case 'collections': {
      const unknown = (s.exclude ?? []).filter((e) => !collections.has(e));
      if (unknown.length) fail(`exclude names ${unknown.map((u) => `'${u}'`).join(', ')}, which the scene does not have; its collections: ${known([...collections.keys()])}`);
      const chosen = file.collections.filter((c) => c.top && c.objects > 0 && !(s.exclude ?? []).includes(c.name));
      if (chosen.length === 0) fail('the scene has no collection with objects directly under its own collection (mode collections makes a branch per such collection)');
      return chosen.map((c) => ({ branch: { name: c.name, label: c.name }, open, scope: { collection: c.name } }));
    }
  }
}

const VALUE_KINDS: Record<string, (v: unknown) => boolean> = {
  int: (v) => Number.isInteger(v),
  float: (v) => typeof v === 'number',
  bool: (v) => typeof v === 'boolean',
  string: (v) => typeof v === 'string',
  object: (v) => typeof v === 'string',
  material: (v) => typeof v === 'string',
  collection: (v) => typeof v === 'string',
  image: (v) => typeof v === 'string',
  texture: (v) => typeof v === 'string',
  vector: (v) => Array.isArray(v) && v.length === 3,
  color: (v) => Array.isArray(v) && v.length === 4,
};

function checkVariant(s: GnVariantSettings, file: Inspection, fail: (m: string) => void): { modifier: string } | undefined {
  const obj = file.objects.find((o) => o.name === s.object);
  if (!obj) {
    fail(`the file has no object named '${s.object}'; its objects include: ${file.objects.slice(0, 20).map((o) => o.name).join(', ') || 'none'}`);
    return undefined;
  }
  const mods = file.modifiers.filter((m) => m.object === s.object);
  const mod = s.modifier ? mods.find((m) => m.modifier === s.modifier) : mods[0];
  if (!mod) {
    const what = s.modifier ? `no Geometry Nodes modifier named '${s.modifier}'` : 'no Geometry Nodes modifier';
    fail(`object '${s.object}' has ${what}${mods.length ? `; its Geometry Nodes modifiers: ${mods.map((m) => m.modifier).join(', ')}` : ''}`);
    return undefined;
  }
  const input = mod.inputs.find((i) => i.name === s.input);
  if (!input) {
    fail(`modifier '${mod.modifier}' on '${s.object}' has no input named '${s.input}'; its inputs: ${mod.inputs.map((i) => i.name).join(', ') || 'none'}`);
    return undefined;
  }
  const fits = VALUE_KINDS[input.type];
  const bad = fits ? variantValues(s).filter((v) => !fits(v)) : [];
  if (bad.length) {
    fail(`input '${s.input}' is ${input.type === 'int' ? 'an' : 'a'} ${input.type}, which ${bad.slice(0, 5).map((b) => JSON.stringify(b)).join(', ')} ${bad.length === 1 ? 'is' : 'are'} not`);
    return undefined;
  }
  return { modifier: mod.modifier };
}

function exportOutput(s: ExportSettings, b: Branch, n: CheckedNode, ctx: PlanContext, fail: (m: string) => void): string | undefined {
  const exts = formatExtensions(s.format)!;
  let path = fillTemplate(s.output, { name: b.name, variant: b.variant, variant_index: b.variantIndex, date: ctx.date, node: n.id }, ctx.baseDir);
  if (path.endsWith('/')) path = join(path, `${fileSafe(b.name)}${b.variant === undefined ? '' : `_${fileSafe(b.variant)}`}${exts[0]}`);
  const ext = extname(path).toLowerCase();
  if (!ext) return path + exts[0];
  if (!exts.includes(ext)) {
    fail(`settings.output: ${basename(path)} does not end in ${exts.join(' or ')}, the ${s.format} extension`);
    return undefined;
  }
  return path;
}

function renderSetup(s: RenderSettings, file: Inspection, fail: (m: string) => void) {
  if (s.turntable && s.camera) {
    fail('a turntable renders from a camera of its own: leave settings.camera empty, or turn settings.turntable off');
    return undefined;
  }
  if (s.camera && !file.cameras.includes(s.camera)) {
    fail(`the file has no camera named '${s.camera}'; its cameras: ${file.cameras.join(', ') || 'none'}`);
    return undefined;
  }
  if (!s.camera && !s.turntable && !file.camera) {
    fail(`scene '${file.scene}' has no active camera; name one in settings.camera`);
    return undefined;
  }
  const format = normalizeImageFormat(s.format);
  let frames: number[];
  if (s.frames) frames = parseFrames(s.frames);
  else {
    frames = [];
    for (let f = file.frameStart; f <= file.frameEnd; f += Math.max(1, file.frameStep)) frames.push(f);
    if (frames.length === 0) {
      fail(`scene '${file.scene}' has an empty frame range (${file.frameStart}-${file.frameEnd}); set settings.frames`);
      return undefined;
    }
  }
  const turntable = s.turntable ? turntableOrbit(frames, s) : undefined;
  return { frames, format, extension: imageExtension(format), turntable };
}

/** The orbit spans the frames rendered, end to end, so the last frame is one step short of where the first is. */
function turntableOrbit(frames: number[], s: RenderSettings): TurntableOrbit {
  const first = frames.reduce((a, b) => Math.min(a, b));
  const last = frames.reduce((a, b) => Math.max(a, b));
  const step = frames.length > 1 ? (last - first) / (frames.length - 1) : 1;
  return { first, span: last - first + step, turns: s.turntableTurns, elevation: s.turntableElevation };
}

function renderPattern(s: RenderSettings, b: Branch, n: CheckedNode, ctx: PlanContext): string {
  const path = fillTemplate(s.output, { name: b.name, variant: b.variant, variant_index: b.variantIndex, date: ctx.date, node: n.id }, ctx.baseDir);
  return path.endsWith('/') ? join(path, '####') : path;
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
    out.push({ node: step.node, message: `${describeNode(n)}: ${step.label} and ${before.label} would both write ${step.output}; put {name} or {variant} in the output` });
    if (out.length >= 5) break;
  }
  return out;
}
