/**
 * The Slurm farm module: a render job becomes one job array, one task per chunk of frames, each task running Blender
 * with the sidecar's own worker code (see job-files.ts). Submitting happens before render.submit answers, so sbatch's
 * refusal (an unknown partition or account, a munge that is down, no sbatch at all) is the caller's error, in
 * Slurm's words; following, retries and cancel are SlurmFollower's.
 */
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import { InvalidInputError } from '../../errors.js';
import type { JobRecord, WorkUnit } from '../../jobs/job.js';
import type { LiveProgress } from '../../jobs/progress.js';
import { parseFrames } from '../../render/frame-range.js';
import { framePath, resolveOutputPattern } from '../../render/output-path.js';
import { normalizeImageFormat, type RenderParams } from '../../render/render-request.js';
import { imageExtension } from '../../verify/image.js';
import type { ExternalJobHost, Farm, FarmOptions } from '../farm.js';
import type { SlurmParam } from '../farm-param.js';
import { frameFiles, jobFolder, logPattern, removeJobFolder, removeWorkerCopy, writeJobFiles, type JobSpec } from './job-files.js';
import { SlurmCommands, type SlurmCommandOptions } from './slurm-commands.js';
import { SlurmFollower } from './slurm-follower.js';
import { arraySpec, type SlurmPlan } from './slurm-plan.js';

export interface SlurmOptions extends FarmOptions, SlurmCommandOptions {
  /** Defaults for `farm` fields a request leaves out (serve --slurm-partition, --slurm-blender, ...). */
  defaults?: Partial<Omit<SlurmParam, 'kind'>>;
  /** Where node files go (serve --farm-dir); default: `.sidecar-farm/JOB/` beside the frames. */
  farmDir?: string;
  /** Folders the nodes share (serve --slurm-shared); when given, a job's paths must lie inside one of them. */
  sharedRoots?: string[];
}

// Settings the local pool has and a Slurm task does not, with what to use instead.
const NOT_ON_SLURM: Readonly<Record<string, string>> = {
  instances: 'use farm.maxParallel',
  memoryLimitMB: 'use farm.memPerCpu: Slurm enforces memory itself',
  cpuFallback: 'a Slurm task renders with what its node has; ask for GPUs with farm.gres',
  temporaryBlendFile: 'the copy is in a local temporary folder the nodes cannot read; save the file on shared storage',
};

const MAX_CHUNKS = 1000; // Slurm's default MaxArraySize is 1001 (indices 0-1000)

export class SlurmFarm implements Farm {
  readonly kind = 'slurm';
  private readonly commands: SlurmCommands;
  private readonly followers = new Map<string, SlurmFollower>();

  constructor(private readonly options: SlurmOptions) {
    this.commands = new SlurmCommands(options);
  }

  async submit(record: JobRecord): Promise<void> {
    const p = record.params as RenderParams & { farm: SlurmParam; gnValues?: unknown };
    const farm = { ...this.options.defaults, ...p.farm };
    for (const [key, instead] of Object.entries(NOT_ON_SLURM)) {
      const value = (p as Record<string, unknown>)[key];
      if (value !== undefined && value !== false) throw new InvalidInputError(key, `cannot be honored on a Slurm cluster: ${instead}`);
    }
    if (!p.frames) throw new InvalidInputError('frames', 'is required for a farm job: the nodes read the file, not this machine');
    const frames = parseFrames(p.frames);
    const format = normalizeImageFormat(p.format ?? 'PNG');
    const extension = imageExtension(format);
    const pattern = resolveOutputPattern(p.output, p.blendFile);
    const folder = jobFolder(record.id, pattern, this.options.farmDir);
    this.refuseUnshared({ blendFile: p.blendFile, output: pattern, preRenderScript: p.preRenderScript, farmDir: folder });

    const units: WorkUnit[] = frames.map((f) => {
      const output = framePath(pattern, f, extension);
      const skip = !p.overwrite && onDisk(output);
      return { key: f, label: `frame ${f}`, state: skip ? 'skipped' : 'pending', attempts: [], output };
    });
    const todo = units.filter((u) => u.state === 'pending').map((u) => u.key);
    const chunkSize = farm.chunkSize ?? 1;
    const chunks: number[][] = [];
    for (let i = 0; i < todo.length; i += chunkSize) chunks.push(todo.slice(i, i + chunkSize));
    if (chunks.length > MAX_CHUNKS) {
      throw new InvalidInputError(
        'farm.chunkSize',
        `${todo.length} frames in chunks of ${chunkSize} make ${chunks.length} tasks, more than a Slurm array holds by default (${MAX_CHUNKS}); raise chunkSize to ${Math.ceil(todo.length / MAX_CHUNKS)} or more`,
      );
    }
    try {
      mkdirSync(resolve(pattern, '..'), { recursive: true });
    } catch (err) {
      throw new InvalidInputError(
        'output',
        `the folder ${resolve(pattern, '..')} cannot be created here (${(err as NodeJS.ErrnoException).code}); the sidecar checks and renames the frames there, so it must see that storage too`,
      );
    }
    // Hidden files of an earlier job on this output that nobody took (canceled, say) must not pass for this job's.
    for (const u of units) {
      const files = frameFiles(u.output!);
      for (const stale of [files.partial, files.rendered, files.result]) rmSync(stale, { force: true });
    }

    const spec = jobSpec(record.id, record.createdAt, p, units, chunks, format);
    const plan: SlurmPlan = {
      farm: 'slurm',
      farmJobId: '',
      farmDir: folder,
      script: '',
      sbatchArgs: sbatchArgs(record.id, folder, farm),
      maxParallel: farm.maxParallel,
      maxRetries: p.maxRetries ?? 2,
      scene: p.scene,
      format,
      extension,
      outputPattern: pattern,
      chunks: chunks.map((c, index) => ({ index, frames: c, jobIds: [], state: 'waiting' })),
    };
    if (chunks.length > 0) {
      plan.script = writeJobFiles(folder, spec, farm.blender ?? 'blender');
      try {
        plan.farmJobId = await this.commands.sbatch([
          ...plan.sbatchArgs,
          `--array=${arraySpec(
            chunks.map((_, i) => i),
            farm.maxParallel,
          )}`,
          plan.script,
        ]);
      } catch (err) {
        removeJobFolder(folder); // nothing was stored on the cluster; leave nothing here either
        throw err;
      }
      for (const c of plan.chunks) c.jobIds.push(plan.farmJobId);
      this.options.log('info', `job ${record.id}: Slurm job ${plan.farmJobId}, ${chunks.length} tasks of up to ${chunkSize} frames`);
    }
    record.plan = plan;
    record.units = units;
  }

