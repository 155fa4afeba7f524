/**
 * A stand-in for a Flamenco 3 manager (a real one cannot be built here): node:http on 127.0.0.1, serving exactly the
 * endpoints the sidecar's client uses. Requests must pass the project's schemas made strict (a misspelt field is a 400,
 * where a real manager would silently ignore it); answers are built to the same schemas and checked before they go out.
 *
 * What it models, as the real manager does it: 412 with its own message when `type_etag` is stale (and no check when
 * it is omitted); 400 "error compiling job: ..." when the job type's compiler refuses a job (missing or mistyped
 * settings, a video format, or, as the test configures, files outside the farm's shared storage); 422 with no body
 * for a status change the job's status does not allow. What the test drives: the job type's etag and settings, each
 * job's status and steps (`advance`), outages (`failNext`, `hangNext`).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { z } from 'zod';
import {
  AvailableJobType,
  type FlamencoError,
  Job,
  type JobStatus,
  JobStatusChange,
  SubmittedJob,
} from '../../sidecar/domain/farm/flamenco/flamenco-schemas.js';

export interface StandinRequest {
  method: string;
  path: string;
  body: unknown;
  /** The status the stand-in answered with. */
  status: number;
}

export interface StandinOptions {
  /** The farm's shared storage: blend files and render output must be under it. Default /srv/flamenco. */
  sharedStorage?: string;
}

/** A job type as served: AvailableJobType with the UI-only setting fields (eval, visible, ...) the client drops. */
type ServedJobType = Omit<AvailableJobType, 'settings'> & { settings: Record<string, unknown>[] };

/** Settings of Flamenco 3's `simple-blender-render`, as its job compiler script declares them. */
function simpleBlenderRender(etag: string): ServedJobType {
  return {
    name: 'simple-blender-render',
    label: 'Simple Blender Render',
    description: 'Render a sequence of frames, and create a preview video file',
    etag,
    settings: [
      { key: 'frames', type: 'string', required: true, eval: "f'{C.scene.frame_start}-{C.scene.frame_end}'" },
      { key: 'chunk_size', type: 'int32', default: 1, visible: 'submission' },
      { key: 'render_output_root', type: 'string', subtype: 'dir_path', required: true, visible: 'submission' },
      { key: 'add_path_components', type: 'int32', required: true, default: 0, propargs: { min: 0, max: 32 }, visible: 'submission' },
      { key: 'render_output_path', type: 'string', subtype: 'file_path', editable: false },
      { key: 'blendfile', type: 'string', required: true, visible: 'web' },
      { key: 'fps', type: 'float', visible: 'hidden' },
      { key: 'format', type: 'string', required: true, visible: 'web' },
      { key: 'image_file_extension', type: 'string', required: true, visible: 'hidden' },
      { key: 'has_previews', type: 'bool', required: false, visible: 'hidden' },
      { key: 'scene', type: 'string', required: true, visible: 'web' },
    ],
  };
}

// Strict versions of the client's own request schemas: same fields, same types, no unknown keys.
const StrictSubmittedJob = z.strictObject(SubmittedJob.shape);
const StrictJobStatusChange = z.strictObject(JobStatusChange.shape);

const VIDEO_FORMATS = ['FFMPEG', 'AVI_RAW', 'AVI_JPEG'];
const TERMINAL: ReadonlySet<JobStatus> = new Set(['completed', 'failed', 'canceled']);

class Answer {
  constructor(
    readonly status: number,
    readonly body?: unknown,
    readonly headers: Record<string, string> = {},
  ) {}
}

function error(status: number, message: string): Answer {
  const body: FlamencoError = { code: status, message };
  return new Answer(status, body);
}

interface StoredJob {
  job: Job;
  /** Set when a cancel was requested of a running job: it shows `cancel-requested` once, then `canceled`. */
  cancelShown?: boolean;
}

export class FlamencoStandin {
  readonly requests: StandinRequest[] = [];
  readonly sharedStorage: string;
  /** An extra rule of the job compiler: return a message to refuse the job (check and submit answer 400 with it). */
  refuse: ((job: SubmittedJob) => string | undefined) | undefined;
  /** The next N check/submit requests each find the job type changed just before they arrive (the etag bumps). */
  etagChangesBeforeSubmit = 0;
  private type = simpleBlenderRender('etag-1');
  private etagCount = 1;
  private readonly jobs = new Map<string, StoredJob>();
  private failures: number[] = [];
  private hangs = 0;

