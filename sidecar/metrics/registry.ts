/**
 * Every metric the sidecar exports, in one place, so the names on /metrics, the dashboard in ops/ and the tests agree.
 * Prometheus text format 0.0.4 through prom-client, on a registry of our own (never the library's global one).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

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
    // Process memory, CPU and event-loop lag, under the standard names (process_resident_memory_bytes, ...).
    collectDefaultMetrics({ register: this.registry });
  }

  async text(): Promise<{ contentType: string; body: string }> {
    return { contentType: 'text/plain; version=0.0.4; charset=utf-8', body: await this.registry.metrics() };
  }
}
