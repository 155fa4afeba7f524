/** Jobs and workers: what every kind of job shares (get, list, cancel, wait) and the pool's workers. */
import { z } from 'zod';
import { method, notification } from '../../protocol/method.js';

const JobState = z.enum(['queued', 'running', 'completed', 'failed', 'canceled']);
const JobKind = z.enum(['render', 'export', 'pipeline', 'bake', 'simulation']);

const Attempt = z.object({
  worker: z.string(),
  pid: z.number().int(),
  blender: z.string().optional().describe('The version of the Blender that ran this attempt.'),
  startedAt: z.string(),
  endedAt: z.string().optional(),
  outcome: z
    .string()
    .optional()
    .describe(
      'done, segfault, out-of-memory, gpu-out-of-memory, crashed, hung, memory (over memoryLimitMB), missing-file, cannot-open (Blender could not read the file: the reason follows), python-error, input-error, bad-output, canceled, lost',
    ),
  reason: z.string().optional(),
  syncSeconds: z
    .number()
    .optional()
    .describe(
      "Seconds from the attempt's start to its first render sample: opening the file and syncing the scene (renders that print samples).",
    ),
});

const Unit = z.object({
  key: z.number().describe('The frame number (renders), the item index (exports) or the step number (pipelines).'),
  label: z.string(),
  state: z.enum(['pending', 'running', 'done', 'skipped', 'failed']),
  attempts: z.array(Attempt),
  output: z.string().optional(),
  seconds: z.number().optional(),
  error: z.string().optional(),
  result: z.record(z.string(), z.unknown()).optional(),
  retryAt: z.string().optional().describe('A retry waits until then (backoff after a transient failure).'),
  forceCpu: z.boolean().optional().describe('Rendered on the CPU after the GPU ran out of memory.'),
  dependsOn: z
    .array(z.number())
    .optional()
    .describe('Units (by key) that must be done first; if one fails, this one is skipped saying so.'),
  node: z.string().optional().describe('The pipeline node this unit runs (pipeline jobs).'),
});

const NodeProgress = z.object({
  state: z
    .enum(['waiting', 'running', 'done', 'partial', 'failed', 'skipped', 'canceled'])
    .describe('partial: some branches done, the others skipped because something upstream failed.'),
  total: z.number().int().describe('Steps of this node (its branches; frames for a render; what it collects for a report).'),
  done: z.number().int(),
  running: z.number().int(),
  failed: z.number().int(),
  skipped: z.number().int(),
  warnings: z.number().int().optional().describe('Checks that warned (validate nodes).'),
  message: z.string().optional().describe('One line for the node: why it failed or was skipped, or what it warned about.'),
});

const RunningUnit = z.object({
  worker: z.string(),
  pid: z.number().int(),
  key: z.number().nullable(),
  label: z.string(),
  startedAt: z.string(),
  samples: z
    .object({ done: z.number().int(), total: z.number().int() })
    .optional()
    .describe("The frame's render samples so far, as Blender reports them (Cycles, EEVEE); absent until it reports any."),
});

const JobProgress = z.object({
  jobId: z.string(),
  kind: JobKind,
  state: JobState,
  total: z.number().int(),
  done: z.number().int(),
  skipped: z.number().int(),
  failed: z.number().int(),
  running: z.array(RunningUnit).describe('What each busy worker is doing for this job.'),
  unitsPerSecond: z.number().describe('Frames (or items) finished per second over the last minute.'),
  etaSeconds: z.number().nullable(),
  last: z
    .object({
      key: z.number(),
      label: z.string(),
      output: z.string().optional(),
      preview: z.string().optional().describe('Render jobs: a small PNG of that frame (about 256 px on the long side).'),
    })
    .optional()
    .describe('The unit finished last (the frame just rendered).'),
  placement: z
    .string()
    .optional()
    .describe(
      'While memory, or a scene sync dearer than another worker would save, holds the job to fewer workers than it could use, why: "1 of 4 workers: 11.8 GB each, 14 GB free".',
    ),
  nodes: z.record(z.string(), NodeProgress).optional().describe('Pipeline jobs: where each node stands, by node id.'),
});

const Job = z.object({
  id: z.string(),
  kind: JobKind,
  state: JobState,
  priority: z.enum(['high', 'normal', 'low']),
  createdAt: z.string(),
  startedAt: z.string().optional(),
  finishedAt: z.string().optional(),
  params: z.record(z.string(), z.unknown()),
  plan: z.record(z.string(), z.unknown()).optional(),
  units: z.array(Unit),
  error: z.string().optional().describe("Why it failed or was canceled, in one sentence (and a traceback's last lines for Python errors)."),
  saveCopySeconds: z.number().optional().describe('How long saving the temporary copy of an unsaved file blocked Blender.'),
  blender: z
    .object({ path: z.string(), version: z.string(), why: z.string() })
    .optional()
    .describe('The Blender that runs this job, chosen at submit from the version that saved the file (or pinned with "blender").'),
  blend: z
    .object({ version: z.string().optional(), compression: z.string().optional() })
    .optional()
    .describe("The blend file's header: the Blender version that saved it and its compression (none, gzip, zstd)."),
  placement: z
    .string()
    .optional()
    .describe('The last time memory or the scene sync held the job to fewer workers than it could use, why (see progress.placement).'),
  result: z.record(z.string(), z.unknown()).optional(),
  progress: JobProgress,
  previews: z
    .array(z.object({ frame: z.number(), path: z.string() }))
    .optional()
    .describe('Render jobs: the preview PNG of each frame that has one, in frame order (in a hidden .previews folder beside the frames).'),
});

