/**
 * The edge's one map from a domain error's kind to the JSON-RPC code clients switch on, driven through the real
 * dispatcher: each kind answers with the code scripts were promised, message and data as the domain wrote them.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { DomainError, InvalidInputError, NotFoundError, type ErrorKind } from '../../sidecar/domain/errors.js';
import { RevisionConflictError } from '../../sidecar/domain/sync/channel.js';
import { StateFolderError } from '../../sidecar/state-dir.js';
import { Dispatcher } from '../../sidecar/protocol/dispatcher.js';
import { codeOf, errorCodeList } from '../../sidecar/protocol/error-codes.js';
import { method } from '../../sidecar/protocol/method.js';
import { renderRpcMarkdown } from '../../sidecar/protocol/docs.js';
import { openRpcDocument } from '../../sidecar/app.js';

/** The codes as users' scripts and the add-on know them (docs/rpc.md since the first release). Never change one. */
const PROMISED: Record<ErrorKind, number> = {
  'bad-input': -32602,
  'no-blender': -32001,
  'not-found': -32002,
  'invalid-state': -32003,
  unavailable: -32005,
  conflict: -32010,
};

/** A one-method dispatcher whose handler throws what the test hands it. */
function throwing(make: () => unknown) {
  const table = { 'test.fail': method({ summary: 'Throws.', params: z.strictObject({}), result: z.null() }) };
  const internal: unknown[] = [];
  const dispatcher = new Dispatcher(
    table,
    {
      'test.fail': () => {
        throw make();
      },
    },
    { logInternalError: (_m, err) => internal.push(err) },
  );
  return {
    internal,
    async answer() {
      const reply = JSON.parse(
        (await dispatcher.handleText(JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'test.fail', params: {} }), undefined))!,
      );
      assert.equal(reply.id, 7);
      assert.equal(reply.result, undefined);
      return reply.error as { code: number; message: string; data?: unknown };
    },
  };
}

describe('error codes', () => {
  it('maps every kind to the code clients were promised', () => {
    // PROMISED is a Record<ErrorKind, number>: a kind added without a promised code does not compile.
    for (const [kind, code] of Object.entries(PROMISED) as Array<[ErrorKind, number]>) assert.equal(codeOf(kind), code, kind);
  });

  for (const [kind, code] of Object.entries(PROMISED) as Array<[ErrorKind, number]>) {
    it(`answers a DomainError of kind ${kind} with ${code}, its message and data as thrown`, async () => {
      const error = await throwing(() => new DomainError(kind, `the ${kind} sentence`, { detail: [1, 'two'] })).answer();
      assert.deepEqual(error, { code, message: `the ${kind} sentence`, data: { detail: [1, 'two'] } });
    });
  }

  it("answers the domain's own error classes with their kind's code, leaving out data they do not have", async () => {
    assert.deepEqual(await throwing(() => new InvalidInputError('frames', 'expected a frame list like 1-10,20')).answer(), {
      code: -32602,
      message: 'frames: expected a frame list like 1-10,20',
      data: { errors: [{ field: 'frames', message: 'expected a frame list like 1-10,20' }] },
    });
    assert.deepEqual(await throwing(() => new NotFoundError('no job j-1')).answer(), { code: -32002, message: 'no job j-1' });
    const conflict = await throwing(
      () =>
        new RevisionConflictError(
          'default',
          1,
          3,
          [{ key: { object: 'Grid', modifier: 'GN', input: 'Count' }, current: { type: 'int', value: 5, revision: 3, changedBy: 'b' } }],
          false,
        ),
    ).answer();
    assert.equal(conflict.code, -32010);
    assert.match(conflict.message, /^revision conflict: .* changed at revision 3 by b, after baseRevision 1$/);
    const full = await throwing(
      () => new StateFolderError('/state', 'save the job', Object.assign(new Error('no space'), { code: 'ENOSPC' })),
    ).answer();
    assert.equal(full.code, -32005);
    assert.match(full.message, /the disk is full/);
  });

  it('answers anything else as an internal error that hides the message and logs it', async () => {
    const bug = throwing(() => new TypeError('cannot read properties of undefined (secret path /home/x)'));
    const error = await bug.answer();
    assert.equal(error.code, -32603);
    assert.match(error.message, /^internal error \(reference E\w+\); the sidecar's log has the details$/);
    assert.doesNotMatch(error.message, /secret/);
    assert.equal((bug.internal[0] as Error).message, 'cannot read properties of undefined (secret path /home/x)');
  });

  it("lists each code once in docs/rpc.md, JSON-RPC's own first, with every kind's code among them", () => {
    const codes = errorCodeList().map((e) => e.code);
    assert.deepEqual(codes, [-32700, -32600, -32601, -32602, -32603, -32001, -32002, -32003, -32004, -32005, -32006, -32010]);
    const rows = renderRpcMarkdown(openRpcDocument())
      .split('\n')
      .filter((l) => /^\| -32\d{3} \|/.test(l));
    assert.deepEqual(
      rows.map((r) => Number(r.split('|')[1])),
      codes,
    );
    assert.ok(
      rows.includes(
        "| -32010 | revision conflict | a Geometry Nodes entry changed after the write's baseRevision; nothing of the write was applied |",
      ),
      rows.join('\n'),
    );
  });

  it("gives each method's errors the code of their kind in rpc.discover", () => {
    const cancel = openRpcDocument().methods.find((m) => m.name === 'job.cancel')!;
    assert.deepEqual(
      cancel.errors?.map((e) => e.code),
      [-32002, -32003],
    );
  });
});
