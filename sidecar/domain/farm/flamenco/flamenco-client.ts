/**
 * A client for the few Flamenco manager endpoints a render hand-off needs (see `ENDPOINTS`). Every reply is checked
 * against the project's schemas before it is used, and everything that goes wrong becomes one `FarmError` whose
 * message a user can act on. The client holds no state between calls: following a job is flamenco-follower.ts's work.
 */
import type { ErrorKind } from '../../errors.js';
import { FarmError, type FarmErrorData } from '../farm-error.js';
import {
  AvailableJobType,
  ENDPOINTS,
  type Endpoint,
  endpointPath,
  FlamencoError,
  Job,
  type JobStatusChange,
  SubmittedJob,
} from './flamenco-schemas.js';
import { settingsProblems } from './flamenco-settings.js';
import type { z } from 'zod';

export interface FlamencoClientOptions {
  /** The manager's base URL, e.g. http://flamenco.local:8080 (a path prefix behind a proxy is kept). */
  url: string;
  /** Replaces the global fetch (tests, proxies). */
  fetch?: typeof fetch;
  /** How long one request may take, connecting and reading included. Default 10 s. */
  timeoutMs?: number;
}

interface Reply {
  status: number;
  body: unknown;
  /** The manager's `Error.message`, or the start of whatever else it sent, for 4xx/5xx. */
  reason: string | undefined;
}

/** The manager said no to the job or its settings: the request has to change. */
const REFUSED: ErrorKind = 'bad-input';

export class FlamencoClient {
  readonly url: string;
  private readonly fetchImpl: typeof fetch;
  private readonly timeoutMs: number;

  constructor(options: FlamencoClientOptions) {
    this.url = normalizeUrl(options.url);
    this.fetchImpl = options.fetch ?? fetch;
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  /** The job type and its current etag. Throws NotFound when the manager has no type of that name. */
  async jobType(name: string): Promise<AvailableJobType> {
    const op = 'fetch the job type';
    const reply = await this.call(op, ENDPOINTS.jobType, { typeName: name });
    if (reply.status === 404) {
      throw this.error(
        `the Flamenco manager at ${this.url} has no job type "${name}"; check that it is a Flamenco 3 manager with its standard job types`,
        'not-found',
        op,
        reply,
      );
    }
    return this.expect(op, ENDPOINTS.jobType, reply, AvailableJobType);
  }

  /**
   * Asks the manager to compile `job` without storing it. Resolves with the job that passed, which differs from `job`
   * only when a stale etag (412) made the client fetch the type again (see `resendOnStaleEtag`). Throws a bad-input
   * FarmError with the manager's reason when the job is refused.
   */
  async checkJob(job: SubmittedJob): Promise<SubmittedJob> {
    const op = 'check the job';
    const { reply, sent } = await this.resendOnStaleEtag(op, job, (j) => this.call(op, ENDPOINTS.checkJob, {}, j));
    this.expect(op, ENDPOINTS.checkJob, reply, null);
    return sent;
  }

  /** Submits `job`; resolves with the job as the manager stored it (its `id` is what `getJob` and `cancelJob` take). */
  async submitJob(job: SubmittedJob): Promise<Job> {
    const op = 'submit the job';
    const { reply } = await this.resendOnStaleEtag(op, job, (j) => this.call(op, ENDPOINTS.submitJob, {}, j));
    return this.expect(op, ENDPOINTS.submitJob, reply, Job);
  }

  /** The job's status and step counts. Throws NotFound when the manager no longer has it (deleted there). */
  async getJob(id: string): Promise<Job> {
    const op = 'fetch the job';
    const reply = await this.call(op, ENDPOINTS.getJob, { job_id: id });
    if (reply.status === 404) {
      throw this.error(`the Flamenco manager at ${this.url} has no job ${id} (it may have been deleted there)`, 'not-found', op, reply);
    }
    return this.expect(op, ENDPOINTS.getJob, reply, Job);
  }

  /**
   * Asks the manager to cancel the job (status `cancel-requested`). The manager cancels its tasks and sets `canceled`
   * once the workers have stopped, so the caller keeps polling to see the end. Throws InvalidState when the job's
   * status does not allow it (already finished).
   */
  async cancelJob(id: string, reason: string): Promise<void> {
    const op = 'cancel the job';
    const body: JobStatusChange = { status: 'cancel-requested', reason };
    const reply = await this.call(op, ENDPOINTS.setJobStatus, { job_id: id }, body);
    if (reply.status === 404) {
      throw this.error(
        `the Flamenco manager at ${this.url} has no job ${id} to cancel (it may have been deleted there)`,
        'not-found',
        op,
        reply,
      );
    }
    if (reply.status === 422) {
      throw this.error(
        `the Flamenco manager at ${this.url} will not cancel job ${id} in its current status (it has probably finished)`,
        'invalid-state',
        op,
        reply,
      );
    }
    this.expect(op, ENDPOINTS.setJobStatus, reply, null);
  }

  /**
   * 412 means the job type changed on the manager after `job.type_etag` was read. Fetch it once more and resend with
   * the new etag, but only when the settings still fit the new type: resending settings written for an older type
   * would defeat the point of the etag. A second 412 is not retried (the type is changing under us).
   */
  private async resendOnStaleEtag(
    op: string,
    job: SubmittedJob,
    send: (job: SubmittedJob) => Promise<Reply>,
  ): Promise<{ reply: Reply; sent: SubmittedJob }> {
    this.checkRequest(op, job);
    const reply = await send(job);
    if (reply.status !== 412) return { reply, sent: job };
    const type = await this.jobType(job.type);
    const problems = settingsProblems(type, job.settings ?? {});
    if (problems.length > 0) {
      throw this.error(
        `the job type "${job.type}" changed on the Flamenco manager at ${this.url} (stale etag) and this job no longer fits it: ${problems.join('; ')}`,
        REFUSED,
        op,
        reply,
        { problems },
      );
    }
    const resent = { ...job, type_etag: type.etag };
    const second = await send(resent);
    if (second.status === 412) {
      throw this.error(
        `the job type "${job.type}" changed on the Flamenco manager at ${this.url} (stale etag) again while the job was being resent; submit it again`,
        REFUSED,
        op,
        second,
      );
    }
    return { reply: second, sent: resent };
  }

  /** A bug guard: what we send must match the document as the stand-in enforces it, not only when a test runs. */
  private checkRequest(op: string, job: SubmittedJob): void {
    const parsed = SubmittedJob.safeParse(job);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new FarmError(
        `the job is not a valid Flamenco job (${issue.path.join('.') || 'job'}: ${issue.message})`,
        REFUSED,
        this.data(op),
      );
    }
  }

