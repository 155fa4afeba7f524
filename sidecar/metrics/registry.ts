/**
 * Every metric the sidecar exports, in one place, so the names on /metrics, the dashboard in ops/ and the tests agree.
 * Prometheus text format 0.0.4 through prom-client, on a registry of our own (never the library's global one).
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export class Metrics {
  readonly registry = new Registry();

  readonly rpcRequests = new Counter({
    name: 'sidecar_rpc_requests_total',
    help: 'JSON-RPC requests handled, by method and outcome.',
    labelNames: ['method', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly rpcDuration = new Histogram({
    name: 'sidecar_rpc_request_duration_seconds',
    help: 'Time to answer a JSON-RPC request, by method.',
    labelNames: ['method'] as const,
    buckets: [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [this.registry],
  });

  readonly connections = new Gauge({
    name: 'sidecar_ws_connections',
    help: 'WebSocket connections open now.',
    registers: [this.registry],
  });

  constructor() {
    // Process metrics under the standard names. prom-client's collectDefaultMetrics is not used: some of its gauges
    // end in _total (nodejs_active_handles_total), which promtool rejects.
    const reg = [this.registry];
    new Gauge({
      name: 'process_resident_memory_bytes',
      help: 'Resident memory of the sidecar process.',
      registers: reg,
      collect() {
        this.set(process.memoryUsage().rss);
      },
    });
    new Gauge({
      name: 'nodejs_heap_used_bytes',
      help: 'V8 heap in use.',
      registers: reg,
      collect() {
        this.set(process.memoryUsage().heapUsed);
      },
    });
    new Counter({
      name: 'process_cpu_seconds_total',
      help: 'CPU time the sidecar process has used (user + system).',
      registers: reg,
      collect() {
        const u = process.cpuUsage();
        this.reset();
        this.inc((u.user + u.system) / 1e6);
      },
    });
    new Gauge({
      name: 'process_start_time_seconds',
      help: 'When the sidecar started, in seconds since the Unix epoch.',
      registers: reg,
    }).set(Math.round(Date.now() / 1000 - process.uptime()));
    const lag = monitorEventLoopDelay({ resolution: 20 });
    lag.enable();
    new Gauge({
      name: 'nodejs_eventloop_lag_p99_seconds',
      help: '99th percentile event-loop delay since the previous scrape: how long a request may wait for the sidecar.',
      registers: reg,
      collect() {
        this.set(lag.percentile(99) / 1e9);
        lag.reset();
      },
    });
  }

  async text(): Promise<{ contentType: string; body: string }> {
    return { contentType: 'text/plain; version=0.0.4; charset=utf-8', body: await this.registry.metrics() };
  }
}
