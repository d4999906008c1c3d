/**
 * Where the transcript reader remembers how far it has read each file, so a daemon restart carries
 * on from there instead of counting every transcript again. The reader takes any CursorStore; this
 * one is a plain JSON file, replaced atomically (written beside, then renamed) so a crash mid-write
 * leaves the previous state, never half of one.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';
import { parseOrThrow } from '../../../src/protocol/envelope';

const count = z.int({ error: 'expected an integer ≥ 0' }).min(0, { error: 'expected an integer ≥ 0' });

export const FileCursor = z.strictObject({
  /** the byte just after the last complete line read */
  offset: count,
  /** the file's inode when read: another inode at the same path is another file, read from the start */
  ino: count,
  /** the offset is inside a line longer than the reader's maxLineBytes, being skipped to its end */
  skipping: z.boolean(),
  /**
   * The last dedupe keys seen in this file, with their token totals and times: the lines of one
   * response are written one after another, so a restart between two of them must still know the
   * first. `[key, tokens, at]`.
   */
  recent: z.array(z.tuple([z.string(), count, count])),
});
export type FileCursor = z.infer<typeof FileCursor>;

export const CursorState = z.strictObject({
  version: z.literal(1),
  /** by the transcript's absolute path */
  files: z.record(z.string(), FileCursor),
});
export type CursorState = z.infer<typeof CursorState>;

export interface CursorStore {
  /** The saved state, or undefined when nothing was saved yet. */
  load(): Promise<CursorState | undefined>;
  save(state: CursorState): Promise<void>;
}

/** Keeps the state in `file` (created with its folder on the first save). A file that is not a valid state is refused, naming the field. */
export function jsonFileCursorStore(file: string): CursorStore {
  return {
    async load() {
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw error;
      }
      let data: unknown;
      try {
        data = JSON.parse(text);
      } catch (error) {
        throw new Error(`transcript cursors in ${file} are not JSON: ${(error as Error).message}`);
      }
      return parseOrThrow(CursorState, data, `transcript cursors in ${file}`);
    },
    async save(state) {
      await mkdir(dirname(file), { recursive: true });
      const temporary = `${file}.${process.pid}.tmp`;
      await writeFile(temporary, JSON.stringify(state), { mode: 0o600 });
      await rename(temporary, file);
    },
  };
}

/** Keeps the state in memory: for tests, and for a reader that may recount after a restart. */
export function memoryCursorStore(initial?: CursorState): CursorStore & { saved: CursorState | undefined } {
  const store = {
    saved: initial === undefined ? undefined : structuredClone(initial),
    async load() {
      return store.saved === undefined ? undefined : structuredClone(store.saved);
    },
    async save(state: CursorState) {
      store.saved = structuredClone(state);
    },
  };
  return store;
}
