/**
 * The Khronos glTF Validator, for tests that must show an export "passes the Khronos validator with no errors".
 * It is a dev dependency only: the sidecar's own check is `inspectGltf`, which never loads it.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, dirname, resolve } from 'node:path';

// The package ships no type declarations; these are the parts used here (see its README).
interface ValidatorReport {
  issues: {
    numErrors: number;
    numWarnings: number;
    messages: Array<{ code: string; message: string; severity: number; pointer?: string }>;
  };
}
interface ValidationOptions {
  uri: string;
  maxIssues: number;
  writeTimestamp: boolean;
  externalResourceFunction: (uri: string) => Promise<Uint8Array>;
}
interface Validator {
  validateBytes(data: Uint8Array, options: ValidationOptions): Promise<ValidatorReport>;
}
const validator = createRequire(import.meta.url)('gltf-validator') as Validator;

const SEVERITY = ['error', 'warning', 'info', 'hint'];

/**
 * Validates the .glb or .gltf at `path`, loading its external buffers and images from beside it. `messages` lists
 * every issue (errors, warnings, infos, hints) as "severity CODE at pointer: message", for an assertion to print.
 */
export async function validateGltf(path: string): Promise<{ errors: number; warnings: number; messages: string[] }> {
  const report = await validator.validateBytes(new Uint8Array(await readFile(path)), {
    uri: basename(path),
    maxIssues: 0, // no limit
    writeTimestamp: false,
    externalResourceFunction: async (uri) => {
      const file = resolve(dirname(path), decodeURIComponent(uri));
      return new Uint8Array(await readFile(file));
    },
  });
  const { numErrors, numWarnings, messages } = report.issues;
  return {
    errors: numErrors,
    warnings: numWarnings,
    messages: messages.map((m) => {
      const where = m.pointer ? ` at ${m.pointer}` : '';
      return `${SEVERITY[m.severity] ?? m.severity} ${m.code}${where}: ${m.message}`;
    }),
  };
}
