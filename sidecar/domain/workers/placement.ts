/**
 * How much of the machine a task gets: render threads that follow the work, and how many workers a job may have at
 * once so that together they fit in memory.
 *
 * Threads: a frame starting while no other worker renders takes every core (the first worker of a cold start, the
 * last frames of a job); one starting beside others gets its share. Cycles' pictures do not depend on the thread count.
 *
 * Memory: a job's workers are measured while they render (the highest resident memory any of them reached on the
 * job's frames), and the job gets another worker only while one more of that size fits in the memory left, minus a
 * margin, and within the sidecar's memory budget (`serve --memory-budget`). Before a frame of the job has finished,
 * a worker is assumed to need DEFAULT_WORKER_BYTES. A job always keeps one worker: a scene too big for the machine
 * is Blender's to refuse, with the job saying why it got no more.
 */
import { availableParallelism, freemem, totalmem } from 'node:os';

/** What one worker is assumed to need before its job's first frame has been measured. */
export const DEFAULT_WORKER_BYTES = 1.5 * 1024 ** 3;

export interface PlacementOptions {
  cores?: number;
  /** Threads every task gets (serve --threads): fixed, whatever else runs. */
  fixedThreads?: number;
  /** Resident memory all workers together stay within (serve --memory-budget); default: only the machine's. */
  memoryBudgetBytes?: number;
  /** Memory the system can still give (default: os.freemem, MemAvailable on Linux). */
  freeMemory?: () => number;
  /** Memory left alone for everything else (default: the larger of 512 MB and 5% of the machine's). */
  marginBytes?: number;
}

export interface MemoryAsk {
  /** The highest resident memory one of the job's workers reached on a finished frame, if measured yet. */
  perWorkerBytes: number | undefined;
  /** Workers the job has now. */
  jobWorkers: number;
  /** Resident memory of the job's workers now. */
  jobRssBytes: number;
  /** Resident memory of every other worker now (they hold their files while idle). */
  otherRssBytes: number;
  /** How many workers the job could use (its instances limit, the pool's size, its units left). */
  wanted: number;
}

export interface MemoryFit {
  /** Workers the job may have at once (at least 1). */
  cap: number;
  /** When the cap is below what the job wanted, why, in one line: "1 of 4 workers: 11.8 GB each, 14 GB free". */
  note?: string;
}

export class Placement {
  readonly cores: number;
  private readonly free: () => number;
  private readonly margin: number;

  constructor(private readonly options: PlacementOptions = {}) {
    this.cores = Math.max(1, options.cores ?? availableParallelism());
    this.free = options.freeMemory ?? freemem;
    this.margin = options.marginBytes ?? Math.max(512 * 1024 ** 2, totalmem() * 0.05);
  }

  get memoryBudgetBytes(): number | undefined {
    return this.options.memoryBudgetBytes;
  }

  /** Render threads for a task starting while `othersBusy` other workers render. */
  threads(othersBusy: number): number {
    if (this.options.fixedThreads) return this.options.fixedThreads;
    return Math.max(1, Math.floor(this.cores / (Math.max(0, othersBusy) + 1)));
  }

  /** How many workers a job may have at once, given what its workers measure and what memory is left. */
  fit(ask: MemoryAsk): MemoryFit {
    const each = Math.max(1, ask.perWorkerBytes ?? DEFAULT_WORKER_BYTES);
    // Memory the job's own workers hold counts as theirs: a cap never takes a worker away from a running job.
    const freeForJob = this.free() - this.margin + ask.jobRssBytes;
    let cap = Math.floor(freeForJob / each);
    const budget = this.options.memoryBudgetBytes;
    if (budget !== undefined) cap = Math.min(cap, Math.floor((budget - ask.otherRssBytes) / each));
    cap = Math.max(1, Math.min(cap, Math.max(ask.wanted, 1)));
    if (cap >= ask.wanted) return { cap };
    const free = `${gb(Math.max(0, this.free()))} free`;
    const room =
      budget !== undefined ? `${free}, a budget of ${gb(budget)} with ${gb(Math.max(0, ask.otherRssBytes))} held by other workers` : free;
    const measured = ask.perWorkerBytes === undefined ? ' (assumed until a frame is measured)' : '';
    return { cap, note: `${cap} of ${ask.wanted} workers: ${gb(each)} each${measured}, ${room}` };
  }
}

function gb(bytes: number): string {
  return bytes >= 1024 ** 3 ? `${(bytes / 1024 ** 3).toFixed(1)} GB` : `${Math.round(bytes / 1024 ** 2)} MB`;
}
