/**
 * Follows one job to its end through notifications, showing its progress; Ctrl-C cancels it. Resolves with the job
 * as it ended.
 */
import type { Result } from '../api/spec/index.js';
import type { SidecarClient } from '../client/sidecar-client.js';
import type { ProgressView } from './progress.js';

export type JobResult = Result<'job.get'>;

export async function followJob(client: SidecarClient, jobId: string, view: ProgressView): Promise<JobResult> {
  await client.subscribe(['job.progress', 'job.state', 'worker.stats']);
  const offs = [
    client.on('job.progress', (p) => p.jobId === jobId && view.onProgress(p)),
    client.on('worker.stats', (s) => view.onWorkers(s)),
    client.on('job.state', (s) => s.jobId === jobId && s.state !== 'queued' && view.onState(s.state, s.error)),
  ];
  let interrupted = false;
  const onSigint = () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    view.message('canceling (Ctrl-C again to quit at once)...');
    void client.call('job.cancel', { jobId }).catch(() => undefined);
  };
  process.on('SIGINT', onSigint);
  try {
    // Catch up with what happened before the subscription took effect.
    view.onProgress((await client.call('job.get', { jobId })).progress);
    for (;;) {
      const job = await client.call('job.wait', { jobId, timeoutMs: 30_000 }, { timeoutMs: 40_000 });
      if (job.state === 'completed' || job.state === 'failed' || job.state === 'canceled') {
        view.onProgress(job.progress);
        view.finish();
        return job;
      }
    }
  } finally {
    process.off('SIGINT', onSigint);
    for (const off of offs) off();
  }
}
