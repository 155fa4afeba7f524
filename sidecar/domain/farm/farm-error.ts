/**
 * The one error a render farm hand-off throws when the farm says no, is away, or answers in a way we cannot read.
 * Its message is one sentence that names the manager and what to do; `data` carries the facts a script switches on.
 */
import { SidecarError } from '../../errors.js';

export interface FarmErrorData {
  farm: 'flamenco';
  /** The manager's base URL, as configured. */
  url: string;
  /** What the sidecar was doing: 'fetch the job type', 'check the job', 'submit the job', ... */
  operation: string;
  /** The HTTP status, when the manager answered. */
  httpStatus?: number;
  /** The manager's own message (its `Error.message`), when it sent one. */
  reason?: string;
  /** Settings that no longer fit a changed job type. */
  problems?: string[];
}

export class FarmError extends SidecarError {
  override readonly name = 'FarmError';
  constructor(
    message: string,
    /** `ErrorCode.Unavailable` (unreachable, 5xx, unreadable reply), -32602 (the job was refused), `ErrorCode.NotFound` or `ErrorCode.InvalidState`. */
    rpcCode: number,
    override readonly data: FarmErrorData,
  ) {
    super(message, rpcCode, data);
  }
}
