/** Handler for bake.submit. */
import { checkBakeRequest } from '../../domain/bake/bake-request.js';
import { checkSimulationRequest } from '../../domain/bake/simulation-request.js';
import { newJobId, type JobRecord } from '../../domain/jobs/job.js';
import type { Scheduler } from '../../domain/jobs/scheduler.js';
import type { Handlers } from '../../protocol/method.js';
import type { Services } from '../services.js';
import type { CallContext } from '../session.js';
import type { bakeMethods } from '../spec/bake.js';

export function bakeHandlers(s: Services, scheduler: Scheduler): Handlers<typeof bakeMethods, CallContext> {
  return {
    'bake.submit': async (params) => {
      s.blender.relocate();
      const maps = checkBakeRequest(params, (await s.blender.probe()).bakeTypes);
      const { saveCopySeconds, output: _o, size: _s, margin: _m, maps: _maps, ...rest } = params;
      const job: JobRecord = {
        id: newJobId(),
        kind: 'bake',
        state: 'queued',
        priority: params.priority,
        createdAt: new Date().toISOString(),
        params: { ...rest, maps },
        units: [],
        saveCopySeconds,
      };
      scheduler.submit(job);
      return { jobId: job.id, maps: maps.length };
    },
    'bake.simulation': async (params) => {
      s.blender.relocate();
      const output = checkSimulationRequest(params, await s.blender.probe());
      const { saveCopySeconds, ...rest } = params;
      const job: JobRecord = {
        id: newJobId(),
        kind: 'simulation',
        state: 'queued',
        priority: params.priority,
        createdAt: new Date().toISOString(),
        params: { ...rest, output },
        units: [],
        saveCopySeconds,
      };
      scheduler.submit(job);
      return { jobId: job.id };
    },
  };
}
