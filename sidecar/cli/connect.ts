/**
 * The client a CLI command works through: the running sidecar (found through sidecar.json) if there is one, else a
 * sidecar embedded in this process for the length of the command.
 */
import { startSidecar, type RunningSidecar } from '../app.js';
import { SidecarClient } from '../client/sidecar-client.js';
import type { OptionSpec } from './command.js';
import { readDiscovery } from '../discovery.js';
import { StateFolderHeldError, ownerAlive } from '../state-lock.js';
import { defaultStateDir } from '../state-dir.js';

export interface Connection {
  client: SidecarClient;
  /** Set when this command started its own sidecar; closed by `release`. */
  embedded?: RunningSidecar;
  release(): Promise<void>;
}

export interface ConnectOptions {
  stateDir?: string;
  instances?: number | 'auto';
  blender?: string;
  /** Never start an embedded sidecar (for commands that only make sense against a running one). */
  requireRunning?: boolean;
  /**
   * The command submits one job and follows it: an embedded sidecar leaves finished jobs on disk unread (a state
   * folder of a thousand finished renders is 100 MB of JSON). Not for `call`, whose job.list must see them all.
   */
  oneJob?: boolean;
}

/** `--blender` of the commands that submit a job: a pin for the job, read by `embeddedBlender` for an embedded sidecar. */
export const BLENDER_OPTION: OptionSpec = {
  type: 'string',
  valueName: 'VERSION|PATH',
  description:
    'Run the job on this Blender: a version such as 4.2 (an installed one) or a path or command name. Default: the installed Blender the file needs. An embedded sidecar started for this command runs a path given here.',
};

/** A command's `--blender`: a path or command name is also what a sidecar started for the command runs; a version is only a pin. */
export function embeddedBlender(value: unknown): string | undefined {
  return typeof value === 'string' && !/^\d+\.\d+(\.\d+)?$/.test(value.trim()) ? value : undefined;
}

export async function connectOrStart(options: ConnectOptions = {}): Promise<Connection> {
  const stateDir = options.stateDir ?? defaultStateDir();
  if (options.requireRunning || readDiscovery(stateDir).state === 'running') {
    const client = await SidecarClient.connect({ stateDir });
    return { client, release: () => client.close() };
  }
  let embedded: RunningSidecar;
  try {
    embedded = await startSidecar({
      stateDir,
      port: 0,
      instances: options.instances,
      blender: options.blender,
      logToStderr: false,
      skipFinishedJobs: options.oneJob === true,
    });
  } catch (err) {
    // Another sidecar took the folder first (it is starting right now): use it once it is listening.
    if (!(err instanceof StateFolderHeldError)) throw err;
    await waitForDiscovery(stateDir, err);
    const client = await SidecarClient.connect({ stateDir });
    return { client, release: () => client.close() };
  }
  const client = await SidecarClient.connect({ url: embedded.url, token: embedded.token });
  return {
    client,
    embedded,
    release: async () => {
      await client.close();
      await embedded.close('the command finished');
    },
  };
}

/** Waits (polling, up to 60 s) for the sidecar holding the folder to write its discovery file. */
async function waitForDiscovery(stateDir: string, held: StateFolderHeldError): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (readDiscovery(stateDir).state !== 'running') {
    if (Date.now() > deadline || !ownerAlive(held.owner)) throw held;
    await new Promise((r) => setTimeout(r, 100));
  }
}
