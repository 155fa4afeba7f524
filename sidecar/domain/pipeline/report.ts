/**
 * Where each node stands (for the editor's nodes and the CLI), and the report a pipeline job ends with: every node's
 * state and counts, every output with its size, what validation found, and every failure and skip with its reason.
 */
import type { JobRecord, NodeProgress, WorkUnit } from '../jobs/job.js';
import { TERMINAL } from '../jobs/job.js';
import type { PipelinePlan, Step } from './plan.js';

export interface ValidationResult {
  objects: number;
  failed: Array<{ check: string; offenders: Array<{ object: string; detail: string }> }>;
  warnings: Array<{ check: string; offenders: Array<{ object: string; detail: string }> }>;
}

export interface PipelineReport {
  pipeline: string;
  steps: { total: number; done: number; failed: number; skipped: number; notRun: number };
  nodes: Array<{ id: string; type: string; name: string } & NodeProgress>;
  outputs: Array<{
    node: string;
    step: string;
    branch: string;
    variant?: unknown;
    kind: 'export' | 'render' | 'movie';
    path: string;
    bytes: number;
    format?: string;
    frame?: number;
    /** Movies: how many frames it holds. */
    frames?: number;
    triangles?: number;
    meshes?: number;
    width?: number;
    height?: number;
  }>;
  validations: Array<{ node: string; step: string; branch: string; passed: boolean } & Partial<ValidationResult>>;
  failures: Array<{ node: string; step: string; reason: string }>;
  skipped: Array<{ node: string; step: string; reason: string }>;
  /** Kept intermediate files (keepWorkFiles). */
  workDir?: string;
}

function tally(units: WorkUnit[]) {
  const c = { total: units.length, done: 0, running: 0, failed: 0, skipped: 0, pending: 0 };
  for (const u of units) c[u.state] += 1;
  return c;
}

function stateOf(c: ReturnType<typeof tally>, job: JobRecord): NodeProgress['state'] {
  if (c.done + c.failed + c.skipped < c.total) {
    if (TERMINAL.has(job.state)) return 'canceled';
    return c.running > 0 ? 'running' : 'waiting';
  }
  if (c.failed > 0) return 'failed';
  if (c.total > 0 && c.skipped === c.total) return 'skipped';
  if (c.skipped > 0) return 'partial';
  return 'done';
}

/** Per node id: state, counts, warnings and a one-line message. A report node counts what it collects. */
export function nodeStates(job: JobRecord, plan: PipelinePlan): Record<string, NodeProgress> {
  const byKey = new Map(job.units.map((u) => [u.key, u]));
  const out: Record<string, NodeProgress> = {};
  for (const n of plan.nodes) {
    const units = (n.type === 'report' ? (n.collects ?? []) : n.steps).map((k) => byKey.get(k)).filter((u): u is WorkUnit => !!u);
    const c = tally(units);
    let state: NodeProgress['state'];
    if (n.type === 'source') {
      // A source runs nothing: it shows the branches it started.
      state = 'done';
      c.total = c.done = n.branches;
    } else if (n.type === 'report') {
      // A report is done once everything it collects has ended, whatever became of it.
      if (c.done + c.failed + c.skipped === c.total) state = 'done';
      else if (TERMINAL.has(job.state)) state = 'canceled';
      else state = c.done + c.running > 0 ? 'running' : 'waiting';
    } else state = stateOf(c, job);
    const warned = units.flatMap((u) => (u.result as Partial<ValidationResult> | undefined)?.warnings ?? []);
    const warnings = warned.reduce((sum, w) => sum + w.offenders.length, 0);
    const failedUnit = units.find((u) => u.state === 'failed');
    const skippedUnit = units.find((u) => u.state === 'skipped');
    let message: string | undefined;
    if (n.type !== 'report') {
      if (failedUnit) message = failedUnit.error?.split('\n')[0];
      else if (skippedUnit) message = skippedUnit.error;
      else if (warnings)
        message = `${warnings} warning${warnings === 1 ? '' : 's'}: ${[...new Set(warned.map((w) => w.check))].join(', ')}`;
    }
    out[n.id] = {
      state,
      total: c.total,
      done: c.done,
      running: c.running,
      failed: c.failed,
      skipped: c.skipped,
      ...(n.type === 'validate' ? { warnings } : {}),
      ...(message ? { message } : {}),
    };
  }
  return out;
}

export function buildReport(job: JobRecord, plan: PipelinePlan, keptWorkDir: string | undefined): PipelineReport {
  const states = nodeStates(job, plan);
  const steps = new Map<number, Step>(plan.steps.map((s) => [s.key, s]));
  const c = tally(job.units);
  const report: PipelineReport = {
    pipeline: plan.pipeline,
    steps: { total: c.total, done: c.done, failed: c.failed, skipped: c.skipped, notRun: c.pending + c.running },
    nodes: plan.nodes.map((n) => ({ id: n.id, type: n.type, name: n.name, ...states[n.id]! })),
    outputs: [],
    validations: [],
    failures: [],
    skipped: [],
    ...(keptWorkDir ? { workDir: keptWorkDir } : {}),
  };
  for (const u of job.units) {
    const step = steps.get(u.key);
    if (!step) continue;
    const where = { node: step.node, step: u.label };
    if (u.state === 'failed') report.failures.push({ ...where, reason: u.error ?? 'failed' });
    if (u.state === 'skipped') report.skipped.push({ ...where, reason: u.error ?? 'skipped' });
    if (step.kind === 'validate' && (u.state === 'done' || u.state === 'failed')) {
      report.validations.push({
        ...where,
        branch: step.branch.label,
        passed: u.state === 'done',
        ...(u.result as Partial<ValidationResult> | undefined),
      });
    }
    if (u.state !== 'done' || (step.kind !== 'export' && step.kind !== 'render' && step.kind !== 'movie')) continue;
    const r = (u.result ?? {}) as {
      bytes?: number;
      format?: string;
      gltf?: { triangles: number; meshes: number };
      counted?: { triangles: number };
      width?: number;
      height?: number;
      frames?: number;
    };
    report.outputs.push({
      ...where,
      branch: step.branch.label,
      ...(step.branch.variant !== undefined ? { variant: step.branch.variant } : {}),
      kind: step.kind,
      path: u.output!,
      bytes: r.bytes ?? 0,
      format: step.kind === 'movie' ? step.codec : step.format,
      ...(step.kind === 'render' ? { frame: step.frame, width: r.width, height: r.height } : {}),
      ...(step.kind === 'movie' ? { frames: r.frames, width: r.width, height: r.height } : {}),
      ...(r.gltf ? { triangles: r.gltf.triangles, meshes: r.gltf.meshes } : r.counted ? { triangles: r.counted.triangles } : {}),
    });
  }
  return report;
}
