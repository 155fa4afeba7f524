/**
 * Pipeline jobs: the graph is checked at submit; the planning task reads the file (collections, objects, Geometry Nodes
 * inputs, the scene's frames) and the graph becomes steps, one unit each, that wait for the steps before them
 * (`dependsOn`). Every step's output is checked before it counts, the way render and export jobs check theirs: an
 * intermediate .blend must exist, an export is parsed, a frame must be a complete image. A validate step whose checks
 * fail fails with the offending objects named, and the scheduler skips what depends on it.
 */
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { JobRecord, NodeProgress, WorkUnit } from '../jobs/job.js';
import { TERMINAL } from '../jobs/job.js';
import { type JobLimits, type JobRunner, type TaskRequest, type UnitVerdict, limitsOf } from '../jobs/runner.js';
import { acceptMovie, partialMoviePath } from '../render/movie.js';
import { partialPath } from '../render/output-path.js';
import { checkImage } from '../verify/image.js';
import { placeMaps } from '../bake/place-maps.js';
import { placeExport, type Counted } from '../export/place-export.js';
import type { TaskOutcome } from '../workers/blender-worker.js';
import { writeFileAtomic } from '../store/atomic-file.js';
import { checkGraph, GraphInvalidError } from './graph.js';
import { PlanError, planPipeline, type Inspection, type PipelinePlan, type Step } from './plan.js';
import { branchFirst } from './branch-order.js';
import { buildReport, nodeStates, type ValidationResult } from './report.js';
import { localDate } from './template.js';

export interface PipelineJobParams {
  graph: unknown;
  blendFile: string;
  baseDir?: string;
  keepWorkFiles: boolean;
  instances?: number;
  timeoutS: number;
  maxRetries: number;
  memoryLimitMB?: number;
  temporaryBlendFile: boolean;
}

/** What a plan that could not be made leaves in job.plan, so each node can show why. */
interface FailedPlan {
  pipeline?: string;
  errors: Array<{ node: string; message: string }>;
}

export class PipelineRunner implements JobRunner {
  readonly kind = 'pipeline' as const;
  readonly unitNoun = 'steps';

  constructor(
    private readonly stateDir: string,
    private readonly poolSize: () => number,
    private readonly threads: () => number,
  ) {}

  private params(job: JobRecord): PipelineJobParams {
    return job.params as unknown as PipelineJobParams;
  }

  private planOf(job: JobRecord): PipelinePlan {
    return job.plan as unknown as PipelinePlan;
  }

  private step(job: JobRecord, unit: WorkUnit): Step {
    return this.planOf(job).steps[unit.key]!;
  }

  workDir(job: JobRecord): string {
    return join(this.stateDir, 'pipelines', job.id);
  }

  limits(job: JobRecord): JobLimits {
    return limitsOf(this.params(job), this.poolSize());
  }

  fileOf(job: JobRecord) {
    return { blendFile: this.params(job).blendFile, jobKey: job.id };
  }

  planTask(): TaskRequest {
    return { payload: { kind: 'pipeline.inspect' }, label: 'opening the file' };
  }

  async plan(job: JobRecord, inspection: Record<string, unknown> | undefined): Promise<WorkUnit[]> {
    const p = this.params(job);
    const checked = checkGraph(p.graph);
    if (!checked.ok) throw new GraphInvalidError(checked.errors);
    const workDir = this.workDir(job);
    mkdirSync(workDir, { recursive: true, mode: 0o700 });
    let plan: PipelinePlan;
    try {
      plan = planPipeline(checked.graph, inspection as unknown as Inspection, {
        blendFile: p.blendFile,
        baseDir: p.baseDir ?? dirname(p.blendFile),
        workDir,
        date: localDate(job.createdAt),
      });
    } catch (err) {
      if (err instanceof PlanError) job.plan = { pipeline: checked.graph.name, errors: err.problems } satisfies FailedPlan;
      throw err;
    }
    job.plan = plan as unknown as Record<string, unknown>;
    // On resume, keep the steps that are done and whose output is still there (or no longer needed: see release).
    const previous = new Map(job.units.map((u) => [u.key, u]));
    const needed = (output: string) => plan.steps.some((s) => s.open === output && previous.get(s.key)?.state !== 'done');
    return branchFirst(plan.steps).map((step) => {
      const output = 'output' in step ? step.output : undefined;
      const before = previous.get(step.key);
      if (before && before.state === 'done' && before.node === step.node && (!output || existsSync(output) || !needed(output))) return before;
      return { key: step.key, label: step.label, state: 'pending', attempts: before?.attempts ?? [], output, node: step.node, ...(step.dependsOn.length ? { dependsOn: step.dependsOn } : {}) };
    });
  }

