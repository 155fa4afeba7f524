/** What a Slurm job keeps in its `plan` (persisted with the job), so a restarted sidecar can follow it again. */

export interface SlurmChunk {
  /** The array index of this chunk's task. */
  index: number;
  frames: number[];
  /** The array job ids that ran this chunk, oldest first; the last one is current (a retry is a new array). */
  jobIds: string[];
  /** ended: its task ended and its frames are settled (done, or failed for good). */
  state: 'waiting' | 'running' | 'ended';
  /** Why it waits ("pending (Resources)"), while it waits. */
  waiting?: string;
  /** When the sidecar first saw its task completed with frames still missing (see SlurmFollower's grace). */
  missingSince?: string;
}

export interface SlurmPlan {
  farm: 'slurm';
  /** The first array's job id (the one sbatch printed at submit). */
  farmJobId: string;
  /** The folder with the job's node files (worker scripts, job.json, render.sh, logs/). */
  farmDir: string;
  script: string;
  /** sbatch options every array of this job is submitted with (all but --array). */
  sbatchArgs: string[];
  maxParallel?: number;
  maxRetries: number;
  scene?: string;
  format: string;
  extension: string;
  outputPattern: string;
  chunks: SlurmChunk[];
  /** Set when job.cancel asked Slurm to cancel: a CANCELLED task is then ours, not someone else's. */
  canceled?: boolean;
  [key: string]: unknown;
}

export function taskName(jobId: string, index: number): string {
  return `${jobId}_${index}`;
}

/** `0-3%2`, `1,4%2`: the --array value for these chunk indices. */
export function arraySpec(indices: number[], maxParallel: number | undefined): string {
  const sorted = [...indices].sort((a, b) => a - b);
  const contiguous = sorted.every((v, i) => i === 0 || v === sorted[i - 1]! + 1);
  const list = contiguous && sorted.length > 1 ? `${sorted[0]}-${sorted.at(-1)}` : sorted.join(',');
  return maxParallel ? `${list}%${maxParallel}` : list;
}