  private constructor(
    private readonly server: Server,
    readonly url: string,
    options: StandinOptions,
  ) {
    this.sharedStorage = (options.sharedStorage ?? '/srv/flamenco').replace(/\/+$/, '');
  }

  static async start(options: StandinOptions = {}): Promise<FlamencoStandin> {
    let standin: FlamencoStandin | undefined;
    const server = createServer((req, res) => void standin!.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = server.address() as { port: number };
    standin = new FlamencoStandin(server, `http://127.0.0.1:${port}`, options);
    return standin;
  }

  /** The job type's current etag. */
  get etag(): string {
    return this.type.etag;
  }

  /** Changes the job type (as a manager restarted with a new compiler script would): a new etag, maybe new settings. */
  changeJobType(change?: (settings: Record<string, unknown>[]) => Record<string, unknown>[]): string {
    this.etagCount += 1;
    const next = simpleBlenderRender(`etag-${this.etagCount}`);
    next.settings = change ? change(this.type.settings) : this.type.settings;
    this.type = next;
    return next.etag;
  }

  /** The next `count` requests get `status` with an Error body (503: the manager's "database busy"). */
  failNext(count: number, status = 503): void {
    for (let i = 0; i < count; i++) this.failures.push(status);
  }

  /** The next `count` requests are read and never answered. */
  hangNext(count: number): void {
    this.hangs += count;
  }

  /** Moves a job on, as workers would. */
  advance(jobId: string, status: JobStatus, stepsCompleted?: number, activity?: string): void {
    const stored = this.stored(jobId);
    stored.job = {
      ...stored.job,
      status,
      steps_completed: stepsCompleted ?? stored.job.steps_completed,
      activity: activity ?? stored.job.activity,
      updated: new Date().toISOString(),
    };
  }

  job(jobId: string): Job {
    return this.stored(jobId).job;
  }

  /** The requests made to `path` (method too, when given), in order. */
  calls(method: string, path: string | RegExp): StandinRequest[] {
    return this.requests.filter((r) => r.method === method && (typeof path === 'string' ? r.path === path : path.test(r.path)));
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private stored(jobId: string): StoredJob {
    const stored = this.jobs.get(jobId);
    if (!stored) throw new Error(`the stand-in has no job ${jobId}`);
    return stored;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const path = new URL(req.url ?? '/', 'http://standin').pathname;
    const method = req.method ?? 'GET';
    const record: StandinRequest = { method, path, body: undefined, status: 0 };
    this.requests.push(record);
    if (this.hangs > 0) {
      this.hangs -= 1;
      return;
    }
    let answer: Answer;
    const failure = this.failures.shift();
    if (failure !== undefined) {
      answer = error(failure, 'the database is busy, try again later');
      if (failure === 503) answer.headers['retry-after'] = '1';
    } else {
      let body: unknown;
      let readable = true;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        readable = false;
      }
      record.body = body;
      try {
        answer = readable ? this.route(method, path, body) : error(400, 'invalid format');
      } catch (err) {
        // A bug in the stand-in (an answer that fails the schemas, say) must fail the test loudly, not look like a 4xx.
        answer = error(500, `stand-in bug: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    record.status = answer.status;
    const headers = answer.body === undefined ? answer.headers : { ...answer.headers, 'content-type': 'application/json' };
    res.writeHead(answer.status, headers);
    res.end(answer.body === undefined ? undefined : JSON.stringify(answer.body));
  }

  private route(method: string, path: string, body: unknown): Answer {
    let m: RegExpExecArray | null;
    if (method === 'GET' && (m = /^\/api\/v3\/jobs\/type\/([^/]+)$/.exec(path))) {
      const name = decodeURIComponent(m[1]!);
      if (name !== this.type.name) return error(404, 'no such job type known');
      AvailableJobType.parse(this.type);
      return new Answer(200, this.type);
    }
    if (method === 'POST' && path === '/api/v3/jobs/check') return this.compile(body, false);
    if (method === 'POST' && path === '/api/v3/jobs') return this.compile(body, true);
    if (method === 'GET' && (m = /^\/api\/v3\/jobs\/([^/]+)$/.exec(path))) return this.fetchJob(decodeURIComponent(m[1]!));
    if (method === 'POST' && (m = /^\/api\/v3\/jobs\/([^/]+)\/setstatus$/.exec(path)))
      return this.setStatus(decodeURIComponent(m[1]!), body);
    return error(404, `the stand-in does not serve ${method} ${path}`);
  }

  private compile(body: unknown, store: boolean): Answer {
    const parsed = StrictSubmittedJob.safeParse(body);
    if (!parsed.success)
      return error(400, `invalid format: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    const job = parsed.data;
    if (this.etagChangesBeforeSubmit > 0) {
      this.etagChangesBeforeSubmit -= 1;
      this.changeJobType();
    }
    if (job.type !== this.type.name) return error(400, `error compiling job: job type "${job.type}" is unknown`);
    if (job.type_etag !== undefined && job.type_etag !== this.type.etag) {
      return error(412, 'rejecting job because its settings are outdated, refresh the job type');
    }
    const refusal = this.compileProblem(job);
    if (refusal) return error(400, `error compiling job: ${refusal}`);
    if (!store) return new Answer(204);
    const settings = job.settings ?? {};
    const now = new Date().toISOString();
    const stored: Job = Job.parse({
      ...job,
      id: randomUUID(),
      created: now,
      updated: now,
      status: job.initial_status ?? 'queued',
      activity: '',
      steps_completed: 0,
      steps_total: countFrames(String(settings.frames)),
    });
    this.jobs.set(stored.id, { job: stored });
    return new Answer(200, stored);
  }

  /** What the job type's compiler script would throw for this job, if anything. */
  private compileProblem(job: SubmittedJob): string | undefined {
    const settings = job.settings ?? {};
    for (const setting of this.type.settings) {
      const key = setting.key as string;
      if (setting.required && settings[key] === undefined) return `setting "${key}" is required`;
      if (settings[key] !== undefined && !valueHasType(settings[key], setting.type as string))
        return `setting "${key}" should be of type ${setting.type}`;
    }
    if (initialStatusRefused(job.initial_status)) return `initial status "${job.initial_status}" is not allowed, use queued or paused`;
    if (VIDEO_FORMATS.includes(String(settings.format))) return `This job type only renders images, and not "${settings.format}"`;
    for (const key of ['blendfile', 'render_output_path']) {
      const value = settings[key];
      if (typeof value === 'string' && !value.startsWith(`${this.sharedStorage}/`)) {
        return `${key} ${value} is not on the farm's shared storage (${this.sharedStorage}); workers cannot reach it`;
      }
    }
    return this.refuse?.(job);
  }

  private fetchJob(jobId: string): Answer {
    const stored = this.jobs.get(jobId);
    if (!stored) return error(404, `no such job`);
    // Workers stop their tasks between two polls: `cancel-requested` is seen once, then the job is `canceled`.
    if (stored.job.status === 'cancel-requested') {
      if (stored.cancelShown) this.advance(jobId, 'canceled', undefined, 'canceled by request');
      else stored.cancelShown = true;
    }
    return new Answer(200, Job.parse(stored.job));
  }

  private setStatus(jobId: string, body: unknown): Answer {
    const parsed = StrictJobStatusChange.safeParse(body);
    if (!parsed.success)
      return error(400, `invalid format: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    const stored = this.jobs.get(jobId);
    if (!stored) return error(404, `no such job`);
    const { status, reason } = parsed.data;
    // The stand-in only implements cancelling; the document's 422 has no body.
    if (status !== 'cancel-requested' || TERMINAL.has(stored.job.status)) return new Answer(422);
    const running = stored.job.status === 'active' || stored.job.status === 'pause-requested' || stored.job.status === 'requeueing';
    this.advance(jobId, running ? 'cancel-requested' : 'canceled', undefined, `cancel requested: ${reason}`);
    return new Answer(204);
  }
}

function valueHasType(value: unknown, type: string): boolean {
  if (type === 'string') return typeof value === 'string';
  if (type === 'int32') return Number.isInteger(value);
  if (type === 'float') return typeof value === 'number';
  if (type === 'bool') return typeof value === 'boolean';
  return false;
}

function initialStatusRefused(status: JobStatus | undefined): boolean {
  return status !== undefined && status !== 'queued' && status !== 'paused';
}

/** Frames in a Flamenco frame string ("1-10,12, 20-24"): the stand-in counts one step per frame. */
function countFrames(frames: string): number {
  let count = 0;
  for (const part of frames.split(',')) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+))?\s*$/.exec(part);
    if (m) count += m[2] === undefined ? 1 : Number(m[2]) - Number(m[1]) + 1;
  }
  return count;
}
