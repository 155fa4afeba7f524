/**
 * The one way tests wait for something: poll a condition until it holds, with a deadline, and fail saying what was
 * awaited. Tests never sleep a fixed time and hope (a slow machine makes that flaky, a fast one makes it slow).
 */
import { setTimeout as delay } from 'node:timers/promises';

/** What a truthy value of `T` can be: `cond && value` conditions give the value back, typed. */
export type Truthy<T> = Exclude<T, false | 0 | 0n | '' | null | undefined>;

export interface UntilOptions {
  /** What is awaited, in words, for the failure message ("the job running"); a function can add the state seen last. */
  what: string | (() => string | Promise<string>);
  /** How long to keep trying; 30 s unless said. */
  timeoutMs?: number;
  /** Time between tries; 50 ms unless said. */
  intervalMs?: number;
}

/**
 * Calls `condition` until it gives something truthy and returns that. A condition that throws is tried again (the
 * thing it reads may not exist yet); after `timeoutMs` this throws, naming `what` and the last error, if any.
 */
export async function until<T>(condition: () => T | Promise<T>, options: UntilOptions): Promise<Truthy<T>> {
  const { timeoutMs = 30_000, intervalMs = 50 } = options;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await condition();
      if (value) return value as Truthy<T>;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const what = typeof options.what === 'function' ? await options.what() : options.what;
      const why =
        lastError === undefined ? '' : ` (last try failed: ${lastError instanceof Error ? lastError.message : String(lastError)})`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}`);
    }
    await delay(intervalMs);
  }
}
