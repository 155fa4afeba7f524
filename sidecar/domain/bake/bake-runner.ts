/**
 * Bake jobs: a planning task opens the file and checks the targets (they exist, are meshes, have UVs), then one unit
 * per target object, spread across the pool. A worker bakes every map of its object into private staging folders
 * beside the outputs; each map is checked (a readable image of the asked size, with baked pixels in it) before it is
 * moved into place, so a map on disk is always a whole, checked one.
 */
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { InvalidInputError } from '../errors.js';
import type { JobRecord, WorkUnit } from '../jobs/job.js';
import { type JobLimits, type JobRunner, type TaskRequest, type UnitVerdict, limitsOf } from '../jobs/runner.js';
import type { TaskOutcome } from '../workers/blender-worker.js';
import { expandOutput, type BakeMap } from './bake-request.js';
import { placeMaps } from './place-maps.js';

interface BakeJobParams {
  blendFile: string;
  scene?: string;
  objects?: string[];
  collection?: string;
  maps: BakeMap[];
  selectedToActive?: { sources: string[]; cage?: string; extrusion: number; maxRayDistance: number };
  samples?: number;
  device?: string;
  instances?: number;
  timeoutS: number;
  maxRetries: number;
  memoryLimitMB?: number;
  temporaryBlendFile?: boolean;
}

/** What the worker reports for each map it baked. */
interface BakedMap {
  type: string;
  path: string;
  coverage: number;
  min: number;
  max: number;
}

export class BakeRunner implements JobRunner {
  readonly kind = 'bake' as const;
  readonly unitNoun = 'items';

  constructor(private readonly poolSize: () => number) {}

  private params(job: JobRecord): BakeJobParams {
    return job.params as unknown as BakeJobParams;
  }

  limits(job: JobRecord): JobLimits {
    return limitsOf(this.params(job), this.poolSize());
  }

  fileOf(job: JobRecord) {
    return { blendFile: this.params(job).blendFile, jobKey: job.id };
  }

  planTask(job: JobRecord): TaskRequest {
    const p = this.params(job);
    return {
      payload: { kind: 'bake.plan', objects: p.objects, collection: p.collection, selectedToActive: p.selectedToActive },
      label: 'checking the bake targets',
    };
  }

  private objectsOf(job: JobRecord): string[] {
    return (job.plan?.objects as string[] | undefined) ?? [];
  }

  /** Where each map of a target goes. */
  outputs(job: JobRecord, object: string): Array<{ type: string; output: string }> {
    return this.params(job).maps.map((m) => ({ type: m.type, output: expandOutput(m.output, object, m.type) }));
  }

  async plan(job: JobRecord, planResult: Record<string, unknown> | undefined): Promise<WorkUnit[]> {
    const objects = (planResult?.objects as string[] | undefined) ?? this.objectsOf(job);
    job.plan = { objects };
    const seen = new Map<string, string>();
    for (const object of objects) {
      for (const { output } of this.outputs(job, object)) {
        const other = seen.get(output);
        // Two names can become the same file name ("Crate.001" and "Crate_001"): refuse rather than overwrite.
        if (other)
          throw new InvalidInputError(
            'output',
            `objects ${other} and ${object} would both write ${output}; rename one of them or change the output`,
          );
        seen.set(output, object);
      }
    }
    const previous = new Map(job.units.map((u) => [u.key, u]));
    return objects.map((object, i) => {
      const before = previous.get(i);
      const outputs = this.outputs(job, object);
      if (before && before.state === 'done' && outputs.every((o) => existsSync(o.output))) return before;
      const unit: WorkUnit = before ?? {
        key: i,
        label: `${object} (${this.params(job)
          .maps.map((m) => m.type)
          .join(', ')})`,
        state: 'pending',
        attempts: [],
      };
      unit.state = 'pending';
      unit.output = outputs[0]!.output;
      return unit;
    });
  }

  private staged(job: JobRecord, unit: WorkUnit, workerId: string, output: string): string {
    return join(dirname(output), `.sidecar-${job.id}-${unit.key}-${workerId}`, basename(output));
  }

  task(job: JobRecord, unit: WorkUnit, workerId: string): TaskRequest {
    const p = this.params(job);
    const object = this.objectsOf(job)[unit.key]!;
    this.discard(job, unit, workerId);
    const maps = p.maps.map((m) => {
      const path = this.staged(job, unit, workerId, expandOutput(m.output, object, m.type));
      mkdirSync(dirname(path), { recursive: true });
      return { type: m.type, path, size: m.size, margin: m.margin, ...(m.colorSpace ? { colorSpace: m.colorSpace } : {}) };
    });
    return {
      payload: { kind: 'bake', scene: p.scene, object, maps, selectedToActive: p.selectedToActive, samples: p.samples, device: p.device },
      label: unit.label,
    };
  }

  async accept(job: JobRecord, unit: WorkUnit, outcome: Extract<TaskOutcome, { ok: true }>, workerId: string): Promise<UnitVerdict> {
    const object = this.objectsOf(job)[unit.key]!;
    const reported = (outcome.result.maps as BakedMap[] | undefined) ?? [];
    const staged = this.params(job).maps.map((spec, i) => {
      const output = expandOutput(spec.output, object, spec.type);
      return { object, type: spec.type, output, staged: this.staged(job, unit, workerId, output), size: spec.size, baked: reported[i] };
    });
    const hint = this.params(job).selectedToActive ? ' do the rays reach the sources? raise extrusion or maxRayDistance' : '';
    const placed = await placeMaps(staged, hint);
    if (!placed.ok) return { ok: false, retryable: placed.retryable, outcome: 'bad-output', reason: `${unit.label}: ${placed.reason}` };
    this.discard(job, unit, workerId);
    const maps = placed.maps.map(({ object: _o, ...m }) => m);
    return { ok: true, output: maps[0]!.output as string, result: { object, maps } };
  }

  discard(job: JobRecord, unit: WorkUnit, workerId: string): void {
    const object = this.objectsOf(job)[unit.key];
    if (object === undefined) return;
    for (const m of this.params(job).maps)
      rmSync(dirname(this.staged(job, unit, workerId, expandOutput(m.output, object, m.type))), { recursive: true, force: true });
  }

  summarize(job: JobRecord): Record<string, unknown> {
    const done = job.units.filter((u) => u.state === 'done');
    return {
      objects: job.units.length,
      baked: done.length,
      failed: job.units.filter((u) => u.state === 'failed').length,
      maps: done.flatMap((u) =>
        ((u.result?.maps as Array<Record<string, unknown>> | undefined) ?? []).map((m) => ({
          object: u.result?.object,
          type: m.type,
          output: m.output,
        })),
      ),
    };
  }

  finished(job: JobRecord): void {
    const p = this.params(job);
    if (p.temporaryBlendFile) {
      rmSync(p.blendFile, { force: true });
      rmSync(`${p.blendFile}1`, { force: true });
    }
  }
}
