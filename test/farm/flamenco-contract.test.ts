/**
 * The Flamenco hand-off's contract, in two halves. First, the project's schemas and endpoint table against Flamenco's
 * published OpenAPI document (CI keeps it beside the repository, at ../shared/specs/flamenco-openapi.yaml). Then the
 * client, the hand-off and the follower against a local manager stand-in that enforces those same schemas.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterEach, before, beforeEach, describe, it } from 'node:test';
import { parse } from 'yaml';
import { z } from 'zod';
import { DomainError, type ErrorKind } from '../../sidecar/domain/errors.js';
import { FarmError } from '../../sidecar/domain/farm/farm-error.js';
import { FlamencoClient } from '../../sidecar/domain/farm/flamenco/flamenco-client.js';
import { FlamencoFollower, type FollowedProgress } from '../../sidecar/domain/farm/flamenco/flamenco-follower.js';
import {
  buildSubmittedJob,
  type FarmRenderParams,
  SIMPLE_BLENDER_RENDER,
  STATE_OF,
  submitRender,
} from '../../sidecar/domain/farm/flamenco/flamenco-job.js';
import { COMPONENTS, ENDPOINTS, SubmittedJob } from '../../sidecar/domain/farm/flamenco/flamenco-schemas.js';
import { FlamencoStandin } from '../helpers/flamenco-standin.js';

const SPEC_PATH = process.env.FLAMENCO_OPENAPI ?? fileURLToPath(new URL('../../../shared/specs/flamenco-openapi.yaml', import.meta.url));

// ---------------------------------------------------------------------------------------------------------------------
// Reading the OpenAPI document

type OpenApiSchema = {
  $ref?: string;
  allOf?: OpenApiSchema[];
  type?: string;
  enum?: unknown[];
  properties?: Record<string, OpenApiSchema>;
  required?: string[];
  items?: OpenApiSchema;
  additionalProperties?: boolean | OpenApiSchema;
  example?: unknown;
};
type OpenApiDoc = {
  paths: Record<
    string,
    Record<
      string,
      {
        operationId?: string;
        requestBody?: { content: Record<string, { schema: OpenApiSchema }> };
        responses: Record<string, { content?: Record<string, { schema: OpenApiSchema }> }>;
      }
    >
  >;
  components: { schemas: Record<string, OpenApiSchema> };
};

function loadSpec(): OpenApiDoc {
  assert.ok(
    existsSync(SPEC_PATH),
    `Flamenco's OpenAPI document is not at ${SPEC_PATH}; CI keeps it at ../shared/specs/ beside the repository (or set FLAMENCO_OPENAPI)`,
  );
  return parse(readFileSync(SPEC_PATH, 'utf8')) as OpenApiDoc;
}

/** Follows $ref, and folds allOf into one object schema (properties merged, required joined), as a reader sees it. */
function resolve(spec: OpenApiDoc, schema: OpenApiSchema): OpenApiSchema {
  if (schema.$ref) {
    const name = /^#\/components\/schemas\/(.+)$/.exec(schema.$ref)?.[1];
    assert.ok(name && spec.components.schemas[name], `unresolvable $ref ${schema.$ref}`);
    return resolve(spec, spec.components.schemas[name]);
  }
  if (schema.allOf) {
    const parts = schema.allOf.map((part) => resolve(spec, part));
    return {
      type: 'object',
      properties: Object.assign({}, ...parts.map((p) => p.properties ?? {})),
      required: [...new Set(parts.flatMap((p) => p.required ?? []))],
    };
  }
  return schema;
}

