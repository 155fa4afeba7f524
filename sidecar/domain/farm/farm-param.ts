/** The `farm` field of render.submit (its own module: render-request.ts and the farm modules all need it). */
import { z } from 'zod';

export const flamencoParam = z.strictObject({
  kind: z.literal('flamenco'),
  url: z.string().url().optional().describe("The Flamenco manager (default: the sidecar's --flamenco-url)."),
  chunkSize: z.number().int().min(1).max(1000).optional().describe('Frames per farm task (default 1).'),
});

// Slurm's own option syntax is checked by sbatch itself, whose words come back in the error; here only what would
// break the command line or the job script (newlines, leading dashes) is refused.
const slurmName = (what: string) =>
  z
    .string()
    .min(1)
    .max(200)
    .regex(/^[^\s-][^\s]*$/, `must be a single ${what}, without spaces and not starting with "-"`);

export const slurmParam = z.strictObject({
  kind: z.literal('slurm'),
  partition: slurmName('partition name')
    .optional()
    .describe("The partition (sbatch -p; default: the sidecar's --slurm-partition, else the cluster's default)."),
  account: slurmName('account name').optional().describe('The account charged (sbatch -A).'),
  qos: slurmName('QOS name').optional().describe('The quality of service (sbatch --qos).'),
  timeLimit: slurmName('time limit (e.g. 30 or 2:00:00)')
    .optional()
    .describe('Time limit per task (sbatch -t): minutes, or [days-]hours:minutes:seconds.'),
  chunkSize: z.number().int().min(1).max(10_000).optional().describe('Frames per array task (default 1).'),
  maxParallel: z.number().int().min(1).max(10_000).optional().describe("At most this many tasks run at once (the array's %N)."),
  cpusPerTask: z.number().int().min(1).max(1024).optional().describe('CPUs per task (sbatch -c); Blender renders with as many threads.'),
  memPerCpu: slurmName('memory size (e.g. 4G)').optional().describe('Memory per CPU (sbatch --mem-per-cpu), e.g. "4G".'),
  gres: slurmName('generic resource list (e.g. gpu:1)').optional().describe('Generic resources per task (sbatch --gres), e.g. "gpu:1".'),
  blender: z
    .string()
    .min(1)
    .optional()
    .describe('The Blender executable on the nodes (default: the sidecar\'s --slurm-blender, else "blender").'),
});

export const farmParam = z
  .discriminatedUnion('kind', [flamencoParam, slurmParam])
  .describe('Send the job to a render farm instead of the local pool: a Flamenco manager or a Slurm cluster (frames are then required).');

export type FlamencoParam = z.output<typeof flamencoParam>;
export type SlurmParam = z.output<typeof slurmParam>;
export type FarmParam = z.output<typeof farmParam>;
