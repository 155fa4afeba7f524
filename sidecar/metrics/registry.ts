/**
 * Every metric the sidecar exports, in one place, so the names on /metrics, the dashboard in ops/ and the tests agree.
 * Prometheus text format 0.0.4 through prom-client, on a registry of our own (never the library's global one).
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** What some gauges read at scrape time, from the scheduler (set once it exists). */
export interface LiveSources {
  queueDepth(): Record<'high' | 'normal' | 'low', number>;
  framesPerSecond(): number;
  /** Open job.wait calls (a connection's are dropped when it closes). */
  jobWaiters?(): number;
}

export class Metrics {
  readonly registry = new Registry();
  private sources: LiveSources | undefined;

  bind(sources: LiveSources): void {
    this.sources = sources;
  }

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

  readonly framesRendered = new Counter({
    name: 'sidecar_frames_rendered_total',
    help: 'Frames rendered, checked and put in place.',
    registers: [this.registry],
  });

  readonly frameSeconds = new Histogram({
    name: 'sidecar_frame_render_seconds',
    help: 'Time for one frame on a worker, from task start to the checked file.',
    buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900],
    registers: [this.registry],
  });

  readonly unitAttempts = new Counter({
    name: 'sidecar_task_attempts_total',
    help: 'Task attempts (frames, export items) by job kind and outcome (done, crashed, hung, memory, python-error, ...).',
    labelNames: ['kind', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly workerRestarts = new Counter({
    name: 'sidecar_worker_restarts_total',
    help: 'Workers that ended, by reason (crashed, hung, memory, canceled, recycled, retired, startup).',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  readonly jobsByState = new Gauge({
    name: 'sidecar_jobs',
    help: 'Jobs the sidecar knows, by kind and state.',
    labelNames: ['kind', 'state'] as const,
    registers: [this.registry],
  });

  readonly workerCpu = new Gauge({
    name: 'sidecar_worker_cpu_percent',
    help: 'CPU use of each Blender worker (100 = one core).',
    labelNames: ['worker'] as const,
    registers: [this.registry],
  });

  readonly workerRss = new Gauge({
    name: 'sidecar_worker_resident_memory_bytes',
    help: 'Resident memory of each Blender worker.',
    labelNames: ['worker'] as const,
    registers: [this.registry],
  });

  readonly jobSeconds = new Histogram({
    name: 'sidecar_job_duration_seconds',
    help: 'Wall time of finished jobs, from start to end, by kind (render, export) and final state.',
    labelNames: ['kind', 'state'] as const,
    buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600],
    registers: [this.registry],
  });

  readonly jobFailures = new Counter({
    name: 'sidecar_job_failures_total',
    help: 'Jobs that failed, by kind and the class of failure that ended them (python-error, memory, segfault, hung, ...).',
    labelNames: ['kind', 'reason'] as const,
    registers: [this.registry],
  });

  constructor() {
    const self = this;
    new Gauge({
      name: 'sidecar_queue_depth',
      help: 'Units (frames, export items) waiting for a worker, by job priority.',
      labelNames: ['priority'] as const,
      registers: [this.registry],
      collect() {
        const depth = self.sources?.queueDepth() ?? { high: 0, normal: 0, low: 0 };
        for (const [priority, n] of Object.entries(depth)) this.set({ priority }, n);
      },
    });
    new Gauge({
      name: 'sidecar_frames_per_second',
      help: 'Frames finished per second over the last minute, across running render jobs.',
      registers: [this.registry],
      collect() {
        this.set(self.sources?.framesPerSecond() ?? 0);
      },
    });
    new Gauge({
      name: 'sidecar_job_waiters',
      help: 'Open job.wait calls, across connections.',
      registers: [this.registry],
      collect() {
        this.set(self.sources?.jobWaiters?.() ?? 0);
      },
    });
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
