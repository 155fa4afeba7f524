/**
 * Simulation bake jobs: a planning task finds (or checks) the objects with Geometry Nodes simulations and Bake nodes,
 * then one unit per object. A worker bakes the object's modifiers into a private staging folder; each bake must have
 * written at least one frame (a meta file and its blobs) before the folders are moved into place, replacing an older
 * bake there, so a running Blender pointed at a folder never reads half a bake.
 */
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { JobRecord, WorkUnit } from '../jobs/job.js';
import { type JobLimits, type JobRunner, type TaskRequest, type UnitVerdict, limitsOf } from '../jobs/runner.js';
import type { TaskOutcome } from '../workers/blender-worker.js';
import { expandCacheFolder } from './simulation-request.js';

interface SimulationJobParams {
  blendFile: string;
  objects?: string[];
  output: string;
  frameStart?: number;
  frameEnd?: number;
  instances?: number;
  timeoutS: number;
  maxRetries: number;
  memoryLimitMB?: number;
  temporaryBlendFile?: boolean;
}

interface BakedModifier {
  modifier: string;
  folder: string;
  bakes: Array<{ bakeId: number; frames: number; node?: string | null }>;
}

function countFiles(dir: string, suffix = ''): number {
  try {
    return readdirSync(dir).filter((n) => n.endsWith(suffix) && statSync(join(dir, n)).size > 0).length;
  } catch {
    return 0;
  }
}

export class SimulationBakeRunner implements JobRunner {
  readonly kind = 'simulation' as const;
  readonly unitNoun = 'items';

  constructor(private readonly poolSize: () => number) {}

  private params(job: JobRecord): SimulationJobParams {
    return job.params as unknown as SimulationJobParams;
  }

  limits(job: JobRecord): JobLimits {
    return limitsOf(this.params(job), this.poolSize());
  }

  fileOf(job: JobRecord) {
    return { blendFile: this.params(job).blendFile, jobKey: job.id };
  }

  planTask(job: JobRecord): TaskRequest {
    return { payload: { kind: 'bake.simulation.plan', objects: this.params(job).objects }, label: 'finding the simulations to bake' };
  }

  private objectsOf(job: JobRecord): string[] {
    return (job.plan?.objects as string[] | undefined) ?? [];
  }

  async plan(job: JobRecord, planResult: Record<string, unknown> | undefined): Promise<WorkUnit[]> {
    const objects = (planResult?.objects as string[] | undefined) ?? this.objectsOf(job);
    job.plan = { objects };
    const previous = new Map(job.units.map((u) => [u.key, u]));
    return objects.map((object, i) => {
      const before = previous.get(i);
      if (before && before.state === 'done') return before;
      const unit: WorkUnit = before ?? { key: i, label: `${object} (simulation)`, state: 'pending', attempts: [] };
      unit.state = 'pending';
      unit.output = dirname(expandCacheFolder(this.params(job).output, object, 'x'));
      return unit;
    });
  }

  /** The staging folder sits beside the outputs, so moving into place is a rename on the same disk. */
  private staging(job: JobRecord, unit: WorkUnit, workerId: string): string {
    const object = this.objectsOf(job)[unit.key]!;
    return join(dirname(expandCacheFolder(this.params(job).output, object, 'x')), `.sidecar-${job.id}-${unit.key}-${workerId}`);
  }

  task(job: JobRecord, unit: WorkUnit, workerId: string): TaskRequest {
    const p = this.params(job);
    const directory = this.staging(job, unit, workerId);
    rmSync(directory, { recursive: true, force: true });
    mkdirSync(directory, { recursive: true });
    return {
      payload: {
        kind: 'bake.simulation',
        object: this.objectsOf(job)[unit.key],
        directory,
        frameStart: p.frameStart,
        frameEnd: p.frameEnd,
      },
      label: unit.label,
    };
  }

  async accept(job: JobRecord, unit: WorkUnit, outcome: Extract<TaskOutcome, { ok: true }>, workerId: string): Promise<UnitVerdict> {
    const object = this.objectsOf(job)[unit.key]!;
    const staging = this.staging(job, unit, workerId);
    const modifiers = (outcome.result.modifiers as BakedModifier[] | undefined) ?? [];
    const fail = (reason: string): UnitVerdict => ({
      ok: false,
      retryable: false,
      outcome: 'bad-output',
      reason: `${unit.label}: ${reason}`,
    });
    const caches: Array<Record<string, unknown>> = [];
    for (const m of modifiers) {
      for (const b of m.bakes) {
        const dir = join(staging, m.folder, String(b.bakeId));
        const meta = countFiles(join(dir, 'meta'), '.json');
        if (meta === 0) {
          return fail(
            `modifier "${m.modifier}" baked no frame${b.node ? ` for ${b.node}` : ''} (is the simulation's frame range inside the scene's?)`,
          );
        }
        if (!existsSync(join(dir, 'blobs'))) return fail(`modifier "${m.modifier}": the bake of ${b.bakeId} has no blobs folder`);
      }
      caches.push({
        modifier: m.modifier,
        directory: expandCacheFolder(this.params(job).output, object, m.modifier),
        bakes: m.bakes.map((b) => ({ bakeId: b.bakeId, frames: b.frames })),
      });
    }
    for (const [i, m] of modifiers.entries()) {
      const target = caches[i]!.directory as string;
      rmSync(target, { recursive: true, force: true });
      mkdirSync(dirname(target), { recursive: true });
      renameSync(join(staging, m.folder), target);
    }
    rmSync(staging, { recursive: true, force: true });
    return { ok: true, output: caches[0]?.directory as string | undefined, result: { object, caches } };
  }

  discard(job: JobRecord, unit: WorkUnit, workerId: string): void {
    if (this.objectsOf(job)[unit.key] !== undefined) rmSync(this.staging(job, unit, workerId), { recursive: true, force: true });
  }

  summarize(job: JobRecord): Record<string, unknown> {
    const done = job.units.filter((u) => u.state === 'done');
    return {
      objects: job.units.length,
      baked: done.length,
      failed: job.units.filter((u) => u.state === 'failed').length,
      caches: done.flatMap((u) =>
        ((u.result?.caches as Array<Record<string, unknown>> | undefined) ?? []).map((c) => ({ object: u.result?.object, ...c })),
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
