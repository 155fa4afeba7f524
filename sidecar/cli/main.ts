/**
 * `blender-sidecar`: the CLI entry. A user-facing error prints as one sentence (exit 1; 2 for a usage mistake);
 * anything unexpected prints its stack, since it is a bug to report.
 */
import { RpcCallError, ConnectionClosedError, CallTimeoutError, SidecarNotFoundError } from '../client/errors.js';
import { DomainError } from '../domain/errors.js';
import { VERSION } from '../version.js';
import { UsageError, helpText, parseCommandArgs, type Command } from './command.js';
import { callCommand } from './commands/call.js';
import { docsCommand } from './commands/docs.js';
import { demoCommand } from './commands/demo.js';
import { exportCommand } from './commands/export.js';
import { bakeCommand } from './commands/bake.js';
import { pipelineCommand } from './commands/pipeline.js';
import { renderCommand } from './commands/render.js';
import { serveCommand } from './commands/serve.js';

export const commands: Command[] = [
  serveCommand,
  renderCommand,
  exportCommand,
  bakeCommand,
  pipelineCommand,
  callCommand,
  demoCommand,
  docsCommand,
];

function topHelp(): string {
  const width = Math.max(...commands.map((c) => c.name.length)) + 2;
  return [
    `blender-sidecar ${VERSION}: background Blender renders and exports, scripted over JSON-RPC.`,
    '',
    'Usage: blender-sidecar COMMAND [options]',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}${c.summary.split('. ')[0]!.replace(/\.$/, '')}`),
    '',
    "Run blender-sidecar COMMAND --help for a command's options.",
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${topHelp()}\n`);
    return name ? 0 : 2;
  }
  if (name === '--version' || name === '-v') {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  const cmd = commands.find((c) => c.name === name);
  if (!cmd) throw new UsageError(`unknown command "${name}"; commands: ${commands.map((c) => c.name).join(', ')}`);
  const parsed = parseCommandArgs(cmd, rest);
  if (parsed.values.help) {
    process.stdout.write(`${helpText(cmd)}\n`);
    return 0;
  }
  return (await cmd.run(parsed as never)) ?? 0;
}

export function reportError(err: unknown, argv: string[]): number {
  if (err instanceof UsageError) {
    const cmd = argv[0] && commands.some((c) => c.name === argv[0]) ? ` ${argv[0]}` : '';
    process.stderr.write(`error: ${err.message}\n(see blender-sidecar${cmd} --help)\n`);
    return 2;
  }
  if (err instanceof RpcCallError) {
    process.stderr.write(`error: ${err.message}\n`);
    const fields = (err.data as { errors?: Array<{ field: string; message: string }> } | undefined)?.errors;
    if (Array.isArray(fields) && fields.length > 1) for (const f of fields) process.stderr.write(`  ${f.field}: ${f.message}\n`);
    return 1;
  }
  if (
    err instanceof DomainError ||
    err instanceof ConnectionClosedError ||
    err instanceof CallTimeoutError ||
    err instanceof SidecarNotFoundError
  ) {
    process.stderr.write(`error: ${err.message}\n`);
    return 1;
  }
  const e = err as NodeJS.ErrnoException;
  if (e?.code === 'EADDRINUSE') {
    process.stderr.write(`error: the port is already in use; pick another with --port, or 0 for any free one\n`);
    return 1;
  }
  process.stderr.write(`unexpected error (please report it): ${e?.stack ?? String(err)}\n`);
  return 1;
}

export function runCli(argv: string[]): void {
  main(argv).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.exitCode = reportError(err, argv);
    },
  );
}
