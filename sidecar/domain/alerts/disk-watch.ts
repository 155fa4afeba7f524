/**
 * Watches the free space where running jobs write: a render that fills a disk fails every frame after, so say so
 * before it happens.
 */
import { statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import type { AlertCenter } from './alerts.js';

export interface DiskWatchOptions {
  /** Warn under this share of free space (default 5%) or this many bytes (default 2 GiB), whichever is larger. */
  minFreeShare?: number;
  minFreeBytes?: number;
  intervalMs?: number;
}

function existingAncestor(path: string): string {
  let p = path;
  for (let i = 0; i < 64; i++) {
    try {
      statfsSync(p);
      return p;
    } catch {
      const up = dirname(p);
      if (up === p) break;
      p = up;
    }
  }
  return '/';
}

export function watchDisks(alerts: AlertCenter, outputs: () => string[], options: DiskWatchOptions = {}): () => void {
  const check = () => {
    const seen = new Set<string>();
    for (const out of outputs()) {
      const at = existingAncestor(out);
      let st: ReturnType<typeof statfsSync>;
      try {
        st = statfsSync(at);
      } catch {
        continue;
      }
      const device = `${st.type}:${st.blocks}`;
      if (seen.has(device)) continue;
      seen.add(device);
      const free = st.bavail * st.bsize;
      const total = st.blocks * st.bsize;
      const limit = Math.max((options.minFreeShare ?? 0.05) * total, options.minFreeBytes ?? 2 * 1024 ** 3);
      const key = `disk-low:${device}`;
      if (free < limit) {
        alerts.raise({
          key,
          level: free < limit / 4 ? 'ERROR' : 'WARN',
          what: `the output disk is nearly full: ${(free / 1024 ** 3).toFixed(1)} GiB free of ${(total / 1024 ** 3).toFixed(0)} GiB`,
          where: at,
          action: "free space or point the job's output elsewhere; frames that cannot be written fail",
        });
      } else {
        alerts.resolve(key);
      }
    }
  };
  check();
  const timer = setInterval(check, options.intervalMs ?? 15_000);
  timer.unref();
  return () => clearInterval(timer);
}
