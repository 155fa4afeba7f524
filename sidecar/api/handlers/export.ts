/** Handlers for export.submit and export.batch. */
import { chooseBlenderForJob, type JobBlenderChoice } from '../../domain/blender/routing.js';
import { checkBlendFile } from '../../domain/render/render-request.js';
import { checkBatchRequest, checkExportRequest, type ExportItem } from '../../domain/export/export-request.js';
import { newJob, type JobRecord } from '../../domain/jobs/job.js';
import { takeGnValues } from '../../domain/sync/job-values.js';
import type { Scheduler } from '../../domain/jobs/scheduler.js';
import type { Handlers } from '../../protocol/method.js';
import type { Services } from '../services.js';
import type { CallContext } from '../session.js';
import type { exportMethods } from '../spec/export.js';

export function exportHandlers(s: Services, scheduler: Scheduler): Handlers<typeof exportMethods, CallContext> {
  const submit = (
    params: Record<string, unknown> & {
      priority: JobRecord['priority'];
      saveCopySeconds?: number;
      gn?: Parameters<typeof takeGnValues>[1];
    },
    items: ExportItem[],
    choice: JobBlenderChoice,
  ) => {
    const { saveCopySeconds, gn, scope: _s, format: _f, output: _o, options: _p, applyModifiers: _a, items: _i, ...rest } = params;
    const gnValues = takeGnValues(s.sync, gn);
    const job = newJob('export', {
      priority: params.priority,
      params: { ...rest, items, ...(gnValues ? { gn: { channel: gnValues.channel, revision: gnValues.revision }, gnValues } : {}) },
      saveCopySeconds,
      blender: choice.blender,
      blend: choice.blend,
    });
    scheduler.submit(job);
    return job.id;
  };
  // The formats and options of the Blender the file goes to: Blenders differ in what their exporters take.
  const choose = async (params: { blendFile: string; blender?: string }) => {
    checkBlendFile(params.blendFile);
    const choice = await chooseBlenderForJob(s.blenders, params.blendFile, params.blender);
    return { choice, formats: (await choice.installation.probe()).exportFormats };
  };
  return {
    'export.submit': async (params) => {
      const { choice, formats } = await choose(params);
      const items = checkExportRequest(params, formats);
      return { jobId: submit(params, items, choice) };
    },
    'export.batch': async (params) => {
      const { choice, formats } = await choose(params);
      const items = checkBatchRequest(params, formats);
      return { jobId: submit(params, items, choice), items: items.length };
    },
  };
}
