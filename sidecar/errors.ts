/**
 * Errors that reach a user as one clear sentence.
 *
 * Domain code throws `SidecarError` (or a subclass) when something expected goes wrong: a file that is missing, a job
 * that does not exist, a revision conflict. The protocol layer passes these through to the client unchanged (code,
 * message, data); any other exception is treated as a bug and reaches the client only as a generic internal error.
 */

/** Server-defined JSON-RPC error codes (the spec reserves -32000..-32099 for them). Stable: clients switch on them. */
export const ErrorCode = {
  BlenderNotFound: -32001,
  NotFound: -32002,
  InvalidState: -32003,
  FileNotFound: -32004,
  Unavailable: -32005,
  /** A result larger than the reply limit; the call (or batch) should ask for less. */
  ReplyTooLarge: -32006,
  RevisionConflict: -32010,
} as const;

export class SidecarError extends Error {
  override readonly name: string = 'SidecarError';
  constructor(
    message: string,
    /** A JSON-RPC error code; -32602 for bad input, or one of `ErrorCode`. */
    readonly rpcCode: number,
    /** Structured detail a script can act on (which field, the current value, what was tried). */
    readonly data?: unknown,
  ) {
    super(message);
  }
}

/** Bad input from a user: a field that cannot be accepted. Maps to JSON-RPC -32602. */
export class InvalidInputError extends SidecarError {
  override readonly name = 'InvalidInputError';
  constructor(field: string, reason: string, extra?: Record<string, unknown>) {
    super(`${field}: ${reason}`, -32602, { errors: [{ field, message: reason }], ...extra });
  }
}

export class NotFoundError extends SidecarError {
  override readonly name = 'NotFoundError';
  constructor(message: string, data?: unknown) {
    super(message, ErrorCode.NotFound, data);
  }
}

export class InvalidStateError extends SidecarError {
  override readonly name = 'InvalidStateError';
  constructor(message: string, data?: unknown) {
    super(message, ErrorCode.InvalidState, data);
  }
}

/** Turns anything thrown into a sentence fit for a log line. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
