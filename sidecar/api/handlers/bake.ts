/** Handler for bake.submit. */
import { checkBakeRequest } from '../../domain/bake/bake-request.js';
import { chooseBlenderForJob } from '../../domain/blender/routing.js';
import { checkSimulationRequest } from '../../domain/bake/simulation-request.js';
import { newJob } from '../../domain/jobs/job.js';
import type { Scheduler } from '../../domain/jobs/scheduler.js';
import type { Handlers } from '../../protocol/method.js';
import type { Services } from '../services.js';
import type { CallContext } from '../session.js';
import type { bakeMethods } from '../spec/bake.js';

export function bakeHandlers(s: Services, scheduler: Scheduler): Handlers<typeof bakeMethods, CallContext> {
  return {
    'bake.submit': async (params) => {
      // The Blender the file needs (or the pinned one): its Cycles decides which bake types there are.
      const choice = await chooseBlenderForJob(s.blenders, params.blendFile, params.blender);
      const maps = checkBakeRequest(params, (await choice.installation.probe()).bakeTypes);
      const { saveCopySeconds, output: _o, size: _s, margin: _m, maps: _maps, ...rest } = params;
      const job = newJob('bake', {
        priority: params.priority,
        params: { ...rest, maps },
        saveCopySeconds,
        blender: choice.blender,
        blend: choice.blend,
      });
      scheduler.submit(job);
      return { jobId: job.id, maps: maps.length };
    },
    'bake.simulation': async (params) => {
      const choice = await chooseBlenderForJob(s.blenders, params.blendFile, params.blender);
      const output = checkSimulationRequest(params, await choice.installation.probe());
      const { saveCopySeconds, ...rest } = params;
      const job = newJob('simulation', {
        priority: params.priority,
        params: { ...rest, output },
        saveCopySeconds,
        blender: choice.blender,
        blend: choice.blend,
      });
      scheduler.submit(job);
      return { jobId: job.id };
    },
  };
}
