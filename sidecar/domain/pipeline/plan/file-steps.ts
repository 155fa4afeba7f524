/**
 * Planning the nodes that write files: Export (a file per branch), Render (a step per frame per branch), Movie (the
 * frames of a Render before it, encoded per branch) and Report (the export and render steps it collects).
 */
import { basename, extname, join } from 'node:path';
import { formatExtensions } from '../../export/formats.js';
import { parseFrames } from '../../render/frame-range.js';
import { resolveMovieOutput } from '../../render/movie.js';
import { framePath } from '../../render/output-path.js';
import { normalizeImageFormat } from '../../render/render-request.js';
import { imageExtension } from '../../verify/image.js';
import { describeNode, type CheckedNode } from '../graph/model.js';
import type { ExportSettings, MovieSettings, RenderSettings, ReportSettings } from '../nodes.js';
import { fileSafe, fillTemplate } from '../template.js';
import {
  deps,
  type Branch,
  type Flow,
  type Inspection,
  type NodeContext,
  type PlanContext,
  type RenderedBranch,
  type Step,
  type TurntableOrbit,
} from './model.js';

export function planExport({ n, input, ctx, files, add, fail, label }: NodeContext): Flow[] {
  const s = n.settings as ExportSettings;
  const keys: number[] = [];
  for (const f of input) {
    const output = exportOutput(s, f.branch, n, ctx, fail);
    if (!output) continue;
    keys.push(
      add({
        kind: 'export',
        label: label('Export', f.branch),
        branch: f.branch,
        open: f.open,
        dependsOn: deps(f),
        scope: f.scope,
        format: s.format,
        options: s.options,
        applyModifiers: s.applyModifiers,
        output,
      }),
    );
  }
  files.set(n.id, keys);
  return [];
}

export function planRender({ n, input, file, ctx, plan, steps, files, renders, add, fail, label }: NodeContext): Flow[] {
  const s = n.settings as RenderSettings;
  const r = renderSetup(s, file, fail);
  const keys: number[] = [];
  files.set(n.id, keys);
  if (!r) return [];
  if (s.instances) plan.instances = s.instances;
  const groups: RenderedBranch[] = [];
  renders.set(n.id, groups);
  for (const f of input) {
    const pattern = renderPattern(s, f.branch, n, ctx);
    const group: RenderedBranch = { flow: f, keys: [], format: r.format };
    groups.push(group);
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
  return [];
}

export function planMovie({ n, graph, file, ctx, steps, files, renders, add, fail, label, upstreamOf }: NodeContext): Flow[] {
  const from = graph.nodes.find((x) => x.id === upstreamOf('files')[0]);
  if (from && from.type !== 'render') {
    fail(`its files come from ${describeNode(from)}; a Movie takes a Render node's frames`);
    return [];
  }
  const s = n.settings as MovieSettings;
  const keys: number[] = [];
  for (const g of renders.get(from?.id ?? '') ?? []) {
    const b = g.flow.branch;
    const output = fillTemplate(
      s.output,
      { name: b.name, variant: b.variant, variant_index: b.variantIndex, date: ctx.date, node: n.id },
      ctx.baseDir,
    );
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
  return [];
}

/** A Report has no steps of its own: it collects the steps of the nodes linked into it, and names its file. */
export function planReport({ n, graph, ctx, plan, files, upstreamOf }: NodeContext): Flow[] {
  plan.collects = [...new Set(upstreamOf('files').flatMap((id) => files.get(id) ?? []))].sort((a, b) => a - b);
  const s = n.settings as ReportSettings;
  if (s.output) {
    let path = fillTemplate(s.output, { name: graph.name, date: ctx.date, node: n.id }, ctx.baseDir);
    if (path.endsWith('/')) path = join(path, `${fileSafe(graph.name)}-report.json`);
    plan.output = path;
  }
  return [];
}

function exportOutput(s: ExportSettings, b: Branch, n: CheckedNode, ctx: PlanContext, fail: (m: string) => void): string | undefined {
  const exts = formatExtensions(s.format)!;
  let path = fillTemplate(
    s.output,
    { name: b.name, variant: b.variant, variant_index: b.variantIndex, date: ctx.date, node: n.id },
    ctx.baseDir,
  );
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
  const path = fillTemplate(
    s.output,
    { name: b.name, variant: b.variant, variant_index: b.variantIndex, date: ctx.date, node: n.id },
    ctx.baseDir,
  );
  return path.endsWith('/') ? join(path, '####') : path;
}
