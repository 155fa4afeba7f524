/** The method table's handlers, one set per capability, put together for the dispatcher. */
import type { AlertCenter } from '../../domain/alerts/alerts.js';
import type { FarmExecutor } from '../../domain/farm/farm-executor.js';
import type { Scheduler } from '../../domain/jobs/scheduler.js';
import type { WorkerPool } from '../../domain/workers/pool.js';
import type { Handlers } from '../../protocol/method.js';
import type { Services } from '../services.js';
import type { CallContext } from '../session.js';
import type { Methods } from '../spec/index.js';
import { alertHandlers } from './alerts.js';
import { bakeHandlers } from './bake.js';
import { blendHandlers } from './blend.js';
import { coreHandlers } from './core.js';
import { exportHandlers } from './export.js';
import { gnHandlers } from './gn.js';
import { jobHandlers } from './jobs.js';
import { pipelineHandlers } from './pipeline.js';
import { renderHandlers } from './render.js';

/** The parts handlers reach beyond `Services`. */
export interface HandlerParts {
  scheduler: Scheduler;
  pool: WorkerPool;
  farm: FarmExecutor;
  alerts: AlertCenter;
}

export function allHandlers(services: Services, { scheduler, pool, farm, alerts }: HandlerParts): Handlers<Methods, CallContext> {
  return {
    ...coreHandlers(services),
    ...jobHandlers(scheduler, pool),
    ...renderHandlers(services, scheduler, farm),
    ...exportHandlers(services, scheduler),
    ...bakeHandlers(services, scheduler),
    ...pipelineHandlers(services, scheduler),
    ...blendHandlers(services),
    ...gnHandlers(services.sync),
    ...alertHandlers(alerts),
  };
}
