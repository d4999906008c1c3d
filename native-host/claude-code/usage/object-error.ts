/**
 * The error of a settings object (a price file entry, the alert thresholds): `hint` when the value
 * is not an object, and unknown fields by name, with the fields there are — a misspelt setting must
 * not pass silently, and the person must see what to write instead.
 */
import type { z } from 'zod';

export const objectError = (hint: string, fields: readonly string[]) => (issue: z.core.$ZodRawIssue) => {
  if (issue.code === 'unrecognized_keys') {
    return `unknown field ${(issue.keys as string[]).map((key) => `"${key}"`).join(', ')} (the fields are ${fields.join(', ')})`;
  }
  return issue.code === 'invalid_type' ? hint : undefined;
};
