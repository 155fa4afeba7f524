/** Handler for render.submit. */
import { newJobId, type JobRecord } from '../../domain/jobs/job.js';
import type { Scheduler } from '../../domain/jobs/scheduler.js';
import { checkRenderRequest } from '../../domain/render/render-request.js';
import type { FarmExecutor } from '../../domain/farm/farm-executor.js';
import { takeGnValues } from '../../domain/sync/job-values.js';
import { chooseBlenderForJob } from '../../domain/blender/routing.js';
import type { Handlers } from '../../protocol/method.js';
import type { Services } from '../services.js';
import type { CallContext } from '../session.js';
import type { renderMethods } from '../spec/render.js';

export function renderHandlers(s: Services, scheduler: Scheduler, farm: FarmExecutor): Handlers<typeof renderMethods, CallContext> {
  return {
    'render.submit': async (params) => {
      const checked = checkRenderRequest(params);
      // A farm runs its own Blender; a local job gets the Blender its file needs (no Blender: say so now, not later).
      const choice = checked.farm ? undefined : await chooseBlenderForJob(s.blenders, checked.blendFile, checked.blender);
      const { saveCopySeconds, gn, ...rest } = checked;
      const gnValues = takeGnValues(s.sync, gn);
      const job: JobRecord = {
        id: newJobId(),
        kind: 'render',
        state: 'queued',
        priority: checked.priority,
        createdAt: new Date().toISOString(),
        params: { ...rest, ...(gnValues ? { gn: { channel: gnValues.channel, revision: gnValues.revision }, gnValues } : {}) },
        units: [],
        saveCopySeconds,
        ...(choice ? { blender: choice.blender, blend: choice.blend } : {}),
      };
      if (checked.farm) {
        // Submitted to the farm before the answer: a refusal there is the caller's error, not a failed job later.
        await farm.submit(job);
        scheduler.adoptExternal(job);
      } else {
        scheduler.submit(job);
      }
      return { jobId: job.id };
    },
  };
}
