/** What method handlers may reach: the sidecar's parts, wired once by app.ts. */
import type { BlenderInstallation } from '../domain/blender/blender.js';
import type { BlenderInstallations } from '../domain/blender/installations.js';
import type { SyncStore } from '../domain/sync/store.js';
import type { EventBus } from '../events/bus.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics/registry.js';

export interface Services {
  version: string;
  protocolVersion: number;
  startedAt: string;
  stateDir: string;
  log: Logger;
  bus: EventBus;
  metrics: Metrics;
  /** The first Blender found (the default); `blenders` has every one. */
  blender: BlenderInstallation;
  blenders: BlenderInstallations;
  sync: SyncStore;
  capabilities(): string[];
  topics(): string[];
  openRpc(): Record<string, unknown>;
  poolShape?(): { instances: number; threadsPerInstance: number };
  /** Begins a clean shutdown (after the current answer has gone out). */
  stop(reason: string): void;
}
