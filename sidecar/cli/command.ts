/** What a CLI command is: a name, its help text, its flags (node:util parseArgs), and what it runs. */
import { parseArgs, type ParseArgsConfig } from 'node:util';

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export type OptionSpec = NonNullable<ParseArgsConfig['options']>[string] & { description: string; valueName?: string };

export interface Command {
  name: string;
  summary: string;
  usage: string;
  options: Record<string, OptionSpec>;
  /** Extra help text after the option list (examples). */
  epilog?: string;
  run(args: { values: Record<string, unknown>; positionals: string[] }): Promise<number | undefined>;
}

export function helpText(cmd: Command): string {
  const lines = [`Usage: blender-sidecar ${cmd.usage}`, '', cmd.summary, '', 'Options:'];
  const entries = Object.entries({ ...cmd.options, help: { type: 'boolean', description: 'Show this help.' } as OptionSpec });
  const left = entries.map(([name, o]) => `  --${name}${o.type === 'string' ? ` ${o.valueName ?? 'VALUE'}` : ''}`);
  const width = Math.max(...left.map((l) => l.length)) + 2;
  for (const [i, [, o]] of entries.entries()) lines.push(`${left[i]!.padEnd(width)}${o.description}`);
  if (cmd.epilog) lines.push('', cmd.epilog);
  return lines.join('\n');
}

export function parseCommandArgs(cmd: Command, argv: string[]) {
  const options: ParseArgsConfig['options'] = { help: { type: 'boolean', short: 'h' } };
  for (const [name, o] of Object.entries(cmd.options)) {
    const { description: _d, valueName: _v, ...rest } = o;
    options[name] = rest;
  }
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (err) {
    // parseArgs' messages name the flag ("Unknown option '--frame'"); keep them and point at the help.
    throw new UsageError(`${(err as Error).message.replace(/\. To specify a positional argument.*$/s, '')}`);
  }
}

/** Reads an integer flag, or says which flag is wrong and why. */
export function intFlag(values: Record<string, unknown>, name: string, opts: { min?: number; max?: number } = {}): number | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || (opts.min !== undefined && n < opts.min) || (opts.max !== undefined && n > opts.max)) {
    const range =
      opts.min !== undefined && opts.max !== undefined
        ? ` from ${opts.min} to ${opts.max}`
        : opts.min !== undefined
          ? ` of at least ${opts.min}`
          : '';
    throw new UsageError(`--${name} must be a whole number${range}, not "${String(raw)}"`);
  }
  return n;
}