  follow(record: JobRecord, host: ExternalJobHost): void {
    this.followers.get(record.id)?.stop();
    const plan = record.plan as SlurmPlan;
    const ended: ExternalJobHost = {
      ...host,
      finish: (state, error) => {
        removeWorkerCopy(plan.farmDir);
        host.finish(state, error);
      },
    };
    const follower = new SlurmFollower(record, ended, this.commands, { pollMs: this.options.pollMs ?? 2000, log: this.options.log });
    this.followers.set(record.id, follower);
    void follower.run().finally(() => {
      if (this.followers.get(record.id) === follower) this.followers.delete(record.id);
    });
  }

  async cancel(record: JobRecord): Promise<void> {
    const plan = record.plan as SlurmPlan | undefined;
    if (!plan) return;
    plan.canceled = true;
    this.followers.get(record.id)?.stop();
    this.followers.delete(record.id);
    const current = [
      ...new Set(
        plan.chunks
          .filter((c) => c.state !== 'ended')
          .map((c) => c.jobIds.at(-1)!)
          .filter(Boolean),
      ),
    ];
    await this.commands.scancel(current);
    removeWorkerCopy(plan.farmDir);
  }

  live(record: JobRecord): LiveProgress | undefined {
    return this.followers.get(record.id)?.live();
  }

  stopAll(): void {
    for (const f of this.followers.values()) f.stop();
    this.followers.clear();
  }

  /** Refuses paths the nodes cannot read: outside the shared folders when the sidecar knows them, or relative. */
  private refuseUnshared(paths: Record<string, string | undefined>): void {
    const roots = this.options.sharedRoots ?? [];
    for (const [field, path] of Object.entries(paths)) {
      if (!path) continue;
      if (!isAbsolute(path)) throw new InvalidInputError(field, `"${path}" must be an absolute path that the cluster's nodes can read`);
      if (roots.length > 0 && !roots.some((root) => inside(path, root))) {
        throw new InvalidInputError(
          field === 'farmDir' ? 'farm' : field,
          `${path} is not on the storage the cluster's nodes share (${roots.join(', ')}); save it there${field === 'farmDir' ? ', or start the sidecar with --farm-dir on that storage' : ''}`,
        );
      }
    }
  }
}

/** What the nodes read: each chunk's frames, each frame's files, and the render task as a local worker gets it. */
function jobSpec(
  jobId: string,
  createdAt: string,
  p: RenderParams & { gnValues?: unknown },
  units: WorkUnit[],
  chunks: number[][],
  format: string,
): JobSpec {
  return {
    jobId,
    chunks,
    files: Object.fromEntries(units.map((u) => [String(u.key), frameFiles(u.output!)])),
    notBefore: Date.parse(createdAt) / 1000,
    task: {
      kind: 'render',
      blendFile: p.blendFile,
      jobKey: jobId,
      scene: p.scene,
      camera: p.camera,
      format,
      engine: p.engine,
      samples: p.samples,
      resolutionPercent: p.resolutionPercent,
      preRenderScript: p.preRenderScript,
      persistentData: p.persistentData,
      gn: p.gnValues,
    },
  };
}

function sbatchArgs(jobId: string, folder: string, farm: Partial<SlurmParam>): string[] {
  const args = [`--job-name=sidecar-${jobId}`, `--output=${logPattern(folder)}`, `--chdir=${folder}`];
  if (farm.partition) args.push(`--partition=${farm.partition}`);
  if (farm.account) args.push(`--account=${farm.account}`);
  if (farm.qos) args.push(`--qos=${farm.qos}`);
  if (farm.timeLimit) args.push(`--time=${farm.timeLimit}`);
  if (farm.cpusPerTask) args.push(`--cpus-per-task=${farm.cpusPerTask}`);
  if (farm.memPerCpu) args.push(`--mem-per-cpu=${farm.memPerCpu}`);
  if (farm.gres) args.push(`--gres=${farm.gres}`);
  return args;
}

function inside(path: string, root: string): boolean {
  const rel = relative(resolve(root), resolve(path));
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

function onDisk(path: string): boolean {
  try {
    return existsSync(path) && statSync(path).size > 0;
  } catch {
    return false;
  }
}
