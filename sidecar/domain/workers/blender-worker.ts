/**
 * One background Blender process running the worker loop (sidecar/worker/worker_main.py).
 *
 * Tasks go in framed on stdin, one at a time; replies come back framed on fd 3. Blender's own stdout and stderr are
 * kept as a short tail (for error messages) and timestamped (no output for too long means hung). The process runs in
 * its own process group, so killing it ends anything it started too.
 */
import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { execa } from 'execa';
import { MessageDecoder, encodeMessage } from './framing.js';
import { findCrashReport, type CrashReport } from './crash-report.js';
import { endProcessTree } from '../../platform.js';

export type WorkerState = 'starting' | 'idle' | 'busy' | 'stopping' | 'exited';

/** Why a worker process ended while it had a task. */
export type DeathReason = 'crashed' | 'hung' | 'memory' | 'canceled' | 'recycled' | 'retired' | 'shutdown' | 'startup';

export interface WorkerTask {
  id: string;
  kind: string;
  blendFile?: string;
  jobKey?: string;
  [field: string]: unknown;
}

/** `peakRssBytes`: the worker's own peak memory over the task (see peak_memory.py), when it could measure it. */
export type TaskOutcome =
  | { ok: true; result: Record<string, unknown>; seconds: number; peakRssBytes?: number }
  | { ok: false; errorKind: 'input' | 'python'; message: string; traceback?: string; seconds: number; peakRssBytes?: number };

/** The process ended (or was ended) before the task finished. */
export class WorkerDiedError extends Error {
  override readonly name = 'WorkerDiedError';
  constructor(
    readonly reason: DeathReason,
    message: string,
    readonly exit: { code: number | null; signal: string | null },
    readonly outputTail: string[],
    /** The report Blender wrote when it crashed (in the worker's own temporary folder), if any. */
    readonly crashReport?: CrashReport,
  ) {
    super(message);
  }
}

export interface WorkerOptions {
  id: string;
  blender: string;
  workerDir: string;
  /** Start with factory settings instead of the user's preferences (where the GPU device choice lives). */
  factorySettings?: boolean;
  threads?: number;
  env?: NodeJS.ProcessEnv;
  /** Where the worker's Python looks for (and keeps) compiled modules: see sidecar_worker/bytecode.py. */
  pythonCache?: string;
  /** The worker's own temporary folder (TMPDIR): where Blender writes its crash report. */
  tempDir?: string;
}

export interface CurrentTask {
  id: string;
  kind: string;
  label: string;
  startedAt: number;
  jobId?: string;
  frame?: number;
}

const TAIL_LINES = 60;

/**
 * fd 3 is the reply pipe; `detached` gives the worker its own process group on POSIX, so a kill ends its whole tree
 * (platform.ts endProcessTree; on Windows taskkill /T finds the tree by parent pid instead).
 */
function spawnBlender(blender: string, args: string[], env: NodeJS.ProcessEnv) {
  return execa(blender, args, {
    stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
    detached: true,
    reject: false,
    buffer: false,
    cleanup: true,
    env,
    extendEnv: false,
  });
}

/**
 * The worker's environment. With a compiled-Python cache, Blender is started with --python-use-system-env, without
 * which Blender 4 and later ignore every PYTHON* variable, PYTHONPYCACHEPREFIX included. So that the flag changes
 * nothing else, the worker then gets no PYTHON* variable but the sidecar's own (a shell's PYTHONPATH does not reach
 * it, as it does not reach Blender 4 run by hand) and no user site-packages (Blender's default either way).
 */
export function workerEnv(base: NodeJS.ProcessEnv, pythonCache: string | undefined): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(base)) if (!pythonCache || !/^PYTHON/i.test(key)) env[key] = value;
  env.PYTHONUNBUFFERED = '1';
  env.PYTHONDONTWRITEBYTECODE = '1';
  if (pythonCache) Object.assign(env, { PYTHONPYCACHEPREFIX: pythonCache, PYTHONNOUSERSITE: '1' });
  return env;
}

