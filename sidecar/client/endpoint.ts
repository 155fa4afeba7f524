/** Where a client connects: a URL and token given directly, or read from a running sidecar's discovery file. */
import { readDiscovery } from '../discovery.js';
import { defaultStateDir } from '../state-dir.js';
import { SidecarNotFoundError } from './errors.js';

export interface Endpoint {
  url: string;
  token: string;
}

export interface EndpointOptions {
  url?: string;
  token?: string;
  stateDir?: string;
}

export function resolveEndpoint(options: EndpointOptions = {}): Endpoint {
  if (options.url) {
    if (!options.token) throw new SidecarNotFoundError('a token is needed with a URL (it is in sidecar.json)');
    return { url: options.url, token: options.token };
  }
  const stateDir = options.stateDir ?? defaultStateDir();
  const reading = readDiscovery(stateDir);
  switch (reading.state) {
    case 'running':
      return { url: reading.info.url ?? `ws://127.0.0.1:${reading.info.port}/rpc`, token: reading.info.token };
    case 'stale':
      throw new SidecarNotFoundError(
        `the sidecar that wrote ${reading.path} (pid ${reading.info.pid}) is no longer running; start one with: blender-sidecar serve`,
      );
    case 'absent':
      throw new SidecarNotFoundError(`no sidecar is running (no ${reading.path}); start one with: blender-sidecar serve`);
    case 'unreadable':
      throw new SidecarNotFoundError(`cannot read the discovery file: ${reading.problem}`);
  }
}
