import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import { Ajv } from 'ajv';
import { methods } from '../../sidecar/api/spec/index.js';
import { renderRpcMarkdown } from '../../sidecar/protocol/docs.js';
import { openRpcDocument } from '../../sidecar/app.js';
import { testSidecar, type TestSidecar } from '../helpers/sidecar.js';

const require = createRequire(import.meta.url);
const metaSchema = require('@open-rpc/meta-schema');
// The OpenRPC meta-schema points into the JSON Schema meta-schema by URL; give Ajv the package copy of it.
const jsonSchemaMeta = require('@json-schema-tools/meta-schema');

describe('rpc.discover', () => {
  let sidecar: TestSidecar;
  before(async () => (sidecar = await testSidecar()));
  after(() => sidecar.stop());

  it('answers an OpenRPC document that is valid against the OpenRPC meta-schema', async () => {
    const client = await sidecar.client();
    const doc = await client.call('rpc.discover', {});
    const ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false });
    const jsm = jsonSchemaMeta.default ?? jsonSchemaMeta;
    ajv.addSchema(jsm);
    ajv.addSchema({ ...jsm, $id: 'https://meta.json-schema.tools' }); // referenced both with and without the slash
    const validate = ajv.compile(metaSchema.default ?? metaSchema);
    assert.ok(validate(doc), JSON.stringify(validate.errors, null, 2));
    // The validator is not vacuous: a document with a method lacking its result is refused.
    const broken = structuredClone(doc) as any;
    delete broken.methods[0].result;
    broken.methods[0].params = 'nope';
    assert.equal(validate(broken), false);
  });

  it('describes every method of the table with its params and result', async () => {
    const client = await sidecar.client();
    const doc = (await client.call('rpc.discover', {})) as any;
    assert.deepEqual(doc.methods.map((m: any) => m.name).sort(), Object.keys(methods).sort());
    for (const m of doc.methods) {
      assert.ok(m.summary, `${m.name} has a summary`);
      assert.ok(m.result?.schema, `${m.name} has a result schema`);
    }
    const subscribe = doc.methods.find((m: any) => m.name === 'events.subscribe');
    assert.deepEqual(
      subscribe.params.map((p: any) => [p.name, p.required]),
      [['topics', true]],
    );
  });

  it('gives examples that the method table itself accepts', () => {
    for (const [name, spec] of Object.entries(methods) as Array<[string, any]>) {
      if (spec.example === undefined) continue;
      const parsed = spec.params.safeParse(spec.example);
      assert.ok(parsed.success, `${name} example: ${JSON.stringify(parsed.error?.issues)}`);
    }
  });

  it('keeps docs/rpc.md in step with the method table (run npm run docs)', () => {
    const expected = renderRpcMarkdown(openRpcDocument());
    const actual = readFileSync(new URL('../../docs/rpc.md', import.meta.url), 'utf8');
    assert.equal(actual, expected, 'docs/rpc.md is out of date: run `npm run docs`');
  });
});

describe('docs/cli.md', () => {
  it("is in step with the commands' help (run npm run docs)", async () => {
    const { commands } = await import('../../sidecar/cli/main.js');
    const { renderCliMarkdown } = await import('../../sidecar/cli/commands/docs.js');
    const actual = readFileSync(new URL('../../docs/cli.md', import.meta.url), 'utf8');
    assert.equal(actual, renderCliMarkdown(commands), 'docs/cli.md is out of date: run `npm run docs`');
  });
});