export class BlenderWorker extends EventEmitter {
  readonly id: string;
  readonly pid: number;
  /** The Blender executable (or wrapper script) this worker runs. */
  readonly blender: string;
  readonly tempDir: string | undefined;
  state: WorkerState = 'starting';
  tasksDone = 0;
  startedAt = Date.now();
  lastOutputAt = Date.now();
  current: CurrentTask | undefined;
  blenderVersion: string | undefined;
  /** The blend file the worker has open (as far as the sidecar knows). */
  openFile: string | undefined;
  openJobKey: string | undefined;
  /** The engine the worker loaded while it waited for its first task (sidecar_worker/warmup.py), and what it took. */
  warmedUp: { engine: string; seconds: number } | undefined;
  /** How much of its start-up Python this worker found compiled (sidecar_worker/bytecode.py); unset when not kept. */
  pythonCache: { cached: number; modules: number } | undefined;
  /** Sampled by the pool. */
  cpuPercent = 0;
  rssBytes = 0;
  /** Jobs that must not get this worker again (a frame failed on it). */
  readonly outputTail: string[] = [];

  private readonly proc: ReturnType<typeof spawnBlender>;
  private readonly stdin: Writable;
  private killReason: DeathReason | undefined;
  private pending: { id: string; resolve: (o: TaskOutcome) => void; reject: (e: Error) => void } | undefined;
  private readyWait: { resolve: () => void; reject: (e: Error) => void } | undefined;
  private readonly readyPromise: Promise<void>;
  exitInfo: { code: number | null; signal: string | null; reason: DeathReason | undefined } | undefined;

  constructor(options: WorkerOptions) {
    super();
    this.id = options.id;
    this.blender = options.blender;
    this.tempDir = options.tempDir;
    const args = ['-b'];
    if (options.pythonCache) args.push('--python-use-system-env');
    if (options.factorySettings) args.push('--factory-startup');
    args.push('-noaudio', '--python-exit-code', '1');
    if (options.threads) args.push('-t', String(options.threads));
    args.push('--python', join(options.workerDir, 'worker_main.py'), '--', '--worker-id', options.id);
    const tempEnv = options.tempDir ? { TMPDIR: options.tempDir, TEMP: options.tempDir, TMP: options.tempDir } : {};
    this.proc = spawnBlender(options.blender, args, { ...workerEnv({ ...process.env, ...options.env }, options.pythonCache), ...tempEnv });
    if (this.proc.pid === undefined) throw new Error(`could not start ${options.blender}`);
    this.pid = this.proc.pid;
    this.stdin = this.proc.stdin!;
    this.stdin.on('error', () => {
      // EPIPE when the process died: the exit handler reports it.
    });
    this.readyPromise = new Promise<void>((resolve, reject) => (this.readyWait = { resolve, reject }));
    this.readyPromise.catch(() => {});

    const decoder = new MessageDecoder();
    const replies = this.proc.stdio[3] as Readable;
    replies.on('data', (chunk: Buffer) => {
      try {
        for (const msg of decoder.push(chunk)) this.onMessage(msg as Record<string, unknown>);
      } catch (err) {
        this.kill('crashed', `worker ${this.id} sent a malformed reply: ${(err as Error).message}`);
      }
    });
    replies.on('error', () => {});
    for (const stream of [this.proc.stdout!, this.proc.stderr!]) this.readLines(stream);
    this.proc.then((result) => this.onExit(result.exitCode ?? null, result.signal ?? null));
  }

  /** Resolves when the worker loop has announced itself. */
  ready(): Promise<void> {
    return this.readyPromise;
  }

  /** Runs one task. Resolves with the task's outcome; rejects with WorkerDiedError if the process ends first. */
  run(task: WorkerTask, current: Omit<CurrentTask, 'startedAt' | 'id' | 'kind'>): Promise<TaskOutcome> {
    if (this.state !== 'idle') return Promise.reject(new Error(`worker ${this.id} is ${this.state}, not idle`));
    this.state = 'busy';
    this.current = { id: task.id, kind: task.kind, startedAt: Date.now(), ...current };
    this.lastOutputAt = Date.now();
    return new Promise<TaskOutcome>((resolve, reject) => {
      this.pending = { id: task.id, resolve, reject };
      this.stdin.write(encodeMessage({ type: 'task', ...task }));
    });
  }

  /** Ends the process group at once. The task in flight (if any) fails with `reason`. */
  kill(reason: DeathReason, detail?: string): void {
    if (this.state === 'exited') return;
    this.killReason ??= reason;
    if (detail) this.pushLine(`[sidecar] ${detail}`);
    this.state = 'stopping';
    endProcessTree(this.pid); // false when it is already gone: its exit handler reports it
  }

