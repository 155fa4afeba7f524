/** Handlers for pipeline.validate, pipeline.submit and pipeline.schema. */
import { isAbsolute } from 'node:path';
import { InvalidInputError } from '../../domain/errors.js';
import { newJob } from '../../domain/jobs/job.js';
import type { Scheduler } from '../../domain/jobs/scheduler.js';
import { checkExportFormats, checkGraph, GraphInvalidError, PIPELINE_VERSION, pipelineJsonSchema } from '../../domain/pipeline/graph.js';
import { CHECK_NAMES, nodeTypeCatalog } from '../../domain/pipeline/nodes.js';
import type { PipelineJobParams } from '../../domain/pipeline/pipeline-runner.js';
import { TEMPLATE_FIELDS } from '../../domain/pipeline/template.js';
import { checkBlendFile } from '../../domain/render/render-request.js';
import { chooseBlenderForJob } from '../../domain/blender/routing.js';
import type { Handlers } from '../../protocol/method.js';
import type { Services } from '../services.js';
import type { CallContext } from '../session.js';
import type { pipelineMethods } from '../spec/pipeline.js';

export function pipelineHandlers(s: Services, scheduler: Scheduler): Handlers<typeof pipelineMethods, CallContext> {
  return {
    'pipeline.validate': async ({ graph }) => {
      const checked = checkGraph(graph);
      if (!checked.ok) return { ok: false, errors: checked.errors };
      // The formats too, when Blender is there to ask: so a graph that validates is one that submit accepts.
      s.blender.relocate();
      const status = await s.blender.status();
      const formatErrors = status.found ? checkExportFormats(checked.graph, (await s.blender.probe()).exportFormats) : [];
      return formatErrors.length ? { ok: false, errors: formatErrors } : { ok: true, errors: [] };
    },
    'pipeline.submit': async (params) => {
      checkBlendFile(params.blendFile);
      if (params.baseDir !== undefined && !isAbsolute(params.baseDir))
        throw new InvalidInputError('baseDir', `"${params.baseDir}" must be an absolute path`);
      const checked = checkGraph(params.graph);
      if (!checked.ok) throw new GraphInvalidError(checked.errors);
      // The Blender the input file needs (no Blender: say so now, not when the job starts), and its export formats.
      const choice = await chooseBlenderForJob(s.blenders, params.blendFile, params.blender);
      const formatErrors = checkExportFormats(checked.graph, (await choice.installation.probe()).exportFormats);
      if (formatErrors.length) throw new GraphInvalidError(formatErrors);
      const jobParams: PipelineJobParams = {
        graph: params.graph,
        blendFile: params.blendFile,
        baseDir: params.baseDir,
        keepWorkFiles: params.keepWorkFiles,
        instances: params.instances,
        timeoutS: params.timeoutS,
        maxRetries: params.maxRetries,
        memoryLimitMB: params.memoryLimitMB,
        temporaryBlendFile: params.temporaryBlendFile,
      };
      const job = newJob('pipeline', {
        priority: params.priority,
        params: jobParams as unknown as Record<string, unknown>,
        saveCopySeconds: params.saveCopySeconds,
        blender: choice.blender,
        blend: choice.blend,
      });
      scheduler.submit(job);
      return { jobId: job.id, nodes: checked.graph.nodes.length };
    },
    'pipeline.schema': () => ({
      version: PIPELINE_VERSION,
      nodeTypes: nodeTypeCatalog(),
      checks: [...CHECK_NAMES],
      templateFields: [...TEMPLATE_FIELDS],
      schema: pipelineJsonSchema(),
    }),
  };
}
