import { startSidecar } from '../../app.js';
import type { LogLevel } from '../../log.js';
import { intFlag, UsageError, type Command } from '../command.js';
import { slurmFlags } from './slurm-flags.js';

export const serveCommand: Command = {
  name: 'serve',
  summary: 'Run the sidecar: JSON-RPC over WebSocket on ws://127.0.0.1:PORT/rpc, with /healthz and /metrics on the same port.',
  usage: 'serve [--port N|0] [--host H] [--state-dir DIR] [--blender PATH ...] [--parent-pid PID [--stop-with-parent]]',
  options: {
    port: { type: 'string', valueName: 'N', description: 'Port to listen on; 0 (the default) picks a free one.' },
    host: {
      type: 'string',
      valueName: 'H',
      description: 'Address to bind (default 127.0.0.1). Anything else is reachable by others: a warning is printed.',
    },
    'state-dir': {
      type: 'string',
      valueName: 'DIR',
      description: 'Where sidecar.json, the job store and the log live (default: $XDG_STATE_HOME/blender-sidecar).',
    },
    'allow-origin': {
      type: 'string',
      multiple: true,
      valueName: 'ORIGIN',
      description: 'Accept WebSocket connections from this browser Origin (repeatable).',
    },
    'allow-host': {
      type: 'string',
      multiple: true,
      valueName: 'HOST:PORT',
      description: 'Accept this Host header too (repeatable), when bound to another interface.',
    },
    blender: {
      type: 'string',
      multiple: true,
      valueName: 'PATH',
      description:
        'A Blender to run: a path, a wrapper script or a command name in PATH (repeatable: then exactly these). Default: $BLENDER, every blender in PATH and the usual install places. Each job runs on the one its file needs.',
    },
    'log-level': { type: 'string', valueName: 'LEVEL', description: 'debug, info (default), warn or error.' },
    instances: {
      type: 'string',
      valueName: 'auto|N',
      description: 'Blender workers to run at most (default auto: from cores and free memory).',
    },
    threads: {
      type: 'string',
      valueName: 'N',
      description: 'Render threads per frame, fixed (default: they follow the work: a frame rendering alone takes every core).',
    },
    'memory-budget': {
      type: 'string',
      valueName: 'MB',
      description:
        "Resident memory all workers together stay within: a job gets another worker only while one more of the size its workers measured fits (default: the machine's free memory less a margin).",
    },
    'factory-settings': {
      type: 'boolean',
      description: 'Start workers with factory settings, not your preferences (GPU device choice lives there).',
    },
    warm: { type: 'boolean', description: 'Start the workers now, not with the first job (then kept until --idle-retire).' },
    'idle-retire': { type: 'string', valueName: 'SECONDS', description: 'Stop a worker idle this long (default 600).' },
    'flamenco-url': {
      type: 'string',
      valueName: 'URL',
      description: 'The Flamenco manager that render jobs with farm: {kind: "flamenco"} go to.',
    },
    'slurm-partition': {
      type: 'string',
      valueName: 'NAME',
      description: 'Slurm: the partition farm: {kind: "slurm"} jobs go to unless they name one (default: the cluster\'s).',
    },
    'slurm-account': { type: 'string', valueName: 'NAME', description: 'Slurm: the account charged unless a job names one.' },
    'slurm-qos': { type: 'string', valueName: 'NAME', description: 'Slurm: the QOS unless a job names one.' },
    'slurm-time-limit': {
      type: 'string',
      valueName: 'TIME',
      description: 'Slurm: the time limit per task unless a job names one (minutes, or [days-]hours:minutes:seconds).',
    },
    'slurm-chunk-size': { type: 'string', valueName: 'N', description: 'Slurm: frames per array task unless a job says (default 1).' },
    'slurm-max-parallel': {
      type: 'string',
      valueName: 'N',
      description: 'Slurm: at most this many tasks of a job at once unless a job says.',
    },
    'slurm-cpus-per-task': { type: 'string', valueName: 'N', description: 'Slurm: CPUs per task unless a job says.' },
    'slurm-mem-per-cpu': { type: 'string', valueName: 'SIZE', description: 'Slurm: memory per CPU unless a job says, e.g. 4G.' },
    'slurm-gres': { type: 'string', valueName: 'LIST', description: 'Slurm: generic resources per task unless a job says, e.g. gpu:1.' },
    'slurm-blender': {
      type: 'string',
      valueName: 'PATH',
      description: 'Slurm: the Blender executable on the nodes (default: blender on their PATH).',
    },
    'slurm-bin': { type: 'string', valueName: 'DIR', description: 'Slurm: the folder with sbatch, squeue and scancel (default: PATH).' },
    'slurm-shared': {
      type: 'string',
      multiple: true,
      valueName: 'DIR',
      description: 'Slurm: a folder the nodes share, at the same path (repeatable); jobs with paths elsewhere are refused.',
    },
    'farm-dir': {
      type: 'string',
      valueName: 'DIR',
      description:
        "Where the files farm nodes need (worker scripts, job script, logs) go, on shared storage (default: .sidecar-farm/ beside each job's frames).",
    },
    'parent-pid': {
      type: 'string',
      valueName: 'PID',
      description:
        "The process this sidecar serves (the add-on passes Blender's pid). When it exits, jobs finish, then the sidecar stops once it has had no jobs and no clients for --grace-period.",
    },
    'stop-with-parent': {
      type: 'boolean',
      description: 'With --parent-pid: stop at once when that process exits, interrupting jobs (they resume at the next start).',
    },
    'grace-period': {
      type: 'string',
      valueName: 'SECONDS',
      description: 'With --parent-pid: how long to stay with no jobs and no clients after it exited (default 60).',
    },
    'keep-jobs-days': { type: 'string', valueName: 'DAYS', description: 'Prune finished jobs older than this (default 30).' },
    'keep-jobs': { type: 'string', valueName: 'N', description: 'Keep at most this many finished jobs, newest first (default 1000).' },
  },
  epilog: 'Example:\n  blender-sidecar serve --port 8765\n  blender-sidecar call sidecar.info',
  async run({ values }) {
    const port = intFlag(values, 'port', { min: 0, max: 65535 }) ?? 0;
    const level = (values['log-level'] as string | undefined) ?? 'info';
    if (!['debug', 'info', 'warn', 'error'].includes(level))
      throw new UsageError(`--log-level must be debug, info, warn or error, not "${level}"`);
    const parentPid = intFlag(values, 'parent-pid', { min: 1 });
    let stopRequested: ((reason: string) => void) | undefined;
    const instances = parseInstances(values.instances as string | undefined);
    const threads = intFlag(values, 'threads', { min: 1, max: 1024 });
    const memoryBudgetMB = intFlag(values, 'memory-budget', { min: 64 });
    const idleRetire = intFlag(values, 'idle-retire', { min: 1 });
    const grace = intFlag(values, 'grace-period', { min: 0, max: 86_400 });
    const keepDays = intFlag(values, 'keep-jobs-days', { min: 0, max: 36_500 });
    const keepJobs = intFlag(values, 'keep-jobs', { min: 0, max: 1_000_000 });
    if (!parentPid && (values['stop-with-parent'] === true || grace !== undefined)) {
      throw new UsageError('--stop-with-parent and --grace-period go with --parent-pid');
    }
    const sidecar = await startSidecar({
      port,
      host: values.host as string | undefined,
      stateDir: values['state-dir'] as string | undefined,
      allowOrigins: values['allow-origin'] as string[] | undefined,
      allowHosts: values['allow-host'] as string[] | undefined,
      blender: values.blender as string[] | undefined,
      logLevel: level as LogLevel,
      instances,
      threads,
      memoryBudgetMB,
      factorySettings: values['factory-settings'] === true,
      warm: values.warm === true,
      idleRetireMs: idleRetire === undefined ? undefined : idleRetire * 1000,
      onStopped: (reason) => stopRequested?.(reason),
      flamencoUrl: values['flamenco-url'] as string | undefined,
      slurm: slurmFlags(values),
      parent: parentPid
        ? { parentPid, stopWithParent: values['stop-with-parent'] === true, graceMs: grace === undefined ? undefined : grace * 1000 }
        : undefined,
      retention: { ...(keepDays !== undefined ? { keepDays } : {}), ...(keepJobs !== undefined ? { keepFinished: keepJobs } : {}) },
    });
    // Signal handlers go in before the address is printed: whoever reads that line may signal at once.
    const stopped = new Promise<void>((resolve) => {
      const stop = (reason: string) => {
        void sidecar.close(reason).then(resolve);
      };
      stopRequested = () => resolve();
      process.once('SIGINT', () => stop('SIGINT'));
      process.once('SIGTERM', () => stop('SIGTERM'));
    });
    process.stdout.write(`listening on ${sidecar.url}\n`);
    if (sidecar.discoveryFile) process.stdout.write(`discovery file: ${sidecar.discoveryFile}\n`);
    await stopped;
    return 0;
  },
};

export function parseInstances(raw: string | undefined): number | 'auto' | undefined {
  if (raw === undefined || raw === 'auto') return raw;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 64)
    throw new UsageError(`--instances must be auto or a whole number from 1 to 64, not "${raw}"`);
  return n;
}
