/**
 * What `startSidecar` takes (what `blender-sidecar serve` and the demo pass, and what an embedding script may), and the
 * same with every default filled in and every number checked, so the wiring in app.ts reads settled values only.
 */
import { InvalidInputError } from './domain/errors.js';
import type { SlurmOptions } from './domain/farm/slurm/slurm-farm.js';
import { DEFAULT_RETENTION, type RetentionPolicy } from './domain/jobs/job-store.js';
import type { PlacementOptions } from './domain/workers/placement.js';
import type { ParentWatch } from './lifecycle.js';
import type { LogLevel } from './log.js';
import { defaultStateDir } from './state-dir.js';
import { defaultLimits, type TransportLimits } from './transport/server.js';

export interface SidecarOptions {
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  stateDir?: string;
  allowOrigins?: string[];
  allowHosts?: string[];
  /** The Blender(s) to use (`--blender`, repeatable): exactly these. Default: BLENDER, PATH and the usual install places. */
  blender?: string | string[];
  logLevel?: LogLevel;
  /** Log to stderr as well as to the state folder's sidecar.log (default true). */
  logToStderr?: boolean;
  limits?: Partial<TransportLimits>;
  /** Write sidecar.json (default true). An embedded sidecar for one CLI call may skip it. */
  discoverable?: boolean;
  /** Worker pool size: a number, or 'auto' (from cores and free memory; the default). */
  instances?: number | 'auto';
  /** Render threads per frame, fixed (default: they follow the work, see Placement). */
  threads?: number;
  /** Resident memory all workers together stay within (default: the machine's free memory less a margin). */
  memoryBudgetMB?: number;
  /** Start workers with factory settings instead of the user's preferences. */
  factorySettings?: boolean;
  /** Retire a worker idle this long (default 10 minutes). */
  idleRetireMs?: number;
  /** Recycle a worker after this many tasks (default 500). */
  recycleAfterTasks?: number;
  /** Start every worker at once, before any job: the first job then costs no Blender start-up. */
  warm?: boolean;
  /** Crash-loop protection: this many worker crashes within the window rest the pool (see SchedulerOptions). */
  crashLoop?: { count?: number; windowMs?: number; restMs?: number };
  /** The Flamenco manager render jobs with `farm: {kind: "flamenco"}` go to when they name no url. */
  flamencoUrl?: string;
  /** How often a farm job is polled (default 2 s). */
  farmPollMs?: number;
  /** Slurm: defaults for `farm: {kind: "slurm"}` jobs, where the commands are, and which storage the nodes share. */
  slurm?: Omit<SlurmOptions, 'log' | 'pollMs'>;
  /** Called once the sidecar has stopped on request (sidecar.stop): `serve` exits then. */
  onStopped?: (reason: string) => void;
  /** The process (Blender) this sidecar was started for: see lifecycle.ts for what its exit does. */
  parent?: ParentWatch;
  /** How long finished jobs are kept (default 30 days, at most 1,000). */
  retention?: Partial<RetentionPolicy>;
  /**
   * Leave finished jobs on disk unread at start (retention still applies, by their files' times): for a sidecar started
   * for one CLI command, which looks only at its own job. `job.list` and `job.get` then know only unfinished jobs and
   * the ones finished since.
   */
  skipFinishedJobs?: boolean;
  /** Disk watch thresholds (tests lower them). */
  disk?: { minFreeShare?: number; minFreeBytes?: number; intervalMs?: number };
}

/** The options with their defaults, in the shapes the parts they go to take. */
export interface Settings {
  options: SidecarOptions;
  stateDir: string;
  host: string;
  port: number;
  allowOrigins: string[];
  allowHosts: string[];
  /** Named Blenders, in order; empty: find them. */
  blenders: string[];
  logLevel: LogLevel;
  logToStderr: boolean;
  limits: TransportLimits;
  discoverable: boolean;
  instances: number | 'auto';
  placement: PlacementOptions;
  retention: RetentionPolicy;
}

const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

/** Fills in the defaults; throws InvalidInputError naming the option when one cannot be used. */
export function resolveOptions(options: SidecarOptions): Settings {
  checkNumbers(options);
  const logLevel = options.logLevel ?? 'info';
  if (!LOG_LEVELS.includes(logLevel))
    throw new InvalidInputError('logLevel', `must be ${LOG_LEVELS.join(', ')}, not ${JSON.stringify(logLevel)}`);
  return {
    options,
    stateDir: options.stateDir ?? defaultStateDir(),
    host: options.host ?? '127.0.0.1',
    port: options.port ?? 0,
    allowOrigins: options.allowOrigins ?? [],
    allowHosts: options.allowHosts ?? [],
    blenders: (Array.isArray(options.blender) ? options.blender : [options.blender]).filter((b): b is string => !!b),
    logLevel,
    logToStderr: options.logToStderr ?? true,
    limits: { ...defaultLimits, ...options.limits },
    discoverable: options.discoverable ?? true,
    instances: options.instances ?? 'auto',
    placement: { fixedThreads: options.threads, memoryBudgetBytes: options.memoryBudgetMB && options.memoryBudgetMB * 1024 ** 2 },
    retention: { ...DEFAULT_RETENTION, ...options.retention },
  };
}

/** The numbers an embedding script may get wrong, each against the range `serve`'s flags allow. */
function checkNumbers(o: SidecarOptions): void {
  const whole = (name: string, value: number | undefined, min: number, max = Number.MAX_SAFE_INTEGER) => {
    if (value === undefined) return;
    if (!Number.isInteger(value) || value < min || value > max) {
      const range = max === Number.MAX_SAFE_INTEGER ? `${min} or more` : `from ${min} to ${max}`;
      throw new InvalidInputError(name, `must be a whole number ${range}, not ${JSON.stringify(value)}`);
    }
  };
  whole('port', o.port, 0, 65535);
  if (o.instances !== 'auto' && o.instances !== undefined && !(Number.isInteger(o.instances) && o.instances >= 1 && o.instances <= 64)) {
    throw new InvalidInputError('instances', `must be 'auto' or a whole number from 1 to 64, not ${JSON.stringify(o.instances)}`);
  }
  whole('threads', o.threads, 1, 1024);
  whole('memoryBudgetMB', o.memoryBudgetMB, 64);
  whole('idleRetireMs', o.idleRetireMs, 1);
  whole('recycleAfterTasks', o.recycleAfterTasks, 1);
  whole('farmPollMs', o.farmPollMs, 1);
  whole('retention.keepDays', o.retention?.keepDays, 0, 36_500);
  whole('retention.keepFinished', o.retention?.keepFinished, 0, 1_000_000);
}
