/**
 * Where a job stands, as job.get and the job.progress notification report it: units by state, what each busy worker
 * is on, the rate over the last minute and the ETA it gives, and per-node counts for pipelines.
 */
import { countUnits, TERMINAL, type JobRecord, type JobState, type NodeProgress } from './job.js';
import type { SampleProgress } from '../render/render-stats.js';
import type { JobRunner } from './runner.js';

export interface RunningUnit {
  worker: string;
  pid: number;
  key: number | null;
  label: string;
  startedAt: string;
  /** A rendering frame's samples, once Blender reports them. */
  samples?: SampleProgress;
}

export interface JobProgress {
  jobId: string;
  kind: JobRecord['kind'];
  state: JobState;
  total: number;
  done: number;
  skipped: number;
  failed: number;
  running: RunningUnit[];
  unitsPerSecond: number;
  etaSeconds: number | null;
  last?: { key: number; label: string; output?: string; preview?: string };
  /** Why the job runs on fewer workers than it could, when memory is the reason. */
  placement?: string;
  /** Per pipeline node, by node id (pipeline jobs only). */
  nodes?: Record<string, NodeProgress>;
}

/** What only a running job knows: its finished-unit times, its last finished unit, its busy workers. */
export interface LiveProgress {
  finishTimes: readonly number[];
  last?: JobProgress['last'];
  running: RunningUnit[];
  placement?: string;
}

export function jobProgress(
  record: JobRecord,
  runner: Pick<JobRunner, 'nodeProgress'> | undefined,
  live: LiveProgress | undefined,
): JobProgress {
  const c = countUnits(record);
  const now = Date.now();
  let rate = 0;
  if (live && live.finishTimes.length > 0) {
    const windowStart = Math.max(now - 60_000, Date.parse(record.startedAt ?? record.createdAt));
    const recent = live.finishTimes.filter((t) => t >= windowStart);
    const span = (now - windowStart) / 1000;
    rate = span > 0 ? recent.length / span : 0;
  }
  const remaining = c.pending + c.running;
  return {
    jobId: record.id,
    kind: record.kind,
    state: record.state,
    total: c.total,
    done: c.done,
    skipped: c.skipped,
    failed: c.failed,
    running: live?.running ?? [],
    unitsPerSecond: Math.round(rate * 1000) / 1000,
    etaSeconds: TERMINAL.has(record.state) ? 0 : rate > 0 ? Math.round(remaining / rate) : null,
    last: live?.last,
    ...(live?.placement && !TERMINAL.has(record.state) ? { placement: live.placement } : {}),
    ...(runner?.nodeProgress ? { nodes: runner.nodeProgress(record) } : {}),
  };
}
