/**
 * Callers waiting for jobs to end (job.wait): each gets the job as it stands when it ends or when its timeout passes,
 * and a caller whose connection closed is dropped at once, so waiters never pile up.
 */
import { DomainError } from '../errors.js';

export class JobWaiters {
  private readonly waiters = new Map<string, Set<() => void>>();

  /** Open `wait` calls, across jobs. */
  get count(): number {
    let n = 0;
    for (const set of this.waiters.values()) n += set.size;
    return n;
  }

  /**
   * Resolves with `current()` when `release(id)` is called or `timeoutMs` has passed. When `signal` aborts (the
   * caller's connection closed), the waiter is dropped at once and the promise rejects.
   */
  wait<T>(id: string, timeoutMs: number, current: () => T, signal?: AbortSignal): Promise<T> {
    return new Promise((resolve, reject) => {
      let set = this.waiters.get(id);
      if (!set) this.waiters.set(id, (set = new Set()));
      const settle = (gone: boolean) => {
        clearTimeout(timer);
        set.delete(done);
        if (set.size === 0 && this.waiters.get(id) === set) this.waiters.delete(id);
        signal?.removeEventListener('abort', abandoned);
        // A DomainError: an expected end, not a bug for the log (nobody reads the answer).
        if (gone) reject(new DomainError('unavailable', 'the connection closed while waiting'));
        else resolve(current());
      };
      const done = () => settle(false);
      const abandoned = () => settle(true);
      const timer = setTimeout(done, timeoutMs);
      set.add(done);
      signal?.addEventListener('abort', abandoned, { once: true });
    });
  }

  /** The job has ended: every caller waiting for it gets its answer now. */
  release(id: string): void {
    for (const w of [...(this.waiters.get(id) ?? [])]) w();
    this.waiters.delete(id);
  }
}
