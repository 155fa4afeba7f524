import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { testSidecar, type TestSidecar } from '../helpers/sidecar.js';

/** Metric names a PromQL expression reads (histogram series map back to their family). */
function metricsIn(expr: string): string[] {
  const names = expr.match(/\b(sidecar|process|nodejs)_[a-z0-9_]+/g) ?? [];
  return names.map((n) => n.replace(/_(bucket|sum|count)$/, ''));
}

describe('ops/grafana-dashboard.json', () => {
  let sidecar: TestSidecar;
  let exported: Set<string>;
  before(async () => {
    sidecar = await testSidecar({ blender: '/nonexistent/blender' });
    const text = await (await fetch(`http://127.0.0.1:${sidecar.port}/metrics`)).text();
    assert.equal(spawnSync('promtool', ['check', 'metrics'], { input: text }).status, 0);
    exported = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!));
  });
  after(() => sidecar.stop());

  it('queries only metrics the sidecar exports', () => {
    const dash = JSON.parse(readFileSync(new URL('../../ops/grafana-dashboard.json', import.meta.url), 'utf8'));
    const used = new Set<string>();
    for (const panel of dash.panels) for (const t of panel.targets) for (const m of metricsIn(t.expr)) used.add(m);
    assert.ok(used.size >= 12, `the dashboard uses ${used.size} metrics`);
    const missing = [...used].filter((m) => !exported.has(m));
    assert.deepEqual(missing, [], `queried but not exported: ${missing.join(', ')}`);
  });

  it('covers what issue 9 asks to see: durations, fps, queue depth, worker CPU and RSS, restarts and failures by reason, RPC latency', () => {
    const dash = readFileSync(new URL('../../ops/grafana-dashboard.json', import.meta.url), 'utf8');
    for (const m of [
      'sidecar_frame_render_seconds_bucket',
      'sidecar_job_duration_seconds_bucket',
      'sidecar_frames_per_second',
      'sidecar_queue_depth',
      'sidecar_worker_cpu_percent',
      'sidecar_worker_resident_memory_bytes',
      'sidecar_worker_restarts_total',
      'sidecar_job_failures_total',
      'sidecar_rpc_request_duration_seconds_bucket',
    ]) {
      assert.ok(dash.includes(m), `${m} is on the dashboard`);
    }
  });
});
