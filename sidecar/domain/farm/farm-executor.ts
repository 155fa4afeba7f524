/**
 * Render jobs that run on a farm instead of the local pool: this picks the farm module by the job's `farm.kind` (at
 * submit) or `plan.farm` (when following, cancelling, resuming), and is all the scheduler and handlers know of farms.
 */
import { InvalidInputError } from '../errors.js';
import type { JobRecord } from '../jobs/job.js';
import type { LiveProgress } from '../jobs/progress.js';
import type { ExternalJobHost, Farm } from './farm.js';

export type { ExternalJobHost, Farm, FarmOptions } from './farm.js';

export class FarmExecutor {
  private readonly farms = new Map<string, Farm>();

  constructor(farms: Farm[]) {
    for (const f of farms) this.farms.set(f.kind, f);
  }

  private farmFor(kind: unknown): Farm {
    const farm = this.farms.get(String(kind));
    if (!farm)
      throw new InvalidInputError(
        'farm.kind',
        `"${String(kind)}" is not a farm this sidecar knows; use one of ${[...this.farms.keys()].join(', ')}`,
      );
    return farm;
  }

  submit(record: JobRecord): Promise<void> {
    return this.farmFor((record.params.farm as { kind?: unknown } | undefined)?.kind).submit(record);
  }

  follow(record: JobRecord, host: ExternalJobHost): void {
    this.farmFor(record.plan?.farm).follow(record, host);
  }

  cancel(record: JobRecord, reason: string): Promise<void> {
    return this.farmFor(record.plan?.farm).cancel(record, reason);
  }

  live(record: JobRecord): LiveProgress | undefined {
    return this.farms.get(String(record.plan?.farm))?.live?.(record);
  }

  stopAll(): void {
    for (const f of this.farms.values()) f.stopAll();
  }
}
