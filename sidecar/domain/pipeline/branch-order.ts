import type { Step } from './plan.js';

/**
 * The steps in the order a branch runs: each step followed by what depends on it. The scheduler gives a free worker
 * the first unit that may start, so this order finishes one branch's outputs before starting every branch's first
 * step (the first files appear early, and a fan-out of 300 variants does not wait for all 300 before exporting one).
 */
export function branchFirst(steps: Step[]): Step[] {
  const dependents = new Map<number, Step[]>();
  for (const s of steps) for (const d of s.dependsOn) dependents.set(d, [...(dependents.get(d) ?? []), s]);
  const out: Step[] = [];
  const placed = new Set<number>();
  const visit = (s: Step) => {
    if (placed.has(s.key) || s.dependsOn.some((d) => !placed.has(d))) return;
    placed.add(s.key);
    out.push(s);
    for (const next of dependents.get(s.key) ?? []) visit(next);
  };
  for (const s of steps) visit(s);
  return out;
}
