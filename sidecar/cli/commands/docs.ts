import { writeFileSync } from 'node:fs';
import { openRpcDocument } from '../../app.js';
import { renderRpcMarkdown } from '../../protocol/docs.js';
import type { Command } from '../command.js';

export const docsCommand: Command = {
  name: 'docs',
  summary: 'Write the RPC reference (Markdown, from the method table) or the OpenRPC document.',
  usage: 'docs [--out FILE] [--openrpc]',
  options: {
    out: { type: 'string', valueName: 'FILE', description: 'Write here instead of standard output.' },
    openrpc: { type: 'boolean', description: 'Print the OpenRPC JSON document instead of Markdown.' },
  },
  async run({ values }) {
    const doc = openRpcDocument();
    const text = values.openrpc ? `${JSON.stringify(doc, null, 2)}\n` : renderRpcMarkdown(doc);
    if (values.out) writeFileSync(values.out as string, text);
    else process.stdout.write(text);
    return 0;
  },
};