const JobSummary = Job.omit({ units: true, params: true, plan: true }).extend({
  blendFile: z.string().optional(),
  output: z.string().optional(),
});

export const jobMethods = {
  'job.get': method({
    summary: 'One job: its request, state, progress, every unit and every attempt.',
    params: z.strictObject({ jobId: z.string().min(1) }),
    result: Job,
    errors: [{ kind: 'not-found', message: 'no such job' }],
    example: { jobId: 'j-m1abcdef' },
  }),
  'job.list': method({
    summary: 'Jobs this sidecar knows, newest first, optionally filtered.',
    params: z.strictObject({
      state: z.array(JobState).optional().describe('Only jobs in these states.'),
      kind: JobKind.optional(),
      limit: z.number().int().min(1).max(1000).default(100),
    }),
    result: z.object({ jobs: z.array(JobSummary) }),
  }),
  'job.cancel': method({
    summary: 'Cancels a queued or running job: its Blender processes are killed (whole process tree) at once.',
    params: z.strictObject({ jobId: z.string().min(1) }),
    result: Job,
    errors: [
      { kind: 'not-found', message: 'no such job' },
      { kind: 'invalid-state', message: 'the job has already ended' },
    ],
  }),
  'job.wait': method({
    summary: 'Waits until the job ends or timeoutMs passes, then answers with the job (check its state).',
    params: z.strictObject({
      jobId: z.string().min(1),
      timeoutMs: z
        .number()
        .int()
        .min(0)
        .max(24 * 3600 * 1000)
        .default(60_000),
    }),
    result: Job,
    errors: [{ kind: 'not-found', message: 'no such job' }],
  }),
  'worker.list': method({
    summary: 'The Blender worker processes: state, CPU, memory, what each is doing.',
    params: z.strictObject({}),
    result: z.object({
      size: z.number().int().describe('The pool size (workers are started up to it when there is work).'),
      threadsPerInstance: z.number().int(),
      workers: z.array(
        z.object({
          id: z.string(),
          pid: z.number().int(),
          state: z.enum(['starting', 'idle', 'busy', 'stopping', 'exited']),
          cpuPercent: z.number(),
          rssMB: z.number(),
          tasksDone: z.number().int(),
          blenderVersion: z.string().optional(),
          blender: z.string().optional().describe('The Blender executable this worker runs (workers belong to one Blender).'),
          openFile: z.string().optional(),
          warmedUp: z
            .object({ engine: z.string(), seconds: z.number() })
            .optional()
            .describe(
              "Set once a worker that waited for its first task has rendered a tiny frame to load the engine (Cycles' kernels): the first frame of its first job does not pay for that.",
            ),
          pythonCache: z
            .object({ cached: z.number().int(), modules: z.number().int() })
            .optional()
            .describe(
              "Of the Python modules the worker's start-up imported, how many it found already compiled in the state folder's python-cache (kept there by earlier workers; a worker compiles the rest there when it first waits or exits).",
            ),
          current: z
            .object({
              jobId: z.string().optional(),
              label: z.string(),
              frame: z.number().optional(),
              startedAt: z.string(),
              seconds: z.number(),
            })
            .optional(),
          startedAt: z.string(),
        }),
      ),
    }),
  }),
};

export const jobNotifications = {
  'job.state': notification({
    summary: 'A job changed state (queued, running, completed, failed, canceled).',
    params: z.object({
      jobId: z.string(),
      kind: JobKind,
      state: JobState,
      previous: JobState,
      error: z.string().optional(),
      result: z.record(z.string(), z.unknown()).optional(),
      blender: z.object({ path: z.string(), version: z.string(), why: z.string() }).optional().describe('The Blender that runs the job.'),
    }),
  }),
  'job.progress': notification({
    summary: 'A job made progress: units done of total, what each worker is on, the rate and the ETA.',
    params: JobProgress,
  }),
  'worker.stats': notification({
    summary: "Every second while workers run: each worker's state, CPU and memory.",
    params: z.object({
      workers: z.array(
        z.object({
          id: z.string(),
          pid: z.number(),
          state: z.string(),
          cpuPercent: z.number(),
          rssMB: z.number(),
          label: z.string().optional(),
        }),
      ),
    }),
  }),
};
