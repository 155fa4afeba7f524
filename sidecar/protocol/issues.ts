/** Turns zod's issues into `{field, message}` pairs that name the field the way a user wrote it (`items[2].format`). */
import type { z } from 'zod';
import { fieldPath } from '../domain/errors.js';

export interface FieldError {
  field: string;
  message: string;
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
