/**
 * In-process throughput of `SyncStore.set` (checks, record, apply, history, one listener), with a persistence that
 * does nothing: the ceiling the journal's fsync then lowers. Goal: at least 50,000 sets/s. bench/gnsync.ts runs the
 * same measurement (`storeSetsPerSecond`) beside the others.
 *
 *   node --import tsx bench/gnsync-store.ts [sets]
 */
import { pathToFileURL } from 'node:url';
import { SyncStore } from '../sidecar/domain/sync/store.js';
import type { ChangeInput } from '../sidecar/domain/sync/value.js';

export const GOAL = 50_000;

// A realistic mix: 64 inputs on 8 objects, types cycling through float, int, vector and a material reference.
export const changes: ChangeInput[] = Array.from({ length: 64 }, (_, i) => {
  const key = { object: `Object.${i % 8}`, modifier: 'GeometryNodes', input: `Input ${i}` };
  switch (i % 4) {
    case 0:
      return { key, type: 'float', value: 0 };
    case 1:
      return { key, type: 'int', value: 0 };
    case 2:
      return { key, type: 'vector', value: [0, 0, 0] };
    default:
      return { key, type: 'material', value: 'Steel' };
  }
});
export const valueFor = (c: ChangeInput, n: number): unknown =>
  c.type === 'vector' ? [n, n * 0.5, 1] : c.type === 'material' ? `Material.${n % 7}` : c.type === 'int' ? n : n * 0.25;

function run(n: number): number {
  const store = new SyncStore({ persist: () => {} });
  let heard = 0;
  store.onChanged(() => heard++);
  const started = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const c = changes[i % changes.length]!;
    store.set('default', { key: c.key, type: c.type, value: valueFor(c, i) }, store.revision('default'), 'bench');
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (heard !== store.revision('default')) throw new Error('a change went unheard');
  return n / seconds;
}

/** Sets per second over `total` sets, after a warm-up run. */
export function storeSetsPerSecond(total: number): number {
  run(Math.min(total, 20_000)); // Warm-up: let the JIT settle before measuring.
  return run(total);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const total = Number(process.argv[2] ?? 200_000);
  const rate = storeSetsPerSecond(total);
  console.log(
    `gnsync-store: ${Math.round(rate).toLocaleString('en-US')} sets/s (${total.toLocaleString('en-US')} sets, no-op persist, ` +
      `history 10,000; goal ${GOAL.toLocaleString('en-US')}: ${rate >= GOAL ? 'met' : 'NOT met'})`,
  );
}
