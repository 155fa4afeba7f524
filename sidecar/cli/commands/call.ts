import { SidecarClient } from '../../client/sidecar-client.js';
import { UsageError, intFlag, type Command } from '../command.js';

export const callCommand: Command = {
  name: 'call',
  summary:
    'Call one JSON-RPC method on the running sidecar and print its result as JSON (exit status 1 and the error in words if it fails).',
  usage: 'call METHOD [JSON-PARAMS] [--state-dir DIR | --url URL --token TOKEN]',
  options: {
    'state-dir': { type: 'string', valueName: 'DIR', description: 'Find the sidecar through sidecar.json in this folder.' },
    url: { type: 'string', valueName: 'URL', description: 'Connect to this ws:// URL instead (needs --token).' },
    token: { type: 'string', valueName: 'TOKEN', description: 'The token, with --url.' },
    timeout: { type: 'string', valueName: 'MS', description: 'How long to wait for the answer (default 30000; 0 waits forever).' },
  },
  epilog: 'Examples:\n  blender-sidecar call sidecar.ping\n  blender-sidecar call job.get \'{"jobId": "j-abc"}\'',
  async run({ values, positionals }) {
    const [method, rawParams] = positionals;
    if (!method) throw new UsageError('name the method to call, e.g. blender-sidecar call sidecar.info');
    if (positionals.length > 2) throw new UsageError('pass the params as one JSON argument (quote it)');
    let params: unknown = {};
    if (rawParams !== undefined) {
      try {
        params = JSON.parse(rawParams);
      } catch (err) {
        throw new UsageError(`JSON-PARAMS is not valid JSON: ${(err as Error).message}`);
      }
    }
    const timeoutMs = intFlag(values, 'timeout', { min: 0 });
    const client = await SidecarClient.connect({
      stateDir: values['state-dir'] as string | undefined,
      url: values.url as string | undefined,
      token: values.token as string | undefined,
    });
    try {
      const result = await client.call(method as never, params as never, timeoutMs === undefined ? {} : { timeoutMs });
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      return 0;
    } finally {
      await client.close();
    }
  },
};
