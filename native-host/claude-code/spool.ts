/**
 * The spool: hook events that `switchboard-hook` could not post while the daemon was down
 * (hook-script.ts), one `<home>/spool/<ns since epoch>-<pid>.json` per event. The daemon drains it
 * when it starts and every few seconds (issue 5: "no event is lost while the daemon is down").
 *
 * Events go out in name order, which is time order, one at a time: a session's SessionStart is never
 * delivered after its PreToolUse. A file is deleted only once `deliver` has resolved, so a crash in
 * between delivers it again rather than never — the receiver must tolerate a repeat.
 */
import { mkdir, readFile, readdir, rename, stat, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';

/**
 * Thrown by `deliver` for a payload it will never accept (not a hook event): the file moves to
 * `spool/bad/` like one that is not JSON, instead of blocking every event behind it forever.
 * Any other rejection means "not now" (the store is busy): the drain stops and the file stays.
 */
export class RejectedPayload extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RejectedPayload';
  }
}

/**
 * Takes one spooled event: `receivedAt` is when the hook spooled it (ms), `pid` the hook process's id
 * from the file's name (undefined for a file named otherwise), which tells a copy of an event whose
 * POST reached the daemon after all (hook-copies.ts).
 */
export type Deliver = (payload: unknown, receivedAt: number, pid: number | undefined) => Promise<void>;

export interface DrainOptions {
  /** one line per file moved to `bad/`; default console.warn */
  warn?: (line: string) => void;
}

export interface DrainResult {
  /** events delivered and deleted */
  delivered: number;
  /** files moved to `bad/` (their new paths) */
  bad: string[];
  /** why the drain stopped early, leaving files for the next one; undefined when it emptied the spool */
  stoppedBy?: Error;
}

/** `<19 digits>-<pid>.json`: the hook names its files after the time it spooled them, in ns, and its pid. */
const SPOOLED_NAME = /^(\d{19})-(\d{1,10})\.json$/;

/** Per folder: the drain running now, and at most one more queued behind it. */
const drains = new Map<string, { running: Promise<DrainResult>; queued?: Promise<DrainResult> }>();

/**
 * Delivers every `*.json` in `dir`, oldest first, deleting each once delivered. Safe to call while
 * another drain of the same folder runs: the call waits for it and then drains once more (calls made
 * meanwhile share that second drain), so a file spooled after the first one listed the folder is
 * still delivered, and no file is delivered twice by overlapping drains.
 */
export function drainSpool(dir: string, deliver: Deliver, options: DrainOptions = {}): Promise<DrainResult> {
  const key = resolve(dir);
  const current = drains.get(key);
  if (current?.queued) return current.queued;
  const start = (): Promise<DrainResult> => {
    const running = drainOnce(key, deliver, options.warn ?? ((line) => console.warn(line))).finally(() => {
      const state = drains.get(key);
      if (state?.running !== running) return;
      if (state.queued) return; // the queued drain is about to take its place
      drains.delete(key);
    });
    return running;
  };
  if (!current) {
    const running = start();
    drains.set(key, { running });
    return running;
  }
  const queued = current.running
    .catch(() => undefined) // its caller has that error; this drain starts afresh
    .then(() => {
      const running = start();
      drains.set(key, { running });
      return running;
    });
  current.queued = queued;
  return queued;
}

async function drainOnce(dir: string, deliver: Deliver, warn: (line: string) => void): Promise<DrainResult> {
  const result: DrainResult = { delivered: 0, bad: [] };
  let names: string[];
  try {
    names = (await readdir(dir, { withFileTypes: true })).filter((entry) => entry.isFile() && entry.name.endsWith('.json')).map((entry) => entry.name);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return result; // nothing was ever spooled
    throw error;
  }
  names.sort();
  for (const name of names) {
    const file = join(dir, name);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue; // taken away meanwhile
      throw error;
    }
    let payload: unknown;
    try {
      payload = JSON.parse(text);
    } catch (error) {
      result.bad.push(await moveToBad(dir, name, `not JSON (${(error as Error).message})`, warn));
      continue;
    }
    try {
      await deliver(payload, await receivedAt(file, name), pidOf(name));
    } catch (error) {
      if (error instanceof RejectedPayload) {
        result.bad.push(await moveToBad(dir, name, `refused: ${error.message}`, warn));
        continue;
      }
      result.stoppedBy = error instanceof Error ? error : new Error(String(error));
      return result;
    }
    await unlink(file).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
    result.delivered++;
  }
  return result;
}

/** When the hook spooled the event: from the name; for a file named otherwise, its modification time. */
async function receivedAt(file: string, name: string): Promise<number> {
  const match = SPOOLED_NAME.exec(name);
  if (match) return Math.floor(Number(BigInt(match[1]) / 1_000_000n));
  return Math.floor((await stat(file)).mtimeMs);
}

/** The hook process's id in a spool file's name. */
function pidOf(name: string): number | undefined {
  const match = SPOOLED_NAME.exec(name);
  return match ? Number(match[2]) : undefined;
}

async function moveToBad(dir: string, name: string, reason: string, warn: (line: string) => void): Promise<string> {
  const bad = join(dir, 'bad');
  await mkdir(bad, { recursive: true, mode: 0o700 });
  const target = join(bad, name);
  await rename(join(dir, name), target);
  warn(`spooled hook event ${join(dir, name)} moved to ${target}: ${reason}`);
  return target;
}
