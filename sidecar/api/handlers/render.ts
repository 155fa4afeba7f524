/** Handler for render.submit. */
import { newJob } from '../../domain/jobs/job.js';
import type { Scheduler } from '../../domain/jobs/scheduler.js';
import { checkRenderRequest } from '../../domain/render/render-request.js';
import type { FarmExecutor } from '../../domain/farm/farm-executor.js';
import { takeGnValues } from '../../domain/sync/job-values.js';
import { readBlendHeader } from '../../domain/blender/blend-header.js';
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
      const choice = checked.farm
        ? farmBlender(checked.blendFile, checked.farm)
        : await chooseBlenderForJob(s.blenders, checked.blendFile, checked.blender);
      const { saveCopySeconds, gn, ...rest } = checked;
      const gnValues = takeGnValues(s.sync, gn);
      const job = newJob('render', {
        priority: checked.priority,
        params: { ...rest, ...(gnValues ? { gn: { channel: gnValues.channel, revision: gnValues.revision }, gnValues } : {}) },
        saveCopySeconds,
        ...(choice ? { blender: choice.blender, blend: choice.blend } : {}),
      });
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

/**
 * A farm job runs on the farm's own Blender, on its nodes: the job still records what the file's header says (a farm
 * needs a Blender at least that new) and names the Blender as the farm's, so it looks like any other job.
 */
function farmBlender(blendFile: string, farm: { kind: string; blender?: string }) {
  // The farm reads the file itself (it may see it at another path than this machine does): its header is noted when
  // it can be read here, and the farm's own answer decides whether the job can run.
  let blend: { version?: string; compression?: string } = {};
  try {
    const header = readBlendHeader(blendFile);
    if (header.isBlend) blend = { version: header.version, compression: header.compression };
  } catch {
    // Not readable from here: the farm says.
  }
  return {
    blender: {
      path: farm.blender ?? 'blender',
      version: 'on the farm',
      why: `renders on the ${farm.kind} farm's nodes, with their Blender`,
    },
    blend,
  };
}
