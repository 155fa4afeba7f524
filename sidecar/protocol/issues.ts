/** Turns zod's issues into `{field, message}` pairs that name the field the way a user wrote it (`items[2].format`). */
import type { z } from 'zod';

export interface FieldError {
  field: string;
  message: string;
}

export function fieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out || '(params)';
}

export function formatIssues(issues: readonly z.core.$ZodIssue[]): FieldError[] {
  const out: FieldError[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        out.push({ field: fieldPath([...issue.path, key]), message: 'unknown field' });
      }
      continue;
    }
    out.push({ field: fieldPath(issue.path), message: issue.message });
  }
  return out;
}
