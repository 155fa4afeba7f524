import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { checkGraph, pipelineJsonSchema, type GraphError } from '../../domain/pipeline/graph.js';
import type { PipelineReport } from '../../domain/pipeline/report.js';
import { BLENDER_OPTION, connectOrStart, embeddedBlender } from '../connect.js';
import { followJob, type JobResult } from '../follow.js';
import { ProgressView, progressMode } from '../progress.js';
import { intFlag, UsageError, type Command } from '../command.js';

/** Reads a pipeline JSON file (as the editor exports it); a file that is not JSON is a usage mistake. */
function readGraphFile(path: string | undefined): unknown {
  if (!path) throw new UsageError('name the pipeline JSON file');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(
      `cannot read ${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`,
    );
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${path} is not valid JSON: ${(err as Error).message}`);
  }
}

function printErrors(file: string, errors: GraphError[]) {
  process.stderr.write(`error: ${file} has ${errors.length === 1 ? 'an error' : `${errors.length} errors`}:\n`);
  for (const e of errors) process.stderr.write(`  ${e.message.startsWith(e.field) ? e.message : `${e.field}: ${e.message}`}\n`);
}

function kb(bytes: number): string {
  return bytes < 1024 ? `${bytes} B` : bytes < 1024 ** 2 ? `${Math.round(bytes / 1024)} KB` : `${(bytes / 1024 ** 2).toFixed(1)} MB`;
}

/** The report as text: every node with its state and counts, the outputs with sizes, then failures and skips. */
function formatReport(job: JobResult): string {
  const r = (job.result ?? {}) as Partial<PipelineReport> & { reports?: string[] };
  const lines = [`pipeline '${r.pipeline ?? '?'}' ${job.state} (job ${job.id})`];
  const nodes = r.nodes ?? [];
  if (nodes.length) {
    lines.push('', 'nodes:');
    const w = Math.max(...nodes.map((n) => n.name.length));
    for (const n of nodes) {
      const counts = n.total
        ? `${n.done}/${n.total} done${n.failed ? `, ${n.failed} failed` : ''}${n.skipped ? `, ${n.skipped} skipped` : ''}`
        : '';
      const warn = n.warnings ? `, ${n.warnings} warning${n.warnings === 1 ? '' : 's'}` : '';
      lines.push(`  ${n.name.padEnd(w)}  ${n.type.padEnd(10)} ${n.state.padEnd(8)} ${counts}${warn}`.trimEnd());
    }
  }
  const outputs = r.outputs ?? [];
  lines.push('', `outputs (${outputs.length}):`);
  for (const o of outputs) {
    const what = o.kind === 'render' ? `${o.width}x${o.height}` : o.triangles !== undefined ? `${o.triangles} triangles` : (o.format ?? '');
    lines.push(`  ${o.path}  ${kb(o.bytes)}  ${what}`);
  }
  for (const v of r.validations ?? []) {
    for (const w of v.warnings ?? [])
      lines.push(`warning: ${v.step}: ${w.check}: ${w.offenders.map((o) => `${o.object} (${o.detail})`).join(', ')}`);
  }
  if (r.failures?.length) {
    lines.push('', `failed (${r.failures.length}):`);
    for (const f of r.failures) lines.push(`  ${f.reason}`);
  }
  if (r.skipped?.length) {
    lines.push('', `skipped (${r.skipped.length}):`);
    for (const s of r.skipped) lines.push(`  ${s.step}: ${s.reason}`);
  }
  if (!nodes.length && job.error) lines.push('', job.error);
  for (const path of r.reports ?? []) lines.push('', `report written to ${path}`);
  if (r.workDir) lines.push(`intermediate files kept in ${r.workDir}`);
  return `${lines.join('\n')}\n`;
}

async function run(values: Record<string, unknown>, file: string): Promise<number> {
  const graph = readGraphFile(file);
  if (!values.input) throw new UsageError('--input FILE.blend is required: the file the pipeline works on');
  const checked = checkGraph(graph);
  if (!checked.ok) {
    if (values.json === true) process.stdout.write(`${JSON.stringify({ event: 'invalid', errors: checked.errors })}\n`);
    else printErrors(file, checked.errors);
    return 1;
  }
  const instances = intFlag(values, 'instances', { min: 1, max: 64 });
  const params = {
    graph: graph as Record<string, unknown>,
    blendFile: resolve(values.input as string),
    baseDir: values['base-dir'] ? resolve(values['base-dir'] as string) : undefined,
    keepWorkFiles: values['keep-work-files'] === true,
    instances,
    priority: values.priority as 'high' | 'normal' | 'low' | undefined,
    blender: values.blender as string | undefined,
  };
  const conn = await connectOrStart({
    oneJob: true,
    stateDir: values['state-dir'] as string | undefined,
    instances,
    blender: embeddedBlender(values.blender),
  });
  try {
    const mode = progressMode(values.json === true);
    const view = new ProgressView(mode, 'pipeline', 'steps');
    const { jobId } = await conn.client.call('pipeline.submit', params);
    const job = await followJob(conn.client, jobId, view);
    if (mode === 'json') process.stdout.write(`${JSON.stringify({ event: 'result', job })}\n`);
    else process.stdout.write(formatReport(job));
    if (job.state !== 'completed') {
      if (mode !== 'json') process.stderr.write(`error: the pipeline ${job.state}${job.error ? `: ${job.error.split('\n')[0]}` : ''}\n`);
      return job.state === 'canceled' ? 130 : 1;
    }
    return 0;
  } finally {
    await conn.release();
  }
}

export const pipelineCommand: Command = {
  name: 'pipeline',
  summary:
    "Run a pipeline graph (exported from the editor) over a .blend and print its report, check a graph, or print the graph's JSON Schema.",
  usage:
    'pipeline run GRAPH.json --input FILE.blend [--json] [--keep-work-files]\n' +
    '       blender-sidecar pipeline validate GRAPH.json [--json]\n' +
    '       blender-sidecar pipeline schema [--out FILE]',
  options: {
    input: { type: 'string', short: 'i', valueName: 'FILE', description: 'run: the .blend file the pipeline works on.' },
    'base-dir': {
      type: 'string',
      valueName: 'DIR',
      description: "run: what // means in output paths (default: the .blend file's folder).",
    },
    'keep-work-files': { type: 'boolean', description: 'run: keep the intermediate .blend files (their folder is printed).' },
    instances: { type: 'string', valueName: 'N', description: 'run: workers for this job (and the pool size of an embedded sidecar).' },
    priority: { type: 'string', valueName: 'P', description: 'run: high, normal (default) or low.' },
    json: { type: 'boolean', description: 'Print progress and the result (or the errors) as JSON lines.' },
    out: { type: 'string', valueName: 'FILE', description: 'schema: write the JSON Schema here instead of standard output.' },
    'state-dir': { type: 'string', valueName: 'DIR', description: "The sidecar's state folder." },
    blender: BLENDER_OPTION,
  },
  epilog:
    'Exit status: 0 when every step completed, 1 when the graph is invalid or a step failed (the report says which and why).\n\n' +
    'Examples:\n  blender-sidecar pipeline run game-asset.json --input props.blend\n  blender-sidecar pipeline validate game-asset.json',
  async run({ values, positionals }) {
    const [sub, file, ...rest] = positionals;
    if (rest.length) throw new UsageError(`one graph at a time (got ${positionals.length - 1} files)`);
    switch (sub) {
      case 'run':
        return run(values, file!);
      case 'validate': {
        const checked = checkGraph(readGraphFile(file));
        if (values.json === true) {
          process.stdout.write(`${JSON.stringify(checked.ok ? { ok: true, errors: [] } : { ok: false, errors: checked.errors })}\n`);
        } else if (checked.ok) {
          process.stdout.write(
            `${file}: a valid pipeline of ${checked.graph.nodes.length} nodes and ${checked.graph.links.length} links\n`,
          );
        } else printErrors(file!, checked.errors);
        return checked.ok ? 0 : 1;
      }
      case 'schema': {
        const text = `${JSON.stringify(pipelineJsonSchema(), null, 2)}\n`;
        if (values.out) writeFileSync(values.out as string, text);
        else process.stdout.write(text);
        return 0;
      }
      default:
        throw new UsageError(
          sub
            ? `unknown pipeline command "${sub}"; use run, validate or schema`
            : 'say what to do: pipeline run, pipeline validate or pipeline schema',
        );
    }
  },
};