type JsonSchema = {
  type?: string;
  enum?: unknown[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  additionalProperties?: JsonSchema | boolean;
};

const sorted = (values: readonly unknown[] | undefined) => [...(values ?? [])].map(String).sort();

/**
 * Every difference between our schema (as zod's JSON Schema) and the document's: a field the document does not have,
 * a different set of required fields, different enum values, a different primitive type.
 */
function differences(spec: OpenApiDoc, ours: JsonSchema, theirs: OpenApiSchema, where: string): string[] {
  const doc = resolve(spec, theirs);
  const out: string[] = [];
  if (doc.enum) {
    if (JSON.stringify(sorted(ours.enum)) !== JSON.stringify(sorted(doc.enum)))
      out.push(`${where}: enum ${sorted(ours.enum).join('|')} != ${sorted(doc.enum).join('|')}`);
  }
  if (doc.type && ours.type && doc.type !== ours.type) out.push(`${where}: type ${ours.type} != ${doc.type}`);
  if (doc.properties) {
    for (const [key, prop] of Object.entries(ours.properties ?? {})) {
      const theirsProp = doc.properties[key];
      if (!theirsProp) out.push(`${where}.${key}: not in the document`);
      else out.push(...differences(spec, prop, theirsProp, `${where}.${key}`));
    }
    if (JSON.stringify(sorted(ours.required)) !== JSON.stringify(sorted(doc.required))) {
      out.push(`${where}: required ${sorted(ours.required).join(',')} != ${sorted(doc.required).join(',')}`);
    }
  }
  if (doc.items && ours.items) out.push(...differences(spec, ours.items, doc.items, `${where}[]`));
  if (typeof doc.additionalProperties === 'object' && typeof ours.additionalProperties === 'object') {
    out.push(...differences(spec, ours.additionalProperties, doc.additionalProperties, `${where}{}`));
  }
  return out;
}

describe("the project's Flamenco schemas against Flamenco's OpenAPI document", () => {
  let spec: OpenApiDoc;
  before(() => {
    spec = loadSpec();
  });

  for (const [name, schema] of Object.entries(COMPONENTS)) {
    it(`${name} has the document's fields, required fields, enum values and types`, () => {
      assert.ok(spec.components.schemas[name], `the document has no component ${name}`);
      const ours = z.toJSONSchema(schema) as JsonSchema;
      assert.deepEqual(differences(spec, ours, { $ref: `#/components/schemas/${name}` }, name), []);
    });
  }

  for (const [use, endpoint] of Object.entries(ENDPOINTS)) {
    it(`${use}: ${endpoint.method} ${endpoint.path} is in the document with the same operation, bodies and statuses`, () => {
      const operation = spec.paths[endpoint.path]?.[endpoint.method.toLowerCase()];
      assert.ok(operation, `${endpoint.method} ${endpoint.path} is not in the document`);
      assert.equal(operation.operationId, endpoint.operationId);
      const requestRef = operation.requestBody?.content['application/json']?.schema.$ref ?? null;
      assert.equal(requestRef, endpoint.body && `#/components/schemas/${endpoint.body}`);
      const ok = operation.responses[String(endpoint.ok)];
      assert.ok(ok, `the document has no ${endpoint.ok} answer for ${endpoint.path}`);
      assert.equal(ok.content?.['application/json']?.schema.$ref ?? null, endpoint.reply && `#/components/schemas/${endpoint.reply}`);
      for (const status of endpoint.handles)
        assert.ok(operation.responses[String(status)], `the document has no ${status} answer for ${endpoint.path}`);
      // Where the document gives a default (error) answer, it is the Error component the client reads.
      const fallback = operation.responses.default;
      if (fallback) assert.equal(fallback.content?.['application/json']?.schema.$ref, '#/components/schemas/Error');
    });
  }

  it('maps every JobStatus of the document onto one of our states', () => {
    const statuses = resolve(spec, { $ref: '#/components/schemas/JobStatus' }).enum;
    assert.deepEqual(sorted(Object.keys(STATE_OF)), sorted(statuses));
  });

  it("reads the document's own SubmittedJob example", () => {
    const example = spec.components.schemas.SubmittedJob!.example;
    assert.equal(SubmittedJob.safeParse(example).success, true);
  });
});

// ---------------------------------------------------------------------------------------------------------------------
// The client against the stand-in

/** A clock for the follower: sleeps wait until the test ticks, so each poll happens exactly when the test says. */
class ManualClock {
  readonly asked: number[] = [];
  private sleeper: (() => void) | undefined;
  private onSleep: (() => void) | undefined;

  readonly sleep = (ms: number, signal: AbortSignal): Promise<void> =>
    new Promise((resolve) => {
      this.asked.push(ms);
      if (signal.aborted) return resolve();
      const wake = () => {
        this.sleeper = undefined;
        resolve();
      };
      signal.addEventListener('abort', wake, { once: true });
      this.sleeper = wake;
      this.onSleep?.();
    });

  /** Resolves once the follower has polled and gone to sleep. */
  sleeping(): Promise<void> {
    if (this.sleeper) return Promise.resolve();
    return new Promise((resolve) => {
      this.onSleep = () => {
        this.onSleep = undefined;
        resolve();
      };
    });
  }

  /** Ends the current sleep: the follower polls again. */
  tick(): void {
    assert.ok(this.sleeper, 'the follower is not sleeping');
    this.sleeper();
  }
}

async function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

const shared = '/srv/flamenco';
function params(extra: Partial<FarmRenderParams> = {}): FarmRenderParams {
  return {
    blendFile: `${shared}/shots/010/shot.blend`,
    frames: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
    output: `${shared}/renders/010/`,
    format: 'png',
    scene: 'Scene',
    ...extra,
  };
}

async function rejectsWith(promise: Promise<unknown>, kind: ErrorKind, message: RegExp): Promise<FarmError> {
  let caught: unknown;
  await promise.then(
    () => assert.fail(`expected a FarmError matching ${message}`),
    (err: unknown) => {
      caught = err;
    },
  );
  assert.ok(caught instanceof FarmError, `expected a FarmError, got ${String(caught)}`);
  assert.ok(caught instanceof DomainError);
  assert.equal(caught.kind, kind, caught.message);
  assert.match(caught.message, message);
  assert.doesNotMatch(caught.message, /\n/, 'one sentence, one line');
  return caught;
}

describe('FlamencoClient against the manager stand-in', () => {
  let standin: FlamencoStandin;
  let client: FlamencoClient;
  beforeEach(async () => {
    standin = await FlamencoStandin.start({ sharedStorage: shared });
    client = new FlamencoClient({ url: `${standin.url}/`, timeoutMs: 2000 });
  });
  afterEach(async () => {
    await standin.close();
  });

  describe('submitRender and FlamencoFollower', () => {
    it('fetches the job type, checks, submits, and follows the job to completed with progress in frames', async () => {
      const job = await submitRender(client, params({ frames: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], chunkSize: 2, priority: 'high' }));
      assert.deepEqual(
        standin.requests.map((r) => `${r.method} ${r.path} ${r.status}`),
        [`GET /api/v3/jobs/type/${SIMPLE_BLENDER_RENDER} 200`, 'POST /api/v3/jobs/check 204', 'POST /api/v3/jobs 200'],
      );
      const sent = standin.calls('POST', '/api/v3/jobs')[0]!.body as SubmittedJob;
      assert.equal(sent.type_etag, standin.etag);
      assert.equal(sent.priority, 75);
      assert.equal(sent.initial_status, 'queued');
      assert.deepEqual(sent.settings, {
        blendfile: `${shared}/shots/010/shot.blend`,
        scene: 'Scene',
        frames: '1-10',
        chunk_size: 2,
        render_output_root: `${shared}/renders/010`,
        add_path_components: 0,
        render_output_path: `${shared}/renders/010/####`,
        format: 'PNG',
        image_file_extension: '.png',
      });
      assert.equal(job.status, 'queued');

      const clock = new ManualClock();
      const updates: FollowedProgress[] = [];
      const follower = new FlamencoFollower(client, job.id, {
        frameCount: 10,
        intervalMs: 1500,
        sleep: clock.sleep,
        onUpdate: (p) => updates.push(p),
      });
      const followed = follower.follow();
      await clock.sleeping();
      standin.advance(job.id, 'active', 3, 'rendering frames 3-4');
      clock.tick();
      await clock.sleeping();
      clock.tick(); // nothing changed: no update
      await clock.sleeping();
      standin.advance(job.id, 'completed', 10, 'done');
      clock.tick();
      const final = await followed;

      assert.deepEqual(
        updates.map((p) => [p.state, p.farmStatus, p.done, p.total]),
        [
          ['queued', 'queued', 0, 10],
          ['running', 'active', 3, 10],
          ['completed', 'completed', 10, 10],
        ],
      );
      assert.equal(final?.state, 'completed');
      assert.equal(final?.error, undefined);
      assert.deepEqual([...new Set(clock.asked)], [1500]);
    });

    it('refuses a video format before any request reaches the manager', async () => {
      await assert.rejects(submitRender(client, params({ format: 'FFMPEG' })), (err: unknown) => {
        assert.ok(err instanceof DomainError && !(err instanceof FarmError));
        assert.equal(err.kind, 'bad-input');
        assert.match(
          err.message,
          /^format: FFMPEG is a video format, and Flamenco's simple-blender-render job type renders image sequences only/,
        );
        return true;
      });
      assert.deepEqual(standin.requests, []);
    });

    it('names the reason when the manager refuses the job at the check (blend file outside shared storage)', async () => {
      const err = await rejectsWith(
        submitRender(client, params({ blendFile: '/home/ana/shot.blend' })),
        'bad-input',
        /^the Flamenco manager at http:\/\/127\.0\.0\.1:\d+ refused the job: error compiling job: blendfile \/home\/ana\/shot\.blend is not on the farm's shared storage \(\/srv\/flamenco\)/,
      );
      assert.equal(err.data.httpStatus, 400);
      assert.equal(err.data.operation, 'check the job');
      assert.deepEqual(standin.calls('POST', '/api/v3/jobs'), [], 'a refused job is never submitted');
    });

    it("names the reason when the manager's own rule refuses the job", async () => {
      standin.refuse = (job) => (job.priority > 60 ? 'priority above 60 needs a producer' : undefined);
      await rejectsWith(
        submitRender(client, params({ priority: 'high' })),
        'bad-input',
        /refused the job: error compiling job: priority above 60 needs a producer$/,
      );
    });

    it("refuses before the check when the manager's job type no longer takes the settings the sidecar builds", async () => {
      standin.changeJobType((settings) => [...settings, { key: 'camera', type: 'string', required: true }]);
      const err = await rejectsWith(
        submitRender(client, params()),
        'bad-input',
        /^the job type "simple-blender-render" on the Flamenco manager at .* does not take the jobs this sidecar builds: it requires the setting "camera"$/,
      );
      assert.deepEqual(err.data.problems, ['it requires the setting "camera"']);
      assert.deepEqual(standin.calls('POST', /^\/api\/v3\/jobs/), []);
    });

    it('cancels through setstatus: cancel-requested is still running, then the job is canceled', async () => {
      const job = await submitRender(client, params());
      standin.advance(job.id, 'active', 4, 'rendering');
      const clock = new ManualClock();
      const updates: FollowedProgress[] = [];
      const follower = new FlamencoFollower(client, job.id, { frameCount: 10, sleep: clock.sleep, onUpdate: (p) => updates.push(p) });
      const followed = follower.follow();
      await clock.sleeping();

      await follower.cancel('the director changed the shot');
      assert.deepEqual(
        standin.calls('POST', `/api/v3/jobs/${job.id}/setstatus`).map((r) => [r.body, r.status]),
        [[{ status: 'cancel-requested', reason: 'the director changed the shot' }, 204]],
      );
      await clock.sleeping(); // the cancel woke the follower: it polled at once and sees cancel-requested
      clock.tick();
      const final = await followed;

      assert.deepEqual(
        updates.map((p) => [p.state, p.farmStatus]),
        [
          ['running', 'active'],
          ['running', 'cancel-requested'],
          ['canceled', 'canceled'],
        ],
      );
      assert.equal(final?.state, 'canceled');
      assert.equal(final?.error, 'canceled: the director changed the shot');
    });

    it('reports a job canceled or failed on the farm with a sentence for the job', async () => {
      for (const status of ['failed', 'canceled'] as const) {
        const job = await submitRender(client, params());
        standin.advance(job.id, status, 2, 'task render-3 failed on 3 workers');
        const final = await new FlamencoFollower(client, job.id, { sleep: new ManualClock().sleep }).follow();
        assert.equal(final?.state, status);
        const verb = status === 'failed' ? 'failed' : 'was canceled';
        assert.equal(final?.error, `the job ${verb} on the Flamenco manager at ${client.url} (task render-3 failed on 3 workers)`);
      }
    });

    it('keeps following through a short outage, and gives up with the one-sentence error after maxMissedPolls', async () => {
      const job = await submitRender(client, params());
      const clock = new ManualClock();
      const follower = new FlamencoFollower(client, job.id, { maxMissedPolls: 2, sleep: clock.sleep });
      const followed = follower.follow();
      await clock.sleeping();
      standin.failNext(2);
      for (let i = 0; i < 2; i++) {
        clock.tick();
        await clock.sleeping();
      }
      standin.advance(job.id, 'active', 1);
      clock.tick();
      await clock.sleeping();
      assert.equal(follower.last?.state, 'running', 'two missed polls are tolerated');

      standin.failNext(3);
      for (let i = 0; i < 2; i++) {
        clock.tick();
        await clock.sleeping();
      }
      clock.tick();
      await rejectsWith(
        followed,
        'unavailable',
        /^the Flamenco manager at .* failed to fetch the job \(HTTP 503: the database is busy, try again later\); try again, or look at the manager's log$/,
      );
    });

    it('stop() ends following and leaves the job on the farm', async () => {
      const job = await submitRender(client, params());
      const clock = new ManualClock();
      const follower = new FlamencoFollower(client, job.id, { sleep: clock.sleep });
      const followed = follower.follow();
      await clock.sleeping();
      follower.stop();
      assert.equal((await followed)?.state, 'queued');
      assert.equal(standin.job(job.id).status, 'queued');
      assert.deepEqual(standin.calls('POST', /setstatus$/), []);
    });
  });

  describe('stale job type etag (412)', () => {
    it('fetches the job type again and resends once with the new etag when the settings still fit', async () => {
      const type = await client.jobType(SIMPLE_BLENDER_RENDER);
      const job = { ...buildSubmittedJob(params()), type_etag: type.etag };
      const newEtag = standin.changeJobType();
      const stored = await client.submitJob(job);
      assert.equal(stored.type_etag, newEtag);
      assert.deepEqual(
        standin.calls('POST', '/api/v3/jobs').map((r) => [(r.body as SubmittedJob).type_etag, r.status]),
        [
          [type.etag, 412],
          [newEtag, 200],
        ],
      );
    });

    it('check gives back the job with the etag that passed, so submit does not hit 412 again', async () => {
      const type = await client.jobType(SIMPLE_BLENDER_RENDER);
      const newEtag = standin.changeJobType();
      const checked = await client.checkJob({ ...buildSubmittedJob(params()), type_etag: type.etag });
      assert.equal(checked.type_etag, newEtag);
      await client.submitJob(checked);
      assert.deepEqual(
        standin.calls('POST', '/api/v3/jobs').map((r) => r.status),
        [200],
      );
    });

    it('fails with the stale-etag sentence when the job type changes again before the resend (no third try)', async () => {
      const type = await client.jobType(SIMPLE_BLENDER_RENDER);
      standin.etagChangesBeforeSubmit = 2;
      const err = await rejectsWith(
        client.submitJob({ ...buildSubmittedJob(params()), type_etag: type.etag }),
        'bad-input',
        /^the job type "simple-blender-render" changed on the Flamenco manager at http:\/\/127\.0\.0\.1:\d+ \(stale etag\) again while the job was being resent; submit it again$/,
      );
      assert.equal(err.data.httpStatus, 412);
      assert.equal(err.data.reason, 'rejecting job because its settings are outdated, refresh the job type');
      assert.deepEqual(
        standin.calls('POST', '/api/v3/jobs').map((r) => r.status),
        [412, 412],
      );
    });

    it('does not resend when the changed job type no longer takes the settings', async () => {
      const type = await client.jobType(SIMPLE_BLENDER_RENDER);
      standin.changeJobType((settings) =>
        settings.filter((s) => s.key !== 'add_path_components').concat([{ key: 'output_path', type: 'string', required: true }]),
      );
      const err = await rejectsWith(
        client.submitJob({ ...buildSubmittedJob(params()), type_etag: type.etag }),
        'bad-input',
        /^the job type "simple-blender-render" changed on the Flamenco manager at .* \(stale etag\) and this job no longer fits it: it has no setting "add_path_components"; it requires the setting "output_path"$/,
      );
      assert.deepEqual(err.data.problems, ['it has no setting "add_path_components"', 'it requires the setting "output_path"']);
      assert.deepEqual(
        standin.calls('POST', '/api/v3/jobs').map((r) => r.status),
        [412],
      );
    });
  });

  describe('errors', () => {
    it('says the manager cannot be reached, in one sentence', async () => {
      const port = await closedPort();
      const away = new FlamencoClient({ url: `http://127.0.0.1:${port}` });
      const err = await rejectsWith(
        away.jobType(SIMPLE_BLENDER_RENDER),
        'unavailable',
        new RegExp(
          `^the Flamenco manager at http://127\\.0\\.0\\.1:${port} cannot be reached \\(ECONNREFUSED\\); check that it is running and that the farm URL is right$`,
        ),
      );
      assert.equal(err.data.url, `http://127.0.0.1:${port}`);
    });

    it('says the manager did not answer in time', async () => {
      const slow = new FlamencoClient({ url: standin.url, timeoutMs: 150 });
      standin.hangNext(1);
      await rejectsWith(
        slow.getJob('x'),
        'unavailable',
        /^the Flamenco manager at .* did not answer within 150 ms when asked to fetch the job; check that it is running and reachable$/,
      );
    });

    it('says a manager error (5xx) is the manager failing, with its message', async () => {
      standin.failNext(1, 500);
      await rejectsWith(
        client.jobType(SIMPLE_BLENDER_RENDER),
        'unavailable',
        /failed to fetch the job type \(HTTP 500: the database is busy, try again later\)/,
      );
    });

    it('says which job or job type the manager does not have', async () => {
      await rejectsWith(client.getJob('0f6a-gone'), 'not-found', /has no job 0f6a-gone \(it may have been deleted there\)$/);
      await rejectsWith(client.jobType('nope'), 'not-found', /has no job type "nope"/);
    });

    it('refuses to cancel a finished job (422) as an invalid state', async () => {
      const job = await submitRender(client, params());
      standin.advance(job.id, 'completed', 10);
      await rejectsWith(client.cancelJob(job.id, 'too late'), 'invalid-state', /will not cancel job .* in its current status/);
    });

    it('does not trust a reply that does not match the schemas', async () => {
      const lying = new FlamencoClient({
        url: 'http://farm.example:8080',
        fetch: async () => new Response(JSON.stringify({ name: SIMPLE_BLENDER_RENDER, label: 'x', settings: [] }), { status: 200 }),
      });
      await rejectsWith(
        lying.jobType(SIMPLE_BLENDER_RENDER),
        'unavailable',
        /^the Flamenco manager at http:\/\/farm\.example:8080 sent a reply this sidecar cannot read when asked to fetch the job type \(etag: .*\); is it a Flamenco 3 manager\?$/,
      );
    });

    it('refuses a URL that is not http(s)', () => {
      assert.throws(
        () => new FlamencoClient({ url: 'flamenco.local:8080' }),
        (err: unknown) => err instanceof FarmError && err.kind === 'bad-input' && /must start with http/.test(err.message),
      );
      assert.throws(() => new FlamencoClient({ url: 'not a url' }), FarmError);
    });
  });

  describe('the stand-in holds the client to the schemas', () => {
    async function post(path: string, body: unknown): Promise<{ status: number; body: unknown }> {
      const res = await fetch(standin.url + path, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined };
    }

    it('answers 400 with an Error body to a job with a misspelt or missing field', async () => {
      const job = buildSubmittedJob(params());
      const misspelt = await post('/api/v3/jobs/check', { ...job, typeEtag: 'x' });
      assert.equal(misspelt.status, 400);
      assert.match((misspelt.body as { message: string }).message, /^invalid format: .*typeEtag/);
      const { submitter_platform: _, ...missing } = job;
      assert.equal((await post('/api/v3/jobs', missing)).status, 400);
    });

    it('answers 400 to a setstatus body without a reason', async () => {
      const job = await submitRender(client, params());
      const answer = await post(`/api/v3/jobs/${job.id}/setstatus`, { status: 'cancel-requested' });
      assert.deepEqual([answer.status, (answer.body as { code: number }).code], [400, 400]);
    });
  });
});
