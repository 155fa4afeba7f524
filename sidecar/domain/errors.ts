/**
 * Errors that reach a user as one clear sentence, in the domain's own words.
 *
 * Domain code throws a `DomainError` (or a subclass) when something expected goes wrong: a file that is missing, a job
 * that does not exist, a revision conflict. It says what KIND of failure it is, never a JSON-RPC number: the edge
 * (sidecar/protocol/error-codes.ts) maps each kind to the code clients switch on and passes message and data through
 * unchanged. Any other exception is treated as a bug and reaches a client only as a generic internal error.
 */

/**
 * What went wrong, as a caller would act on it:
 * - `bad-input`: a field (or the file it names) cannot be accepted, or the request asks past a limit; fix the request.
 * - `no-blender`: no Blender to run, or the one named does not start or say its version.
 * - `not-found`: the thing asked for (a job, a farm's job) does not exist.
 * - `invalid-state`: it exists but cannot do that now (a job that has already ended).
 * - `unavailable`: the sidecar (or a farm, or the state folder) cannot serve this just now; try again later.
 * - `conflict`: a Geometry Nodes entry changed after the write's baseRevision; nothing of the write was applied.
 */
export type ErrorKind = 'bad-input' | 'no-blender' | 'not-found' | 'invalid-state' | 'unavailable' | 'conflict';

export class DomainError extends Error {
  override readonly name: string = 'DomainError';
  constructor(
    readonly kind: ErrorKind,
    message: string,
    /** Structured detail a script can act on (which field, the current value, what was tried). */
    readonly data?: unknown,
  ) {
    super(message);
  }
}

/** Bad input from a user: a field that cannot be accepted. `data.errors` names it as `{field, message}`. */
export class InvalidInputError extends DomainError {
  override readonly name = 'InvalidInputError';
  constructor(field: string, reason: string, extra?: Record<string, unknown>) {
    super('bad-input', `${field}: ${reason}`, { errors: [{ field, message: reason }], ...extra });
  }
}

export class NotFoundError extends DomainError {
  override readonly name = 'NotFoundError';
  constructor(message: string, data?: unknown) {
    super('not-found', message, data);
  }
}

export class InvalidStateError extends DomainError {
  override readonly name = 'InvalidStateError';
  constructor(message: string, data?: unknown) {
    super('invalid-state', message, data);
  }
}

/** A field's path the way a user wrote it: `items[2].format`, or `(params)` for the whole request. */
export function fieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out || '(params)';
}

/** Turns anything thrown into a sentence fit for a log line. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
