/** The sidecar's own methods: who it is, whether it answers, what it offers, and event subscriptions. */
import { z } from 'zod';
import { ErrorCode } from '../../errors.js';
import { method } from '../../protocol/method.js';

export const BlenderInfo = z.object({
  found: z.boolean(),
  path: z.string().optional().describe('The Blender executable (or wrapper script) workers run.'),
  version: z.string().optional().describe('As Blender reports it, e.g. "3.4.1".'),
  problem: z.string().optional().describe('When not found or not usable: what was tried and how to fix it.'),
});

export const ExportFormatInfo = z.object({
  format: z.string(),
  label: z.string(),
  extensions: z.array(z.string()),
  options: z.array(z.string()).describe("The exporter operator's option names this Blender accepts."),
});

export const coreMethods = {
  'sidecar.info': method({
    summary: 'What this sidecar is: versions, the Blender it drives, and what it can do.',
    params: z.strictObject({}),
    result: z.object({
      name: z.literal('blender-sidecar'),
      version: z.string(),
      protocolVersion: z.number().int(),
      node: z.string(),
      pid: z.number().int(),
      startedAt: z.string(),
      stateDir: z.string(),
      blender: BlenderInfo,
      capabilities: z.array(z.string()),
      exportFormats: z.array(ExportFormatInfo).describe('Formats the installed Blender can write (probed once).'),
      pool: z.object({ instances: z.number().int(), threadsPerInstance: z.number().int() }),
    }),
  }),
  'sidecar.ping': method({
    summary: 'Answers at once; for liveness checks and latency measurements.',
    params: z.strictObject({ echo: z.unknown().optional().describe('Returned unchanged.') }),
    result: z.object({ pong: z.literal(true), echo: z.unknown().optional() }),
  }),
  'rpc.discover': method({
    summary: 'The OpenRPC 1.3 document describing every method, its params, result and errors.',
    params: z.strictObject({}),
    result: z.record(z.string(), z.unknown()),
  }),
  'events.subscribe': method({
    summary: 'Start receiving server-to-client notifications for the given topics on this connection.',
    description:
      'Topics are notification method names (for example "job.progress", "job.state", "alert"). ' +
      'The answer lists every topic this connection is now subscribed to.',
    params: z.strictObject({ topics: z.array(z.string()).min(1) }),
    result: z.object({ topics: z.array(z.string()) }),
    example: { topics: ['job.progress', 'job.state'] },
    errors: [{ code: -32602, message: 'unknown topic (the error names it and lists the accepted ones)' }],
  }),
  'events.unsubscribe': method({
    summary: 'Stop receiving notifications for the given topics (all of them when none are given).',
    params: z.strictObject({ topics: z.array(z.string()).optional() }),
    result: z.object({ topics: z.array(z.string()) }),
  }),
};

export const unavailableError = { code: ErrorCode.Unavailable, message: 'the sidecar is shutting down or Blender is not usable' };