  /** Where a scene-changing step saves before its file is checked and moved into place. */
  private stagedBlend(job: JobRecord, unit: WorkUnit, workerId: string): string {
    return join(this.workDir(job), `.${unit.key}-${workerId}.partial.blend`);
  }

  private bakeStaging(step: Extract<Step, { kind: 'bake' }>, unit: WorkUnit, workerId: string): string {
    return join(step.folder, `.sidecar-${unit.key}-${workerId}`);
  }

  private exportStaging(job: JobRecord, unit: WorkUnit, workerId: string): string {
    return join(dirname(unit.output!), `.sidecar-${job.id}-${unit.key}-${workerId}`);
  }

  task(job: JobRecord, unit: WorkUnit, workerId: string): TaskRequest {
    const step = this.step(job, unit);
    // One open file per node: a step never inherits what another node's step did to the scene in memory.
    const file = { blendFile: step.open, jobKey: `${job.id}/${step.node}` };
    const base = { label: unit.label, file };
    switch (step.kind) {
      case 'validate':
        return { ...base, payload: { kind: 'pipeline.validate', scope: step.scope, checks: Object.keys(step.checks) } };
      case 'transform':
        return { ...base, payload: { kind: 'pipeline.transform', scope: step.scope, ...step.settings, path: this.stagedBlend(job, unit, workerId) } };
      case 'variant':
        return {
          ...base,
          payload: { kind: 'pipeline.variant', object: step.object, modifier: step.modifier, input: step.input, value: step.value, path: this.stagedBlend(job, unit, workerId) },
        };
      case 'export': {
        const staging = this.exportStaging(job, unit, workerId);
        rmSync(staging, { recursive: true, force: true });
        mkdirSync(staging, { recursive: true });
        return {
          ...base,
          payload: {
            kind: 'export',
            ...step.scope,
            format: step.format,
            options: step.options,
            applyModifiers: step.applyModifiers,
            path: join(staging, basename(step.output)),
          },
        };
      }
      case 'bake':
        return { ...base, payload: this.bakePayload(job, unit, step, workerId) };
      case 'render':
        mkdirSync(dirname(step.output), { recursive: true });
        return {
          ...base,
          frame: step.frame,
          payload: {
            kind: 'render',
            camera: step.camera,
            frame: step.frame,
            path: partialPath(step.output, workerId),
            format: step.format,
            engine: step.engine,
            samples: step.samples,
            resolutionPercent: step.resolutionPercent,
            ...(step.turntable && { turntable: step.turntable, scope: step.scope }),
            threads: this.threads(),
            device: unit.forceCpu ? 'CPU' : undefined,
            persistentData: true,
          },
        };
      case 'movie':
        return {
          ...base,
          payload: { kind: 'movie', frames: step.frames, fileFormat: step.format, output: step.output, path: partialMoviePath(step.output, workerId), fps: step.fps, codec: step.codec },
        };
    }
  }

  /** A bake step's task: its maps baked into a fresh staging folder, the file with them saved beside the job's work. */
  private bakePayload(job: JobRecord, unit: WorkUnit, step: Extract<Step, { kind: 'bake' }>, workerId: string): TaskRequest['payload'] {
    const staging = this.bakeStaging(step, unit, workerId);
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(staging, { recursive: true });
    const s = step.settings;
    return {
      kind: 'pipeline.bake',
      scope: step.scope,
      targets: s.objects,
      sources: s.sources,
      extrusion: s.extrusion,
      maxRayDistance: s.maxRayDistance,
      samples: s.samples,
      maps: s.maps.map((type) => ({ type, size: s.size, margin: s.margin })),
      staging,
      folder: step.folder,
      useInMaterials: s.useInMaterials,
      path: this.stagedBlend(job, unit, workerId),
    };
  }

  async accept(job: JobRecord, unit: WorkUnit, outcome: Extract<TaskOutcome, { ok: true }>, workerId: string): Promise<UnitVerdict> {
    const verdict = await this.check(job, unit, outcome, workerId);
    if (verdict.ok) this.release(job, unit);
    return verdict;
  }

