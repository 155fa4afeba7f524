/**
 * Export jobs: one unit per output. Each item is written by a worker into a private temporary folder beside its
 * output, checked (exists, non-empty; a glTF parsed and counted), then moved into place with whatever files came with
 * it (.bin, .mtl, textures). An export that produced no geometry is a failure, not a success.
 */
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { JobRecord, WorkUnit } from '../jobs/job.js';
import { type JobLimits, type JobRunner, type TaskRequest, type UnitVerdict, limitsOf } from '../jobs/runner.js';
import type { TaskOutcome } from '../workers/blender-worker.js';
import type { ExportItem } from './export-request.js';
import { placeExport, type Counted } from './place-export.js';

interface ExportJobParams {
  blendFile: string;
  scene?: string;
  items: ExportItem[];
  instances?: number;
  timeoutS: number;
  maxRetries: number;
  memoryLimitMB?: number;
  temporaryBlendFile?: boolean;
}

function itemLabel(item: ExportItem, index: number): string {
  const what = item.collection ? `collection ${item.collection}` : item.objects ? item.objects.join(', ') : 'the scene';
  return `item ${index} (${what} as ${item.format})`;
}

export class ExportRunner implements JobRunner {
  readonly kind = 'export' as const;
  readonly unitNoun = 'items';

  constructor(private readonly poolSize: () => number) {}

  private params(job: JobRecord): ExportJobParams {
    return job.params as unknown as ExportJobParams;
  }

  limits(job: JobRecord): JobLimits {
    return limitsOf(this.params(job), this.poolSize());
  }

  fileOf(job: JobRecord) {
    return { blendFile: this.params(job).blendFile, jobKey: job.id, gn: job.params.gnValues };
  }

  planTask(): undefined {
    return undefined;
  }

  async plan(job: JobRecord): Promise<WorkUnit[]> {
    const previous = new Map(job.units.map((u) => [u.key, u]));
    return this.params(job).items.map((item, i) => {
      const before = previous.get(i);
      if (before && before.state === 'done' && before.output && existsSync(before.output)) return before;
      const unit: WorkUnit = before ?? { key: i, label: itemLabel(item, i), state: 'pending', attempts: [] };
      unit.state = 'pending';
      unit.output = item.output;
      return unit;
    });
  }

  private stagingDir(job: JobRecord, unit: WorkUnit, workerId: string): string {
    return join(dirname(unit.output!), `.sidecar-${job.id}-${unit.key}-${workerId}`);
  }

  task(job: JobRecord, unit: WorkUnit, workerId: string): TaskRequest {
    const item = this.params(job).items[unit.key]!;
    const staging = this.stagingDir(job, unit, workerId);
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(staging, { recursive: true });
    return {
      payload: {
        kind: 'export',
        scene: this.params(job).scene,
        objects: item.objects,
        collection: item.collection,
        format: item.format,
        options: item.options,
        ...(item.applyModifiers === undefined ? {} : { applyModifiers: item.applyModifiers }),
        path: join(staging, basename(item.output)),
      },
      label: unit.label,
    };
  }

  async accept(job: JobRecord, unit: WorkUnit, outcome: Extract<TaskOutcome, { ok: true }>, workerId: string): Promise<UnitVerdict> {
    const item = this.params(job).items[unit.key]!;
    const placed = await placeExport(
      this.stagingDir(job, unit, workerId),
      item.output,
      item.format,
      outcome.result.counted as Counted | undefined,
    );
    if (!placed.ok) return { ok: false, retryable: placed.retryable, outcome: 'bad-output', reason: `${unit.label}: ${placed.reason}` };
    return { ok: true, output: item.output, result: placed.result };
  }

  discard(job: JobRecord, unit: WorkUnit, workerId: string): void {
    if (unit.output) rmSync(this.stagingDir(job, unit, workerId), { recursive: true, force: true });
  }

  summarize(job: JobRecord): Record<string, unknown> {
    const done = job.units.filter((u) => u.state === 'done');
    return {
      items: job.units.length,
      exported: done.length,
      failed: job.units.filter((u) => u.state === 'failed').length,
      outputs: done.map((u) => ({ item: u.key, output: u.output, ...u.result })),
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