  /** The success status, or a FarmError for every other answer that the caller did not handle. */
  private expect<T>(op: string, endpoint: Endpoint, reply: Reply, schema: z.ZodType<T> | null): T {
    if (reply.status === endpoint.ok) {
      if (!schema) return undefined as T;
      const parsed = schema.safeParse(reply.body);
      if (parsed.success) return parsed.data;
      const issue = parsed.error.issues[0]!;
      throw this.error(
        `the Flamenco manager at ${this.url} sent a reply this sidecar cannot read when asked to ${op} (${issue.path.join('.') || 'body'}: ${issue.message}); is it a Flamenco 3 manager?`,
        'unavailable',
        op,
        reply,
      );
    }
    const why = reply.reason ? `: ${reply.reason}` : '';
    if (reply.status >= 500) {
      throw this.error(
        `the Flamenco manager at ${this.url} failed to ${op} (HTTP ${reply.status}${why}); try again, or look at the manager's log`,
        'unavailable',
        op,
        reply,
      );
    }
    if (endpoint.body === 'SubmittedJob') {
      throw this.error(`the Flamenco manager at ${this.url} refused the job${why || ` (HTTP ${reply.status})`}`, REFUSED, op, reply);
    }
    throw this.error(`the Flamenco manager at ${this.url} refused to ${op} (HTTP ${reply.status}${why})`, REFUSED, op, reply);
  }

  private async call(op: string, endpoint: Endpoint, params: Record<string, string>, body?: unknown): Promise<Reply> {
    const url = this.url + endpointPath(endpoint, params);
    let res: Response;
    let text: string;
    try {
      res = await this.fetchImpl(url, {
        method: endpoint.method,
        headers: body === undefined ? { accept: 'application/json' } : { accept: 'application/json', 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      text = await res.text();
    } catch (err) {
      throw this.unreachable(op, err);
    }
    let parsed: unknown;
    if (text.length > 0) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = undefined;
      }
    }
    let reason: string | undefined;
    if (res.status >= 400) {
      const error = FlamencoError.safeParse(parsed);
      reason = error.success ? error.data.message : text.trim().slice(0, 200) || undefined;
    }
    return { status: res.status, body: parsed, reason };
  }

  private unreachable(op: string, err: unknown): FarmError {
    if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) {
      return new FarmError(
        `the Flamenco manager at ${this.url} did not answer within ${formatSeconds(this.timeoutMs)} when asked to ${op}; check that it is running and reachable`,
        'unavailable',
        this.data(op),
      );
    }
    return new FarmError(
      `the Flamenco manager at ${this.url} cannot be reached (${networkCause(err)}); check that it is running and that the farm URL is right`,
      'unavailable',
      this.data(op),
    );
  }

  private error(message: string, kind: ErrorKind, op: string, reply: Reply, extra: Partial<FarmErrorData> = {}): FarmError {
    return new FarmError(message, kind, {
      ...this.data(op),
      httpStatus: reply.status,
      ...(reply.reason ? { reason: reply.reason } : {}),
      ...extra,
    });
  }

  private data(operation: string): FarmErrorData {
    return { farm: 'flamenco', url: this.url, operation };
  }
}

/** Checks and trims the configured URL; a bad one is the user's input, so it is named as such. */
function normalizeUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new FarmError(`"${url}" is not a Flamenco manager URL; write it like http://flamenco.local:8080`, REFUSED, {
      farm: 'flamenco',
      url,
      operation: 'read the farm URL',
    });
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new FarmError(`"${url}" is not a Flamenco manager URL (it must start with http:// or https://)`, REFUSED, {
      farm: 'flamenco',
      url,
      operation: 'read the farm URL',
    });
  }
  return `${parsed.origin}${parsed.pathname}`.replace(/\/+$/, '');
}

/** Node's fetch hides the socket error in `cause` ("fetch failed" says nothing). */
function networkCause(err: unknown): string {
  const cause = err instanceof Error ? (err.cause as { code?: string; message?: string } | undefined) : undefined;
  return cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err));
}

function formatSeconds(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${Math.round(ms / 100) / 10} s`;
}
