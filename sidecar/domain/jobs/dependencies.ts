/**
 * Which of a job's pending units may start now, and which can no longer run because a unit they depend on failed.
 * Units depend on others by key (a pipeline step on the step before it); a render's frames depend on nothing.
 */
import type { JobRecord, WorkUnit } from './job.js';
import type { LiveJob } from './live-job.js';

/**
 * Pending units that may start now, in the job's order: not waiting for a retry, every unit they depend on done, the
 * runner agreeing. Lazy, so that finding the first costs little in a job of many frames.
 */
export function* startableUnits(job: LiveJob): Generator<WorkUnit> {
  const now = Date.now();
  const units = job.record.units;
  let byKey: Map<number, WorkUnit> | undefined;
  let running: WorkUnit[] | undefined;
  for (const unit of units) {
    if (unit.state !== 'pending') continue;
    if (unit.retryAt && Date.parse(unit.retryAt) > now) continue;
    if (unit.dependsOn?.length) {
      byKey ??= new Map(units.map((u) => [u.key, u]));
      if (unit.dependsOn.some((k) => byKey!.get(k)?.state !== 'done')) continue;
    }
    if (job.runner.mayStart && !job.runner.mayStart(job.record, unit, (running ??= units.filter((u) => u.state === 'running')))) continue;
    yield unit;
  }
}

/**
 * Skips every pending unit that depends (directly or through others) on a unit that failed or was skipped, saying
 * which unit failed: those units can no longer run, and the job must still come to an end.
 */
export function skipBlocked(record: JobRecord): void {
  const byKey = new Map(record.units.map((u) => [u.key, u]));
  for (let changed = true; changed; ) {
    changed = false;
    for (const unit of record.units) {
      if (unit.state !== 'pending' || !unit.dependsOn?.length) continue;
      const why = blockedBy(unit.dependsOn, byKey);
      if (!why) continue;
      unit.state = 'skipped';
      unit.error = why;
      changed = true;
    }
  }
}

/** Why a unit depending on `keys` cannot run, or undefined while it still can. */
function blockedBy(keys: number[], byKey: Map<number, WorkUnit>): string | undefined {
  for (const k of keys) {
    const dep = byKey.get(k);
    if (!dep) return `not run: it depends on unit ${k}, which this job does not have`;
    if (dep.state === 'failed') return `not run: ${dep.label} failed`;
    if (dep.state === 'skipped') return dep.error ?? `not run: ${dep.label} was skipped`;
  }
  return undefined;
}
