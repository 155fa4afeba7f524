/**
 * Slurm's task states in the sidecar's words: where a task stands (waiting, running, ended), and for an ended task
 * what became of its frames and whether trying again can help.
 */
import type { AttemptOutcome } from '../../jobs/job.js';

export type TaskPhase = 'waiting' | 'running' | 'ended';

export interface EndedTask {
  /** completed: look at the frames; failed: retry what is missing; canceled: someone canceled it on the cluster. */
  kind: 'completed' | 'failed' | 'canceled';
  outcome: AttemptOutcome;
  /** What happened, as the end of "the Slurm task 12_3 ..." */
  words: string;
}

const WAITING = new Set(['PENDING', 'REQUEUED', 'REQUEUE_HOLD', 'REQUEUE_FED', 'RESV_DEL_HOLD', 'SUSPENDED', 'STOPPED']);
const RUNNING = new Set(['RUNNING', 'CONFIGURING', 'COMPLETING', 'STAGE_OUT', 'SIGNALING', 'RESIZING']);

const ENDED: Readonly<Record<string, EndedTask>> = {
  COMPLETED: { kind: 'completed', outcome: 'done', words: 'completed' },
  FAILED: { kind: 'failed', outcome: 'crashed', words: 'failed (a non-zero exit status)' },
  TIMEOUT: { kind: 'failed', outcome: 'hung', words: 'reached its time limit (raise farm.timeLimit, or make chunks smaller)' },
  OUT_OF_MEMORY: { kind: 'failed', outcome: 'out-of-memory', words: 'ran out of memory (raise farm.memPerCpu)' },
  NODE_FAIL: { kind: 'failed', outcome: 'lost', words: 'was lost when its node failed' },
  BOOT_FAIL: { kind: 'failed', outcome: 'lost', words: 'could not start: its node failed to boot' },
  PREEMPTED: { kind: 'failed', outcome: 'lost', words: 'was preempted by a job of higher priority' },
  DEADLINE: { kind: 'failed', outcome: 'lost', words: 'was ended by its deadline' },
  CANCELLED: { kind: 'canceled', outcome: 'canceled', words: 'was cancelled on the cluster (scancel)' },
  REVOKED: { kind: 'canceled', outcome: 'canceled', words: 'was revoked by the cluster' },
};

export function phaseOf(state: string): TaskPhase {
  if (WAITING.has(state)) return 'waiting';
  if (RUNNING.has(state)) return 'running';
  return 'ended';
}

/** How an ended task ended; an unknown state counts as a failure that a retry may get past. */
export function endOf(state: string): EndedTask {
  return ENDED[state] ?? { kind: 'failed', outcome: 'lost', words: `ended in the state ${state}` };
}

/** "pending (Resources)" for a waiting task, in words an artist can act on. */
export function waitingWords(state: string, reason: string): string {
  const why = reason && reason !== 'None' ? ` (${REASONS[reason] ?? reason})` : '';
  return `${state.toLowerCase()}${why}`;
}

const REASONS: Readonly<Record<string, string>> = {
  Priority: 'jobs of higher priority go first',
  Resources: 'waiting for free CPUs, memory or GPUs',
  JobArrayTaskLimit: 'maxParallel tasks already run',
  QOSMaxJobsPerUserLimit: 'the QOS limit of jobs per user is reached',
  ReqNodeNotAvail: 'the nodes it needs are not available',
  PartitionDown: 'the partition is down',
  BeginTime: 'waiting for its start time',
};