  /**
   * Deletes the intermediate .blend this unit opened once every step that opens it has ended: a fan-out over hundreds
   * of variants of a large file would otherwise hold a copy per variant until the job ends.
   */
  private release(job: JobRecord, unit: WorkUnit): void {
    if (this.params(job).keepWorkFiles) return;
    const steps = this.planOf(job).steps;
    const open = this.step(job, unit).open;
    if (!steps.some((s) => (s.kind === 'transform' || s.kind === 'variant' || s.kind === 'bake') && s.output === open)) return; // the input file
    const state = new Map(job.units.map((u) => [u.key, u.state]));
    const ended = (key: number) => ['done', 'skipped', 'failed'].includes(state.get(key) ?? 'pending');
    if (steps.every((s) => s.open !== open || s.key === unit.key || ended(s.key))) rmSync(open, { force: true });
  }

  private async check(job: JobRecord, unit: WorkUnit, outcome: Extract<TaskOutcome, { ok: true }>, workerId: string): Promise<UnitVerdict> {
    const step = this.step(job, unit);
    const fail = (reason: string, retryable = false): UnitVerdict => ({ ok: false, retryable, outcome: 'bad-output', reason: `${unit.label}: ${reason}` });
    const r = outcome.result;
    switch (step.kind) {
      case 'validate': {
        const found = (r.checks ?? {}) as Record<string, Array<{ object: string; detail: string }>>;
        const result: ValidationResult = { objects: Number(r.objects ?? 0), failed: [], warnings: [] };
        for (const [check, level] of Object.entries(step.checks)) {
          const offenders = found[check] ?? [];
          if (offenders.length) result[level === 'fail' ? 'failed' : 'warnings'].push({ check, offenders });
        }
        // Kept on a failed unit too: the report shows what was found.
        unit.result = result as unknown as Record<string, unknown>;
        if (result.failed.length === 0) return { ok: true, result: unit.result };
        return { ok: false, retryable: false, outcome: 'input-error', reason: `${unit.label} failed: ${findings(result.failed)}` };
      }
      case 'transform':
      case 'variant': {
        const staged = this.stagedBlend(job, unit, workerId);
        const size = fileSize(staged);
        if (!size) return fail(`Blender reported success, but saved no ${basename(step.output)}`, true);
        renameSync(staged, step.output);
        const { path: _p, ...rest } = r;
        return { ok: true, output: step.output, result: { ...rest, bytes: size } };
      }
      case 'export':
        return this.acceptExport(job, unit, step, r, workerId, fail);
      case 'bake': {
        const reported = (r.maps ?? []) as Array<{ object: string; type: string; path: string; output: string; coverage: number; min: number; max: number }>;
        const placed = await placeMaps(
          reported.map((m) => ({ object: m.object, type: m.type, staged: m.path, output: m.output, size: step.settings.size, baked: m })),
          step.settings.sources ? ' do the rays reach the sources? raise extrusion or maxRayDistance' : '',
        );
        if (!placed.ok) return fail(placed.reason, placed.retryable);
        if (placed.maps.length === 0) return fail('Blender reported success, but baked no map');
        rmSync(this.bakeStaging(step, unit, workerId), { recursive: true, force: true });
        const staged = this.stagedBlend(job, unit, workerId);
        if (!fileSize(staged)) return fail(`Blender reported success, but saved no ${basename(step.output)}`, true);
        renameSync(staged, step.output);
        return { ok: true, output: step.output, result: { maps: placed.maps } };
      }
      case 'render': {
        const partial = partialPath(step.output, workerId);
        const check = await checkImage(partial);
        if (!check.ok) return fail(`Blender reported success, but ${check.reason.replace(basename(partial), basename(step.output))}`, true);
        renameSync(partial, step.output);
        return { ok: true, output: step.output, result: { frame: step.frame, width: check.width, height: check.height, bytes: check.bytes } };
      }
      case 'movie': {
        // The frames' size as checked when each was accepted: the movie must hold every frame at that size.
        const first = job.units.find((u) => u.key === unit.dependsOn?.[0])?.result as { width?: number; height?: number } | undefined;
        const movie = { output: step.output, fps: step.fps, codec: step.codec, width: Number(first?.width), height: Number(first?.height) };
        const verdict = acceptMovie(step.frames.length, movie, r, workerId);
        return verdict.ok ? verdict : fail(verdict.reason.replace(/^preview movie: /, ''), verdict.retryable);
      }
    }
  }

