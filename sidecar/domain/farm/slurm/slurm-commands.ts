/**
 * Slurm's client commands (sbatch, squeue, scancel), run as a user would run them, with their output parsed. Every
 * failure becomes one sentence that carries Slurm's own words (its stderr), so a missing partition, an unknown
 * account or a munge that is down reads as Slurm said it.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { FarmError } from '../farm-error.js';

export interface SlurmCommandOptions {
  /** The folder holding sbatch, squeue and scancel (serve --slurm-bin); default: found on PATH. */
  binDir?: string;
  /** Extra environment (SLURM_CONF for a cluster other than the machine's default). */
  env?: NodeJS.ProcessEnv;
}

/** One array task as squeue lists it. */
export interface TaskState {
  /** The array's job id (the one sbatch printed). */
  arrayJobId: string;
  /** The array index: our chunk number. */
  taskId: number;
  /** Slurm's state name: PENDING, RUNNING, COMPLETED, FAILED, CANCELLED, TIMEOUT, NODE_FAIL, OUT_OF_MEMORY, ... */
  state: string;
  /** Why it waits or why it ended (Priority, Resources, NonZeroExitCode, ...); "None" when there is none. */
  reason: string;
}

const TIMEOUT_MS = 30_000;

// Words in Slurm's messages that mean "the cluster could not be asked", not "the cluster said no".
const AWAY =
  /unable to contact slurm controller|munge|authentication|auth\/|socket timed out|connection refused|zero bytes were transmitted/i;

export class SlurmCommands {
  constructor(private readonly options: SlurmCommandOptions = {}) {}

  private path(command: string): string {
    return this.options.binDir ? join(this.options.binDir, command) : command;
  }

  /** Runs `command args`; resolves with stdout, or throws a FarmError saying what `doing` failed and why, in Slurm's words. */
  run(command: string, args: string[], doing: string): Promise<string> {
    const shown = `${command} ${args.join(' ')}`;
    return new Promise((resolve, reject) => {
      execFile(
        this.path(command),
        args,
        { encoding: 'utf8', timeout: TIMEOUT_MS, env: { ...process.env, ...this.options.env }, maxBuffer: 16 * 1024 * 1024 },
        (err, stdout, stderr) => {
          if (!err) return resolve(stdout);
          const code = (err as NodeJS.ErrnoException).code;
          if (code === 'ENOENT') {
            const where = this.options.binDir ? `in ${this.options.binDir} (--slurm-bin)` : 'on PATH';
            return reject(
              new FarmError(
                `${command} was not found ${where}, so the sidecar cannot ${doing}; install Slurm's client commands on this machine (Debian: slurm-client), or start the sidecar with --slurm-bin DIR`,
                'unavailable',
                { farm: 'slurm', operation: doing, command: shown },
              ),
            );
          }
          if ((err as { killed?: boolean }).killed) {
            return reject(
              new FarmError(
                `${command} did not answer within ${TIMEOUT_MS / 1000} s when asked to ${doing}; is the Slurm controller overloaded?`,
                'unavailable',
                { farm: 'slurm', operation: doing, command: shown },
              ),
            );
          }
          const said = slurmWords(stderr) || slurmWords(stdout) || `exit status ${String((err as { code?: unknown }).code)}`;
          const away = AWAY.test(said);
          reject(
            new FarmError(
              away
                ? `Slurm could not be reached to ${doing}: ${said}; check that munge and slurmctld are running and that SLURM_CONF points at the cluster`
                : `Slurm refused to ${doing}: ${said}`,
              away ? 'unavailable' : 'bad-input',
              { farm: 'slurm', operation: doing, command: shown, reason: said },
            ),
          );
        },
      );
    });
  }

  /** Submits a batch script; resolves with the job id sbatch printed. */
  async sbatch(args: string[]): Promise<string> {
    const out = await this.run('sbatch', ['--parsable', ...args], 'submit the job');
    // --parsable prints "jobid" or "jobid;cluster".
    const id = out.trim().split(/\r?\n/).at(-1)?.split(';')[0] ?? '';
    if (!/^\d+$/.test(id))
      throw new FarmError(`sbatch answered "${out.trim()}" instead of a job id`, 'unavailable', {
        farm: 'slurm',
        operation: 'submit the job',
      });
    return id;
  }

  /**
   * Every array task of job `arrayJobId`, one per task (pending ones too, thanks to -r), finished ones while Slurm
   * still keeps them (MinJobAge). Undefined when Slurm no longer knows the job at all. squeue's text output is used,
   * not --json: in 22.05 --json ignores -j and folds pending tasks into one record.
   */
  async tasks(arrayJobId: string): Promise<TaskState[] | undefined> {
    try {
      const out = await this.run('squeue', ['-h', '-r', '-t', 'all', '-j', arrayJobId, '-o', '%F|%K|%T|%r'], "ask for the job's tasks");
      return parseSqueue(out);
    } catch (err) {
      if (err instanceof FarmError && /invalid job id/i.test(err.data.reason ?? '')) return undefined;
      throw err;
    }
  }

  /** Cancels every running and pending task of the jobs. */
  async scancel(jobIds: string[]): Promise<void> {
    if (jobIds.length > 0) await this.run('scancel', jobIds, 'cancel the job');
  }
}

/** squeue -o '%F|%K|%T|%r' lines into task states (a job that is no array has task id "N/A": it is task 0). */
export function parseSqueue(out: string): TaskState[] {
  const tasks: TaskState[] = [];
  for (const line of out.split(/\r?\n/)) {
    const [arrayJobId, taskId, state, reason] = line.trim().split('|');
    if (!arrayJobId || !state) continue;
    const n = Number(taskId);
    tasks.push({ arrayJobId, taskId: Number.isInteger(n) ? n : 0, state: state.replace(/\+$/, ''), reason: reason ?? 'None' });
  }
  return tasks;
}

/** Slurm's message lines without the "sbatch: error: " prefixes, each once (sbatch repeats itself when it retries). */
function slurmWords(text: string): string {
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.replace(/^\w+: (error|fatal): /, '').trim())
    .filter(Boolean);
  return [...new Set(lines)].join('; ');
}
