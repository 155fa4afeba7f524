/**
 * The pool of warm Blender workers. It starts workers up to its size when there is work, replaces those that die,
 * retires idle ones after a while, recycles one after N tasks or when its memory keeps growing, and samples CPU and
 * memory for everyone to see. Which task goes to which worker is the scheduler's business, not the pool's.
 */
import { EventEmitter } from 'node:events';
import { existsSync, rmSync } from 'node:fs';
import { availableParallelism, freemem } from 'node:os';
import { BlenderWorker, type DeathReason } from './blender-worker.js';
import type { WorkerRegistry } from './worker-registry.js';
import { cleanWorkerTempDir, makeWorkerTempDir, workerTempRoot } from './crash-report.js';
import pidusage from 'pidusage';
import { processSampler, sampleProcesses, type Sampler } from '../../platform.js';

export interface PoolOptions {
  /**
   * The Blender a worker runs when `grow` is not told which: a function so that a Blender installed after start is
   * found. Throws when there is none.
   */
  blender: () => string;
  /** Where workers' own temporary folders go (their crash reports); default: one folder per user in the system's. */
  tempRoot?: string;
  workerDir: string;
  /** Number of workers, or 'auto' (from cores and free memory). */
  instances: number | 'auto';
  /** Threads per worker; default: cores divided among the workers. */
  threads?: number;
  factorySettings?: boolean;
  /** Retire a worker idle for this long (default 10 minutes). */
  idleRetireMs?: number;
  /** Recycle a worker after this many tasks (default 500). */
  recycleAfterTasks?: number;
  /** Recycle a worker whose idle memory grew past this many times its first idle reading (default 3). */
  recycleMemoryGrowth?: number;
  registry?: WorkerRegistry;
  /**
   * A folder where workers keep the compiled form of the Python their start-up imports (PYTHONPYCACHEPREFIX), so the
   * next worker loads it instead of compiling it again (sidecar_worker/bytecode.py): a quarter of a Blender start.
   */
  pythonCache?: string;
  env?: NodeJS.ProcessEnv;
  log?: (level: 'info' | 'warn' | 'debug', message: string) => void;
}

/** Memory one more Blender worker is assumed to need when sizing the pool automatically. */
const MEMORY_PER_WORKER = 1.5 * 1024 ** 3;

function autoInstances(cores = availableParallelism(), free = freemem()): number {
  return Math.max(1, Math.min(cores, Math.floor(free / MEMORY_PER_WORKER), 8));
}

export class WorkerPool extends EventEmitter {
  readonly size: number;
  readonly threads: number;
  private readonly workers = new Map<string, BlenderWorker>();
  private nextId = 1;
  /**
   * Each worker's memory when idle after its first task on the file it has open: growth beyond it is a leak. Per file:
   * a worker that opens a bigger scene holds more for good reason, and is not recycled for it (that would also drop
   * the scene it synced).
   */
  private readonly baselineRss = new Map<string, { file: string | undefined; bytes: number }>();
  private readonly idleSince = new Map<string, number>();
  private sampler: NodeJS.Timeout | undefined;
  /** A sample still in flight: on Windows one takes a PowerShell start, which can outlast the 500 ms between ticks. */
  private sampling = false;
  private readonly sample = processSampler(pidusage as unknown as Sampler);
  private closed = false;
  /** Counts of worker ends by reason, for metrics. */
  readonly restarts = new Map<DeathReason, number>();

  constructor(private readonly options: PoolOptions) {
    super();
    this.size = options.instances === 'auto' ? autoInstances() : options.instances;
    this.threads = options.threads ?? Math.max(1, Math.floor(availableParallelism() / this.size));
    this.sampler = setInterval(() => void this.tick(), 500);
    this.sampler.unref();
  }

  list(): BlenderWorker[] {
    return [...this.workers.values()];
  }

  /** Idle workers, of one Blender when `blender` is given. */
  idle(blender?: string): BlenderWorker[] {
    return this.list().filter((w) => w.state === 'idle' && (blender === undefined || w.blender === blender));
  }

  /** The Blender a worker runs when none is named. */
  defaultBlender(): string {
    return this.options.blender();
  }

  /** Live or starting workers. */
  get count(): number {
    return this.list().filter((w) => w.state !== 'exited').length;
  }

  canGrow(): boolean {
    return !this.closed && this.count < this.size;
  }

  /**
   * Starts one more worker of `blender` (default: the pool's Blender) if there is room: workers of every Blender together
   * stay within the pool's size. Resolves with it once ready; emits 'ready' with it. A worker that fails to start
   * rejects with the reason (Blender missing, a broken install), which the scheduler reports to the job.
   */
  async grow(blender = this.options.blender()): Promise<BlenderWorker | undefined> {
    if (!this.canGrow()) return undefined;
    try {
      return await this.start(blender);
    } catch (err) {
      // Not while closing: the start failed because the pool ended it.
      if (this.closed || !this.dropPythonCache(err as Error)) throw err;
      return await this.start(blender);
    }
  }

