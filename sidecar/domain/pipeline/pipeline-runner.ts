/**
 * Pipeline jobs: the graph is checked at submit; the planning task reads the file (collections, objects, Geometry Nodes
 * inputs, the scene's frames) and the graph becomes steps, one unit each, that wait for the steps before them
 * (`dependsOn`). Every step's output is checked before it counts (step-check.ts), the way render and export jobs
 * check theirs: an intermediate .blend must exist, an export is parsed, a frame must be a complete image. A validate
 * step whose checks fail fails with the offending objects named, and the scheduler skips what depends on it.
 */
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { JobRecord, NodeProgress, WorkUnit } from '../jobs/job.js';
import { TERMINAL } from '../jobs/job.js';
import { type JobLimits, type JobRunner, type TaskRequest, type UnitVerdict, limitsOf } from '../jobs/runner.js';
import { partialMoviePath } from '../render/movie.js';
import { partialPath } from '../render/output-path.js';
import type { TaskOutcome } from '../workers/blender-worker.js';
import { writeFileAtomic } from '../store/atomic-file.js';
import { checkGraph, GraphInvalidError } from './graph.js';
import { PlanError, planPipeline, type Inspection, type PipelinePlan, type Step } from './plan.js';
import { branchFirst } from './branch-order.js';
import { buildReport, nodeStates } from './report.js';
import { checkStep } from './step-check.js';
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
      if (before && before.state === 'done' && before.node === step.node && (!output || existsSync(output) || !needed(output)))
        return before;
      return {
        key: step.key,
        label: step.label,
        state: 'pending',
        attempts: before?.attempts ?? [],
        output,
        node: step.node,
        ...(step.dependsOn.length ? { dependsOn: step.dependsOn } : {}),
      };
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
        return {
          ...base,
          payload: { kind: 'pipeline.transform', scope: step.scope, ...step.settings, path: this.stagedBlend(job, unit, workerId) },
        };
      case 'variant':
        return {
          ...base,
          payload: {
            kind: 'pipeline.variant',
            object: step.object,
            modifier: step.modifier,
            input: step.input,
            value: step.value,
            path: this.stagedBlend(job, unit, workerId),
          },
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
          payload: {
            kind: 'movie',
            frames: step.frames,
            fileFormat: step.format,
            output: step.output,
            path: partialMoviePath(step.output, workerId),
            fps: step.fps,
            codec: step.codec,
          },
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
    const staging = {
      blend: () => this.stagedBlend(job, unit, workerId),
      bake: (step: Extract<Step, { kind: 'bake' }>) => this.bakeStaging(step, unit, workerId),
      export: () => this.exportStaging(job, unit, workerId),
    };
    const verdict = await checkStep(job, unit, this.step(job, unit), outcome.result, workerId, staging);
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
    if (!plan?.nodes)
      return {
        pipeline: (job.plan as FailedPlan | undefined)?.pipeline,
        nodes: this.nodeProgress(job),
        outputs: [],
        failures: [],
        skipped: [],
      };
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