  /** Asks the loop to exit, and kills it if it has not within `graceMs`. */
  async stop(reason: DeathReason, graceMs = 2000): Promise<void> {
    if (this.state === 'exited') return;
    this.killReason ??= reason;
    if (this.state === 'idle') {
      this.state = 'stopping';
      this.stdin.write(encodeMessage({ type: 'exit' }));
      this.stdin.end();
    } else {
      this.kill(reason);
    }
    const timer = setTimeout(() => this.kill(reason), graceMs);
    await this.proc.catch(() => undefined);
    clearTimeout(timer);
  }

  /** Resolves when the process has exited. */
  exited(): Promise<unknown> {
    return this.proc.catch(() => undefined);
  }

  private onMessage(msg: Record<string, unknown>) {
    if (msg.type === 'hello') {
      this.blenderVersion = String(msg.version ?? '');
      const bytecode = msg.bytecode as { cached?: unknown; modules?: unknown } | null | undefined;
      if (bytecode && typeof bytecode.cached === 'number' && typeof bytecode.modules === 'number')
        this.pythonCache = { cached: bytecode.cached, modules: bytecode.modules };
      this.state = 'idle';
      this.readyWait?.resolve();
      this.emit('ready');
      return;
    }
    if (msg.type === 'warmed') {
      this.warmedUp = { engine: String(msg.engine ?? ''), seconds: Math.round(Number(msg.seconds ?? 0) * 1000) / 1000 };
      return;
    }
    if (msg.type !== 'result' || !this.pending || msg.id !== this.pending.id) return;
    const pending = this.pending;
    this.pending = undefined;
    this.current = undefined;
    this.tasksDone += 1;
    if (this.state === 'busy') this.state = 'idle';
    const seconds = Number(msg.seconds ?? 0);
    const peak = Number(msg.peakRssBytes);
    const peakRssBytes = Number.isFinite(peak) && peak > 0 ? { peakRssBytes: peak } : {};
    if (msg.ok) {
      pending.resolve({ ok: true, result: (msg.result ?? {}) as Record<string, unknown>, seconds, ...peakRssBytes });
    } else {
      const e = (msg.error ?? {}) as { kind?: string; message?: string; traceback?: string };
      pending.resolve({
        ok: false,
        errorKind: e.kind === 'input' ? 'input' : 'python',
        message: e.message ?? 'the task failed',
        traceback: e.traceback,
        seconds,
        ...peakRssBytes,
      });
    }
    this.emit('idle');
  }

  private onExit(code: number | null, signal: string | null) {
    const wasStarting = this.state === 'starting';
    this.state = 'exited';
    const reason: DeathReason = this.killReason ?? (wasStarting ? 'startup' : 'crashed');
    this.exitInfo = { code, signal, reason };
    const how = signal ? `was killed by ${signal}` : `exited with status ${code}`;
    if (wasStarting) {
      this.readyWait?.reject(
        new WorkerDiedError('startup', `Blender ${how} before the worker loop started: ${this.lastLines(6)}`, { code, signal }, [
          ...this.outputTail,
        ]),
      );
    }
    if (this.pending) {
      const pending = this.pending;
      this.pending = undefined;
      const report = reason === 'crashed' && this.tempDir ? findCrashReport(this.tempDir) : undefined;
      pending.reject(
        new WorkerDiedError(reason, `Blender (worker ${this.id}, pid ${this.pid}) ${how}`, { code, signal }, [...this.outputTail], report),
      );
    }
    this.current = undefined;
    this.emit('exit', this.exitInfo);
  }

  private readLines(stream: Readable) {
    let partial = '';
    stream.on('data', (chunk: Buffer) => {
      this.lastOutputAt = Date.now();
      const text = partial + chunk.toString('utf8');
      const lines = text.split(/\r?\n|\r/);
      partial = lines.pop() ?? '';
      for (const line of lines) if (line) this.pushLine(line);
    });
    stream.on('error', () => {});
  }

  private pushLine(line: string) {
    this.outputTail.push(line);
    if (this.outputTail.length > TAIL_LINES) this.outputTail.shift();
    this.emit('output', line);
  }

  lastLines(n: number): string {
    return this.outputTail.slice(-n).join(' | ');
  }
}
