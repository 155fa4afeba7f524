/**
 * Export jobs: one unit per output. Each item is written by a worker into a private temporary folder beside its
 * output, checked (exists, non-empty; a glTF parsed and counted), then moved into place with whatever files came with
 * it (.bin, .mtl, textures). An export that produced no geometry is a failure, not a success.
 */
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { JobRecord, WorkUnit } from '../jobs/job.js';
import type { JobLimits, JobRunner, TaskRequest, UnitVerdict } from '../jobs/runner.js';
import { GltfError, inspectGltf } from '../verify/gltf.js';
import type { TaskOutcome } from '../workers/blender-worker.js';
import type { ExportItem } from './export-request.js';

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

/** Formats that carry nothing but mesh geometry: an export without meshes wrote nothing of use. */
const MESH_ONLY = new Set(['stl', 'ply', 'obj']);

interface Counted {
  objects: number;
  meshObjects: number;
  vertices: number;
  triangles: number;
  materials: number;
}

export function itemLabel(item: ExportItem, index: number): string {
  const what = item.collection ? `collection ${item.collection}` : item.objects ? item.objects.join(', ') : 'the scene';
  return `item ${index} (${what} as ${item.format})`;
}

export class ExportRunner implements JobRunner {
  readonly kind = 'export' as const;

  constructor(private readonly poolSize: () => number) {}

  private params(job: JobRecord): ExportJobParams {
    return job.params as unknown as ExportJobParams;
  }

  limits(job: JobRecord): JobLimits {
    const p = this.params(job);
    return { instances: Math.min(p.instances ?? this.poolSize(), this.poolSize()), timeoutS: p.timeoutS, maxRetries: p.maxRetries, memoryLimitMB: p.memoryLimitMB };
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
    const staging = this.stagingDir(job, unit, workerId);
    const written = join(staging, basename(item.output));
    const counted = outcome.result.counted as Counted | undefined;
    const fail = (reason: string, retryable = false): UnitVerdict => ({ ok: false, retryable, outcome: 'bad-output', reason: `${unit.label}: ${reason}` });
    let size = 0;
    try {
      size = statSync(written).size;
    } catch {
      return fail(`the exporter wrote nothing (no ${basename(item.output)})`);
    }
    if (size === 0) return fail(`the exporter wrote an empty ${basename(item.output)}`);
    if (counted && counted.objects === 0) return fail('nothing was exported: the selection is empty');
    if (counted && counted.meshObjects === 0 && MESH_ONLY.has(item.format)) {
      return fail(`nothing was exported: the selection has no mesh objects, and ${item.format} holds only meshes`);
    }
    const result: Record<string, unknown> = { format: item.format, bytes: size, counted };
    if (item.format === 'glb' || item.format === 'gltf') {
      try {
        const summary = await inspectGltf(written);
        if (summary.meshes === 0 && (counted?.meshObjects ?? 0) > 0) {
          return fail(`the glTF holds no meshes although ${counted!.meshObjects} mesh objects were selected`);
        }
        result.gltf = summary;
      } catch (err) {
        if (err instanceof GltfError) return fail(`the exported file is not valid: ${err.message}`, true);
        throw err;
      }
    }
    // Move everything the exporter wrote (the .bin of a .gltf, an .mtl, textures) next to the output.
    const files: string[] = [];
    for (const name of readdirSync(staging)) {
      const target = join(dirname(item.output), name);
      rmSync(target, { recursive: true, force: true });
      renameSync(join(staging, name), target);
      files.push(target);
    }
    rmSync(staging, { recursive: true, force: true });
    result.files = files;
    return { ok: true, output: item.output, result };
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