  private async acceptExport(
    job: JobRecord,
    unit: WorkUnit,
    step: Extract<Step, { kind: 'export' }>,
    r: Record<string, unknown>,
    workerId: string,
    fail: (reason: string, retryable?: boolean) => UnitVerdict,
  ): Promise<UnitVerdict> {
    const placed = await placeExport(this.exportStaging(job, unit, workerId), step.output, step.format, r.counted as Counted | undefined);
    if (!placed.ok) return fail(placed.reason, placed.retryable);
    return { ok: true, output: step.output, result: placed.result };
  }

  discard(job: JobRecord, unit: WorkUnit, workerId: string): void {
    const plan = this.planOf(job);
    const step = plan?.steps?.[unit.key];
    if (!step) return;
    if (step.kind === 'transform' || step.kind === 'variant') rmSync(this.stagedBlend(job, unit, workerId), { force: true });
    if (step.kind === 'export') rmSync(this.exportStaging(job, unit, workerId), { recursive: true, force: true });
    if (step.kind === 'render') rmSync(partialPath(step.output, workerId), { force: true });
    if (step.kind === 'movie') rmSync(partialMoviePath(step.output, workerId), { force: true });
    if (step.kind === 'bake') {
      rmSync(this.bakeStaging(step, unit, workerId), { recursive: true, force: true });
      rmSync(this.stagedBlend(job, unit, workerId), { force: true });
    }
  }

  mayStart(job: JobRecord, unit: WorkUnit, running: WorkUnit[]): boolean {
    const limit = this.planOf(job).nodes.find((n) => n.id === unit.node)?.instances;
    return !limit || running.filter((u) => u.node === unit.node).length < limit;
  }

  nodeProgress(job: JobRecord): Record<string, NodeProgress> {
    const plan = job.plan as unknown as (PipelinePlan & Partial<FailedPlan>) | undefined;
    if (plan?.nodes) return nodeStates(job, plan);
    // Not planned yet (or the plan failed): every node waits, or shows why the pipeline could not start.
    const nodes = ((this.params(job).graph as { nodes?: Array<{ id?: unknown }> })?.nodes ?? []).map((n) => String(n.id));
    const out: Record<string, NodeProgress> = {};
    const ended = TERMINAL.has(job.state);
    for (const id of nodes) {
      const error = plan?.errors?.find((e) => e.node === id);
      out[id] = {
        state: error ? 'failed' : ended ? (job.state === 'canceled' ? 'canceled' : 'skipped') : 'waiting',
        total: 0,
        done: 0,
        running: 0,
        failed: 0,
        skipped: 0,
        ...(error ? { message: error.message } : ended && job.error ? { message: `not run: ${job.error.split('\n')[0]}` } : {}),
      };
    }
    return out;
  }

  summarize(job: JobRecord): Record<string, unknown> {
    const plan = job.plan as unknown as PipelinePlan | undefined;
    if (!plan?.nodes) return { pipeline: (job.plan as FailedPlan | undefined)?.pipeline, nodes: this.nodeProgress(job), outputs: [], failures: [], skipped: [] };
    const report = buildReport(job, plan, this.params(job).keepWorkFiles ? plan.workDir : undefined);
    const written: string[] = [];
    for (const n of plan.nodes) {
      if (!n.output) continue;
      try {
        mkdirSync(dirname(n.output), { recursive: true });
        writeFileAtomic(n.output, `${JSON.stringify({ job: job.id, ...report }, null, 2)}\n`, { fsync: true, mode: 0o644 });
        written.push(n.output);
      } catch (err) {
        report.failures.push({ node: n.id, step: `Report '${n.name}'`, reason: `could not write ${n.output}: ${(err as Error).message}` });
      }
    }
    return { ...report, reports: written };
  }

  finished(job: JobRecord): void {
    const p = this.params(job);
    if (!p.keepWorkFiles) rmSync(this.workDir(job), { recursive: true, force: true });
    if (p.temporaryBlendFile) {
      rmSync(p.blendFile, { force: true });
      rmSync(`${p.blendFile}1`, { force: true });
    }
  }
}

function fileSize(path: string): number | undefined {
  try {
    return statSync(path).size;
  } catch {
    return undefined;
  }
}

/** "ngons: BrokenMesh (6 faces with more than 4 sides); unapplied_scale: ..." */
function findings(list: ValidationResult['failed']): string {
  return list
    .map(({ check, offenders }) => {
      const shown = offenders.slice(0, 5).map((o) => `${o.object} (${o.detail})`);
      return `${check}: ${shown.join(', ')}${offenders.length > 5 ? ` and ${offenders.length - 5} more` : ''}`;
    })
    .join('; ');
}
