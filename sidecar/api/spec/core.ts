/** The sidecar's own methods: who it is, whether it answers, what it offers, and event subscriptions. */
import { z } from 'zod';
import { method } from '../../protocol/method.js';

const BlenderInfo = z.object({
  found: z.boolean(),
  path: z.string().optional().describe('The Blender executable (or wrapper script) workers run.'),
  version: z.string().optional().describe('As Blender reports it, e.g. "3.4.1".'),
  problem: z.string().optional().describe('When not found or not usable: what was tried and how to fix it.'),
});

const ExportFormatInfo = z.object({
  format: z.string(),
  label: z.string(),
  extensions: z.array(z.string()),
  options: z.array(z.string()).describe("The exporter operator's option names this Blender accepts."),
});

export const coreMethods = {
  'sidecar.info': method({
    summary: 'What this sidecar is: versions, the Blender it drives, and what it can do.',
    description:
      'The first call runs Blender once to learn its version and export formats (a few seconds; cached on disk after). ' +
      "With probe: false it answers at once, without Blender's version and formats unless they are already known.",
    params: z.strictObject({ probe: z.boolean().default(true).describe('Ask Blender for its version and formats if not known yet.') }),
    result: z.object({
      name: z.literal('blender-sidecar'),
      version: z.string(),
      protocolVersion: z.number().int(),
      node: z.string(),
      pid: z.number().int(),
      startedAt: z.string(),
      stateDir: z.string(),
      blender: BlenderInfo,
      blenders: z
        .array(
          z.object({
            path: z.string(),
            source: z.string().describe('How it was found: --blender, BLENDER, PATH or install location.'),
            version: z.string().optional(),
            problem: z.string().optional().describe('Why it cannot be used.'),
            exportFormats: z.array(z.string()).optional().describe('The formats it can write (after a probe).'),
            bakeTypes: z.array(z.string()).optional().describe('The texture bake types its Cycles offers (after a probe).'),
            simulationBake: z.boolean().optional().describe('Whether it can bake simulation zones and Bake nodes (after a probe).'),
          }),
        )
        .describe('Every Blender this sidecar knows; a job runs on the one its file needs (see blend.inspect).'),
      capabilities: z.array(z.string()),
      exportFormats: z.array(ExportFormatInfo).describe('Formats the installed Blender can write (probed once).'),
      simulationBake: z
        .boolean()
        .describe('Whether the installed Blender can bake Geometry Nodes simulations and Bake nodes (bake.simulation; Blender 4.1+).'),
      bakeTypes: z
        .array(z.string())
        .describe("Texture bake types the installed Blender's Cycles offers (bake.submit maps[].type), probed with the formats."),
      pool: z.object({ instances: z.number().int(), threadsPerInstance: z.number().int() }),
    }),
  }),
  'sidecar.stop': method({
    summary:
      'Stops the sidecar cleanly after answering: jobs are saved (unfinished ones resume at the next start), workers end, sidecar.json is removed.',
    params: z.strictObject({ reason: z.string().max(200).optional() }),
    result: z.object({ stopping: z.literal(true) }),
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
    errors: [{ kind: 'bad-input', message: 'unknown topic (the error names it and lists the accepted ones)' }],
  }),
  'events.unsubscribe': method({
    summary: 'Stop receiving notifications for the given topics (all of them when none are given).',
    params: z.strictObject({ topics: z.array(z.string()).optional() }),
    result: z.object({ topics: z.array(z.string()) }),
  }),
};