  /**
   * A compiled-Python cache cut short by something other than a worker (they write whole files) fails the start-up
   * imports it holds: Python does not fall back to the source. It is only a cache: after a failed start it is cleared,
   * and the worker is started once more, compiling from source. True when there was one to clear.
   */
  private dropPythonCache(err: Error): boolean {
    const cache = this.options.pythonCache;
    if (!cache || !existsSync(cache)) return false;
    try {
      rmSync(cache, { recursive: true, force: true });
    } catch {
      return false;
    }
    this.options.log?.(
      'warn',
      `a Blender worker failed to start (${err.message}); starting it again without the compiled Python kept in ${cache}`,
    );
    return true;
  }

  private async start(blender: string): Promise<BlenderWorker> {
    const id = `w${this.nextId++}`;
    const tempRoot = this.options.tempRoot ?? workerTempRoot();
    const tempDir = makeWorkerTempDir(tempRoot, id);
    const worker = new BlenderWorker({
      tempDir,
      id,
      blender,
      workerDir: this.options.workerDir,
      factorySettings: this.options.factorySettings,
      // Blender's -t caps every render of the process: only a fixed --threads goes there; otherwise each frame is
      // given its threads as it starts (see Placement), which the scene setting can do only without -t.
      threads: this.options.threads,
      env: this.options.env,
      pythonCache: this.options.pythonCache,
    });
    this.workers.set(worker.id, worker);
    this.options.registry?.add(worker.pid);
    worker.on('idle', () => {
      this.idleSince.set(worker.id, Date.now());
      this.afterTask(worker);
      if (worker.state === 'idle') this.emit('idle', worker);
    });
    worker.once('exit', (info: { reason: DeathReason; code: number | null; signal: string | null }) => {
      this.workers.delete(worker.id);
      this.baselineRss.delete(worker.id);
      this.idleSince.delete(worker.id);
      this.options.registry?.remove(worker.pid);
      // After the scheduler has read the crash report (it did when the task's promise was rejected, before 'exit').
      setImmediate(() => cleanWorkerTempDir(tempRoot, tempDir));
      this.restarts.set(info.reason, (this.restarts.get(info.reason) ?? 0) + 1);
      this.options.log?.(
        info.reason === 'crashed' ? 'warn' : 'debug',
        `worker ${worker.id} (pid ${worker.pid}) ended: ${info.reason}${info.signal ? ` (${info.signal})` : info.code ? ` (status ${info.code})` : ''}`,
      );
      this.emit('exit', worker, info);
    });
    await worker.ready();
    this.idleSince.set(worker.id, Date.now());
    this.options.log?.('debug', `worker ${worker.id} (pid ${worker.pid}) ready: Blender ${worker.blenderVersion}`);
    this.emit('idle', worker);
    return worker;
  }

  /** Replaces a worker: it is stopped (if idle, after its task otherwise) with `reason`. */
  retire(worker: BlenderWorker, reason: DeathReason): void {
    void worker.stop(reason);
  }

  private afterTask(worker: BlenderWorker) {
    const recycleAfter = this.options.recycleAfterTasks ?? 500;
    if (worker.tasksDone >= recycleAfter) {
      this.options.log?.('info', `recycling worker ${worker.id} after ${worker.tasksDone} tasks`);
      this.retire(worker, 'recycled');
      return;
    }
    const baseline = this.baselineRss.get(worker.id);
    const base = baseline && baseline.file === openKey(worker) ? baseline.bytes : undefined;
    const growth = this.options.recycleMemoryGrowth ?? 3;
    if (base && worker.rssBytes > base * growth && worker.rssBytes > 512 * 1024 ** 2) {
      this.options.log?.(
        'info',
        `recycling worker ${worker.id}: its memory grew from ${Math.round(base / 2 ** 20)} MB to ${Math.round(worker.rssBytes / 2 ** 20)} MB on one file`,
      );
      this.retire(worker, 'recycled');
    }
  }

  private async tick() {
    const live = this.list().filter((w) => w.state !== 'exited');
    // One sample at a time: a slow one is skipped over, never stacked (a loaded machine would only slow each further).
    if (live.length > 0 && !this.sampling) {
      this.sampling = true;
      // A worker that exited between listing and sampling has no sample; the others' are kept (platform.ts).
      const stats = await sampleProcesses(
        live.map((w) => w.pid),
        this.sample,
      ).finally(() => (this.sampling = false));
      live.forEach((w) => {
        const s = stats.get(w.pid);
        if (!s) return;
        w.cpuPercent = s.cpu;
        w.rssBytes = s.memory;
        if (w.state === 'idle' && w.tasksDone > 0 && this.baselineRss.get(w.id)?.file !== openKey(w))
          this.baselineRss.set(w.id, { file: openKey(w), bytes: s.memory });
      });
      this.emit('sampled', live);
    }
    const retireMs = this.options.idleRetireMs ?? 600_000;
    const now = Date.now();
    for (const w of this.idle()) {
      if (now - (this.idleSince.get(w.id) ?? now) > retireMs) {
        this.options.log?.('debug', `retiring worker ${w.id}: idle for ${Math.round(retireMs / 1000)} s`);
        this.retire(w, 'retired');
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.sampler) clearInterval(this.sampler);
    await Promise.all(this.list().map((w) => w.stop('shutdown', 1500)));
  }
}

/** What a worker has open, as far as its memory goes (a leak shows across jobs on one file, too). */
function openKey(w: BlenderWorker): string | undefined {
  return w.openFile;
}
