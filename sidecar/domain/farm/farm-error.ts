/**
 * The one error a render farm hand-off throws when the farm says no, is away, or answers in a way we cannot read.
 * Its message is one sentence that names the manager and what to do; `data` carries the facts a script switches on.
 */
import { DomainError, type ErrorKind } from '../errors.js';

export interface FarmErrorData {
  farm: 'flamenco' | 'slurm';
  /** The manager's base URL, as configured (Flamenco). */
  url?: string;
  /** The command that said no, as run (Slurm: `sbatch ...`). */
  command?: string;
  /** What the sidecar was doing: 'fetch the job type', 'check the job', 'submit the job', ... */
  operation: string;
  /** The HTTP status, when the manager answered. */
  httpStatus?: number;
  /** The farm's own words (the manager's `Error.message`, sbatch's stderr), when it said something. */
  reason?: string;
  /** Settings that no longer fit a changed job type. */
  problems?: string[];
}

export class FarmError extends DomainError {
  override readonly name = 'FarmError';
  constructor(
    message: string,
    /** `unavailable` (unreachable, 5xx, unreadable reply), `bad-input` (the job was refused), `not-found` or `invalid-state`. */
    kind: ErrorKind,
    override readonly data: FarmErrorData,
  ) {
    super(kind, message, data);
  }
}
