/** Handlers for the sidecar's own methods. */
import { availableParallelism } from 'node:os';
import { describeError, InvalidInputError } from '../../domain/errors.js';
import type { Handlers } from '../../protocol/method.js';
import type { CallContext } from '../session.js';
import type { coreMethods } from '../spec/core.js';
import type { Services } from '../services.js';

export function coreHandlers(s: Services): Handlers<typeof coreMethods, CallContext> {
  return {
    'sidecar.info': async ({ probe }) => {
      s.blender.relocate();
      const blender = await s.blender.status({ probe });
      let exportFormats: Awaited<ReturnType<typeof s.blender.probe>>['exportFormats'] = [];
      let bakeTypes: string[] = [];
      let simulationBake = false;
      if (blender.found && (probe || s.blender.probed)) ({ exportFormats, bakeTypes, simulationBake } = await s.blender.probe());
      return {
        name: 'blender-sidecar' as const,
        version: s.version,
        protocolVersion: s.protocolVersion,
        node: process.version,
        pid: process.pid,
        startedAt: s.startedAt,
        stateDir: s.stateDir,
        blender,
        blenders: await Promise.all(
          (await s.blenders.list()).map(async ({ path, source, version, problem }) => {
            const one = s.blenders.installation(path);
            let probed: Partial<{ exportFormats: string[]; bakeTypes: string[]; simulationBake: boolean }> = {};
            if (version && (probe || one.probed)) {
              try {
                const p = await one.probe();
                probed = { exportFormats: p.exportFormats.map((f) => f.format), bakeTypes: p.bakeTypes, simulationBake: p.simulationBake };
              } catch (err) {
                problem = describeError(err);
              }
            }
            return { path, source, version, problem, ...probed };
          }),
        ),
        capabilities: s.capabilities(),
        exportFormats: exportFormats.map(({ format, label, extensions, options }) => ({ format, label, extensions, options })),
        bakeTypes,
        simulationBake,
        pool: s.poolShape?.() ?? { instances: 0, threadsPerInstance: availableParallelism() },
      };
    },
    'sidecar.stop': ({ reason }) => {
      s.stop(reason ?? 'stopped by sidecar.stop');
      return { stopping: true as const };
    },
    'sidecar.ping': ({ echo }) => (echo === undefined ? { pong: true as const } : { pong: true as const, echo }),
    'rpc.discover': () => s.openRpc(),
    'events.subscribe': ({ topics }, { session }) => {
      const known = s.topics();
      const unknown = topics.filter((t) => !known.includes(t));
      if (unknown.length > 0) {
        throw new InvalidInputError('topics', `unknown topic ${unknown.map((t) => `"${t}"`).join(', ')}; accepted: ${known.join(', ')}`);
      }
      return { topics: session.subscribe(topics) };
    },
    'events.unsubscribe': ({ topics }, { session }) => ({ topics: session.unsubscribe(topics) }),
  };
}
