/**
 * A pipeline step's output checked before it counts, the way render and export jobs check theirs: a validate step's
 * findings sorted into failures and warnings, an intermediate .blend that must exist, an export parsed, baked maps
 * placed, a frame that must be a complete image, a movie that must hold every frame. A good output is moved from the
 * worker's staging path into place.
 */
import { renameSync, rmSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { placeMaps } from '../bake/place-maps.js';
import { placeExport, type Counted } from '../export/place-export.js';
import type { JobRecord, WorkUnit } from '../jobs/job.js';
import type { UnitVerdict } from '../jobs/runner.js';
import { acceptMovie } from '../render/movie.js';
import { partialPath } from '../render/output-path.js';
import { checkImage } from '../verify/image.js';
import type { Step } from './plan.js';
import type { ValidationResult } from './report.js';

/** Where this unit's worker wrote: computed on demand, since each only applies to some kinds of step. */
export interface StepStaging {
  blend(): string;
  bake(step: Extract<Step, { kind: 'bake' }>): string;
  export(): string;
}

export async function checkStep(
  job: JobRecord,
  unit: WorkUnit,
  step: Step,
  r: Record<string, unknown>,
  workerId: string,
  staging: StepStaging,
): Promise<UnitVerdict> {
  const fail = (reason: string, retryable = false): UnitVerdict => ({
    ok: false,
    retryable,
    outcome: 'bad-output',
    reason: `${unit.label}: ${reason}`,
  });
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
      const staged = staging.blend();
      const size = fileSize(staged);
      if (!size) return fail(`Blender reported success, but saved no ${basename(step.output)}`, true);
      renameSync(staged, step.output);
      const { path: _p, ...rest } = r;
      return { ok: true, output: step.output, result: { ...rest, bytes: size } };
    }
    case 'export': {
      const placed = await placeExport(staging.export(), step.output, step.format, r.counted as Counted | undefined);
      return placed.ok ? { ok: true, output: step.output, result: placed.result } : fail(placed.reason, placed.retryable);
    }
    case 'bake': {
      const reported = (r.maps ?? []) as Array<{
        object: string;
        type: string;
        path: string;
        output: string;
        coverage: number;
        min: number;
        max: number;
      }>;
      const placed = await placeMaps(
        reported.map((m) => ({ object: m.object, type: m.type, staged: m.path, output: m.output, size: step.settings.size, baked: m })),
        step.settings.sources ? ' do the rays reach the sources? raise extrusion or maxRayDistance' : '',
      );
      if (!placed.ok) return fail(placed.reason, placed.retryable);
      if (placed.maps.length === 0) return fail('Blender reported success, but baked no map');
      rmSync(staging.bake(step), { recursive: true, force: true });
      const staged = staging.blend();
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
