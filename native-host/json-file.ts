/** Reading the host's own small JSON records (what an install wrote), with errors that say what to do. */
import { readFileSync } from 'node:fs';
import type { z } from 'zod';
import { parseOrThrow } from '../src/protocol/envelope';

/**
 * The record in `file`, validated with `schema`; undefined when there is no file. A file that is not
 * JSON throws `${file} is not valid JSON; ${advice}`; one of the wrong shape names each bad field.
 */
export function readJsonRecord<S extends z.ZodType>(file: string, schema: S, advice: string): z.output<S> | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new Error(`${file} is not valid JSON; ${advice}`);
  }
  return parseOrThrow(schema, data, file);
}
