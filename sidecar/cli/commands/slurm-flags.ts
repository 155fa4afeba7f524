/** serve's --slurm-* and --farm-dir flags, checked with the same schema as render.submit's `farm` field. */
import { isAbsolute } from 'node:path';
import type { SlurmOptions } from '../../domain/farm/slurm/slurm-farm.js';
import { slurmParam } from '../../domain/farm/farm-param.js';
import { intFlag, UsageError } from '../command.js';

const STRING_FLAGS = {
  'slurm-partition': 'partition',
  'slurm-account': 'account',
  'slurm-qos': 'qos',
  'slurm-time-limit': 'timeLimit',
  'slurm-mem-per-cpu': 'memPerCpu',
  'slurm-gres': 'gres',
  'slurm-blender': 'blender',
} as const;

export function slurmFlags(values: Record<string, unknown>): Omit<SlurmOptions, 'log' | 'pollMs'> {
  const defaults: Record<string, unknown> = { kind: 'slurm' };
  for (const [flag, field] of Object.entries(STRING_FLAGS)) if (values[flag] !== undefined) defaults[field] = values[flag];
  defaults.chunkSize = intFlag(values, 'slurm-chunk-size', { min: 1, max: 10_000 });
  defaults.maxParallel = intFlag(values, 'slurm-max-parallel', { min: 1, max: 10_000 });
  defaults.cpusPerTask = intFlag(values, 'slurm-cpus-per-task', { min: 1, max: 1024 });
  const checked = slurmParam.safeParse(defaults);
  if (!checked.success) {
    const issue = checked.error.issues[0]!;
    const flag = Object.entries(STRING_FLAGS).find(([, f]) => f === issue.path[0])?.[0] ?? String(issue.path[0]);
    throw new UsageError(`--${flag}: ${issue.message}`);
  }
  const { kind: _kind, ...rest } = checked.data;
  const folders = (name: string, list: string[]) => {
    for (const dir of list) if (!isAbsolute(dir)) throw new UsageError(`--${name} must be an absolute path, not "${dir}"`);
    return list;
  };
  const farmDir = values['farm-dir'] as string | undefined;
  return {
    defaults: rest,
    binDir: values['slurm-bin'] as string | undefined,
    farmDir: farmDir === undefined ? undefined : folders('farm-dir', [farmDir])[0],
    sharedRoots: values['slurm-shared'] === undefined ? undefined : folders('slurm-shared', values['slurm-shared'] as string[]),
  };
}
