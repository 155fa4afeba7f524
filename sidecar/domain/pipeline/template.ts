/**
 * Output path templates of pipeline nodes: `{name}`, `{variant}`, `{variant_index}`, `{date}` and `{node}` are filled
 * in per branch, and a leading `//` means the base folder (the blend file's, or the one the submit names).
 */
import { isAbsolute, join, resolve } from 'node:path';

export const TEMPLATE_FIELDS = ['name', 'variant', 'variant_index', 'date', 'node'] as const;
export type TemplateField = (typeof TEMPLATE_FIELDS)[number];

const FIELD = /\{([^{}]*)\}/g;

/** The `{fields}` a template uses, in order, repeats included. */
export function fieldsOf(template: string): string[] {
  return [...template.matchAll(FIELD)].map((m) => m[1]!);
}

/** Why a template cannot be used, or undefined when it can. */
export function templateProblem(template: string): string | undefined {
  const unknown = fieldsOf(template).filter((f) => !(TEMPLATE_FIELDS as readonly string[]).includes(f));
  if (unknown.length) {
    return `${unknown.map((f) => `{${f}}`).join(', ')} ${unknown.length === 1 ? 'is not a template field' : 'are not template fields'}; use ${TEMPLATE_FIELDS.map((f) => `{${f}}`).join(', ')}`;
  }
  const rest = template.replace(FIELD, 'x');
  if (/[{}]/.test(rest)) return 'has a { or } that opens or closes no field';
  if (!template.startsWith('//') && !isAbsolute(template))
    return `"${template}" must be an absolute path, or start with // to mean the blend file's folder`;
  return undefined;
}

/** A value as it goes into a file name: numbers as written, vectors joined with _, anything unsafe replaced by _. */
export function fileSafe(value: unknown): string {
  const text = Array.isArray(value) ? value.map((v) => String(v)).join('_') : String(value);
  return text.replace(/[^\w.-]+/g, '_').replace(/^\.+/, '_') || '_';
}

/** Fills a template and makes it absolute. `values` holds the fields this branch has; a missing one becomes "". */
export function fillTemplate(template: string, values: Partial<Record<TemplateField, unknown>>, baseDir: string): string {
  const filled = template.replace(FIELD, (_m, f: TemplateField) => (values[f] === undefined ? '' : fileSafe(values[f])));
  const folder = /[\\/]$/.test(filled);
  const path = filled.startsWith('//') ? join(baseDir, filled.slice(2)) : filled;
  return resolve(path) + (folder ? '/' : '');
}

/** YYYY-MM-DD of a moment, in the sidecar's local time. */
export function localDate(iso: string): string {
  const d = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}
