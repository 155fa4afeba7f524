/**
 * The parts of Flamenco 3's manager API that the sidecar uses, written from the manager's published OpenAPI document
 * (`flamenco-openapi.yaml`; CI keeps a copy in ../shared/specs/). Each schema names the component it mirrors, and
 * test/farm/flamenco-contract.test.ts checks its fields, required fields and enum values against that document.
 *
 * Only the fields the client reads or sends are declared. Objects are plain `z.object`, which drops unknown keys: a
 * newer manager may add fields, and a tolerant reader keeps working. The test stand-in makes the request schemas strict
 * so that a misspelt field in what the sidecar sends fails a test instead of being ignored by a real manager.
 */
import { z } from 'zod';

/** #/components/schemas/JobStatus */
export const JobStatus = z.enum([
  'active',
  'canceled',
  'completed',
  'failed',
  'paused',
  'pause-requested',
  'queued',
  'cancel-requested',
  'requeueing',
  'under-construction',
]);
export type JobStatus = z.infer<typeof JobStatus>;

/** #/components/schemas/AvailableJobSettingType: the value types a job setting can have. */
const AvailableJobSettingType = z.enum(['string', 'int32', 'float', 'bool']);
export type AvailableJobSettingType = z.infer<typeof AvailableJobSettingType>;

/**
 * #/components/schemas/AvailableJobSetting, the fields that decide whether a job's settings fit the type. (`default`,
 * `eval`, `visible`... are for a submitting UI; the sidecar computes every value itself.)
 */
export const AvailableJobSetting = z.object({
  key: z.string(),
  type: AvailableJobSettingType,
  choices: z.array(z.string()).optional(),
  required: z.boolean().optional(),
});
export type AvailableJobSetting = z.infer<typeof AvailableJobSetting>;

/** #/components/schemas/AvailableJobType: GET /api/v3/jobs/type/{typeName}. */
export const AvailableJobType = z.object({
  name: z.string(),
  label: z.string(),
  description: z.string().optional(),
  settings: z.array(AvailableJobSetting),
  /** Changes whenever the type's settings or label change; a job submitted with an older one gets 412. */
  etag: z.string(),
});
export type AvailableJobType = z.infer<typeof AvailableJobType>;

/** #/components/schemas/JobSettings: free-form; the job type says which keys it takes. */
const JobSettings = z.record(z.string(), z.unknown());

/** #/components/schemas/JobMetadata: strings only. */
const JobMetadata = z.record(z.string(), z.string());

/**
 * #/components/schemas/SubmittedJob: the body of POST /api/v3/jobs/check and POST /api/v3/jobs. The document requires
 * only name, type, priority and submitter_platform; the sidecar always sends the rest too (see flamenco-job.ts).
 */
export const SubmittedJob = z.object({
  name: z.string(),
  type: z.string(),
  /** Omitted: the manager skips the etag check. The sidecar always sends it. */
  type_etag: z.string().optional(),
  priority: z.number().int(),
  settings: JobSettings.optional(),
  metadata: JobMetadata.optional(),
  /** Lower-case Go `runtime.GOOS` name ("linux", "windows", "darwin"); the manager uses it for two-way variables. */
  submitter_platform: z.string(),
  initial_status: JobStatus.optional(),
});
export type SubmittedJob = z.infer<typeof SubmittedJob>;

/** #/components/schemas/Job (allOf SubmittedJob + these): POST /api/v3/jobs and GET /api/v3/jobs/{job_id}. */
export const Job = SubmittedJob.extend({
  id: z.string(),
  created: z.string(),
  updated: z.string(),
  status: JobStatus,
  /** Description of the last activity on the job, in the manager's words. */
  activity: z.string(),
  steps_completed: z.number().int(),
  steps_total: z.number().int(),
});
export type Job = z.infer<typeof Job>;

/** #/components/schemas/JobStatusChange: the body of POST /api/v3/jobs/{job_id}/setstatus. */
export const JobStatusChange = z.object({
  status: JobStatus,
  reason: z.string(),
});
export type JobStatusChange = z.infer<typeof JobStatusChange>;

/** #/components/schemas/Error: what the manager sends with 4xx/5xx answers (`code` repeats the HTTP status). */
export const FlamencoError = z.object({
  code: z.number().int(),
  message: z.string(),
});
export type FlamencoError = z.infer<typeof FlamencoError>;

/** Each schema above by the name of the component it mirrors, for the contract test. */
export const COMPONENTS = {
  JobStatus,
  AvailableJobSettingType,
  AvailableJobSetting,
  AvailableJobType,
  JobSettings,
  JobMetadata,
  SubmittedJob,
  Job,
  JobStatusChange,
  Error: FlamencoError,
} as const;

/**
 * The endpoints the client calls: method, path and operationId as the document has them, the component of the request
 * body, the success status with the component of its body, and the other documented statuses the client gives a
 * meaning of their own (412: stale job type etag; 422: a status change the job's current status does not allow). The client builds its requests from this table, and
 * the contract test checks every entry against the document, so the two cannot drift apart.
 */
export const ENDPOINTS = {
  jobType: {
    operationId: 'getJobType',
    method: 'GET',
    path: '/api/v3/jobs/type/{typeName}',
    body: null,
    ok: 200,
    reply: 'AvailableJobType',
    handles: [],
  },
  checkJob: {
    operationId: 'submitJobCheck',
    method: 'POST',
    path: '/api/v3/jobs/check',
    body: 'SubmittedJob',
    ok: 204,
    reply: null,
    handles: [412],
  },
  submitJob: {
    operationId: 'submitJob',
    method: 'POST',
    path: '/api/v3/jobs',
    body: 'SubmittedJob',
    ok: 200,
    reply: 'Job',
    handles: [412],
  },
  getJob: { operationId: 'fetchJob', method: 'GET', path: '/api/v3/jobs/{job_id}', body: null, ok: 200, reply: 'Job', handles: [] },
  setJobStatus: {
    operationId: 'setJobStatus',
    method: 'POST',
    path: '/api/v3/jobs/{job_id}/setstatus',
    body: 'JobStatusChange',
    ok: 204,
    reply: null,
    handles: [422],
  },
} as const satisfies Record<string, Endpoint>;

export interface Endpoint {
  operationId: string;
  method: 'GET' | 'POST';
  path: string;
  body: keyof typeof COMPONENTS | null;
  ok: number;
  reply: keyof typeof COMPONENTS | null;
  handles: readonly number[];
}

/** Fills `{name}` placeholders of an `ENDPOINTS` path, escaping each value. */
export function endpointPath(endpoint: Endpoint, params: Record<string, string> = {}): string {
  return endpoint.path.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = params[name];
    if (value === undefined) throw new Error(`no value for {${name}} in ${endpoint.path}`);
    return encodeURIComponent(value);
  });
}
