/**
 * Why an attempt failed, from what Blender left: exit status, signal, and its last lines of output. The class decides
 * what happens next: transient failures are retried on another worker after a backoff; a GPU out-of-memory frame is
 * retried on the CPU when the job allows it; deterministic errors fail at once with their reason.
 */
import type { AttemptOutcome } from './job.js';

export interface Classification {
  outcome: AttemptOutcome;
  /** A retry (on another worker) may succeed. */
  transient: boolean;
  /** Retry on the CPU instead of the GPU (if the job allows). */
  cpuFallback?: boolean;
  /** The class in words, for the attempt's reason. */
  label: string;
}

const GPU_OOM =
  /\b(CUDA|OptiX|HIP|Metal|oneAPI)\b[^\n]*\bout of (device )?memory|out of GPU memory|System is out of GPU( and shared host)? memory/i;
const HOST_OOM = /std::bad_alloc|\bMemoryError\b|Cannot allocate memory|Out of memory/i;
const SEGFAULT = /Segmentation fault|SIGSEGV|EXCEPTION_ACCESS_VIOLATION/;
const MISSING_FILE = /does not exist|No such file or directory/i;
/** Blender read the file and refused it: too new, not a .blend, truncated. The file is there; saying "missing" would mislead. */
const CANNOT_OPEN = /could not open|Cannot read file|Failed to read blend file|not a blend file|truncated|File format is not supported/i;

/** A worker process that ended during the attempt. `killedFor` is set when the sidecar killed it on purpose. */
export function classifyDeath(
  signal: string | null,
  code: number | null,
  output: string,
  killedFor: 'hung' | 'memory' | 'canceled' | undefined,
): Classification {
  if (killedFor === 'hung') return { outcome: 'hung', transient: true, label: 'hung' };
  if (killedFor === 'memory') return { outcome: 'memory', transient: false, label: 'over its memory limit' };
  if (killedFor === 'canceled') return { outcome: 'canceled', transient: false, label: 'canceled' };
  if (GPU_OOM.test(output)) return { outcome: 'gpu-out-of-memory', transient: true, cpuFallback: true, label: 'GPU out of memory' };
  if (signal === 'SIGSEGV' || SEGFAULT.test(output)) return { outcome: 'segfault', transient: true, label: 'segmentation fault' };
  if (HOST_OOM.test(output)) return { outcome: 'out-of-memory', transient: true, label: 'out of memory' };
  // Killed from outside with no word from Blender: most often the kernel's out-of-memory killer, or an operator.
  return { outcome: 'crashed', transient: true, label: signal ? `killed by ${signal}` : `exited with status ${code}` };
}

/** A task that Blender answered with an error (the worker lives on). */
export function classifyTaskError(kind: 'input' | 'python', message: string, traceback: string | undefined): Classification {
  const text = `${message}\n${traceback ?? ''}`;
  if (GPU_OOM.test(text)) return { outcome: 'gpu-out-of-memory', transient: true, cpuFallback: true, label: 'GPU out of memory' };
  if (kind === 'python' && /\bMemoryError\b/.test(text)) return { outcome: 'out-of-memory', transient: true, label: 'out of memory' };
  if (kind === 'input' && MISSING_FILE.test(message)) return { outcome: 'missing-file', transient: false, label: 'missing file' };
  if (kind === 'input' && CANNOT_OPEN.test(message)) return { outcome: 'cannot-open', transient: false, label: 'cannot open' };
  if (kind === 'input') return { outcome: 'input-error', transient: false, label: 'input error' };
  return { outcome: 'python-error', transient: false, label: 'Python error' };
}

/** Seconds to wait before retry number `n` (1-based): 1, 2, 4, 8 ... capped at 30. */
export function backoffSeconds(n: number): number {
  return Math.min(30, 2 ** Math.max(0, n - 1));
}
