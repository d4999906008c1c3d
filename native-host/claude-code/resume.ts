/**
 * Resuming a Claude Code session that has exited, for mail that came after it ended (issue 5:
 * "Resuming a session that has exited (`claude --resume`) happens only when the person enabled
 * it"; config.json `claudeCode.resumeExited`).
 *
 * The resumed run is `claude --resume <session id> -p <RESUME_PROMPT>` in the session's own folder,
 * in the background, its output in `<home>/logs/resume-<session id>.log`. Its hooks do the rest, as
 * for any session: SessionStart and UserPromptSubmit put the waiting mail in, Stop routes the answer
 * and acks it. One run per session at a time, at most one a minute and three in six hours per
 * session, so a run that fails at once (a rate limit still there) does not loop; when a run ends
 * with mail still waiting, `stillWaiting` says so and another run follows a minute later, within
 * those bounds.
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';

export const RESUME_PROMPT = 'Switchboard resumed this session because messages came for it after it ended. Read them (they are in your context) and deal with them.';
const MIN_GAP_MS = 60_000;
/** At most this many runs per session in RUN_WINDOW_MS: a session that meets its limit again and again is not resumed for ever. */
const MAX_RUNS = 3;
const RUN_WINDOW_MS = 6 * 3_600_000;

export interface ResumerOptions {
  /** config.json claudeCode.resumeExited: off, nothing is ever started */
  enabled: boolean;
  /** the claude command (config.json claudeCode.command; default `claude` on PATH) */
  command: string;
  /** where the runs' output goes */
  logDir: string;
  log: (line: string) => void;
  now?: () => number;
  /** whether mail still waits for the session (asked when a run ends) */
  stillWaiting?: (sessionId: string) => boolean;
  /** for tests: runs `work` after `ms`; default an unref'd setTimeout */
  later?: (work: () => void, ms: number) => void;
  /** for tests: starts the process; default a detached spawn */
  start?: (command: string, args: string[], cwd: string | undefined, logFile: string) => { exited: Promise<number | null> };
}

export class SessionResumer {
  private readonly folders = new Map<string, string>();
  private readonly running = new Set<string>();
  private readonly starts = new Map<string, number[]>();

  constructor(private readonly options: ResumerOptions) {}

  /** Notes a session's folder from its hook payloads (the run must start there to find it). */
  track(sessionId: string, cwd: unknown): void {
    if (typeof cwd === 'string' && cwd) this.folders.set(sessionId, cwd);
  }

  /**
   * Mail waits for an ended session: resume it, when enabled, in its folder (the one its hooks
   * reported, else `folder`, the project the hub knows). Returns whether a run started.
   */
  resume(sessionId: string, folder?: string): boolean {
    const { enabled, command, log } = this.options;
    if (!enabled) return false;
    // A session id goes on a command line: only the characters Claude Code's own ids have, and never
    // a leading dash, which claude would read as an option of its own.
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/.test(sessionId)) {
      log(`warning: not resuming ${JSON.stringify(sessionId.slice(0, 80))}: not a session id`);
      return false;
    }
    const cwd = this.folders.get(sessionId) ?? folder;
    if (!cwd) {
      log(`warning: not resuming session ${sessionId}: its folder is not known (claude --resume finds a session only from its own folder)`);
      return false;
    }
    const now = (this.options.now ?? Date.now)();
    const recent = (this.starts.get(sessionId) ?? []).filter((at) => now - at < RUN_WINDOW_MS);
    if (this.running.has(sessionId) || now - (recent.at(-1) ?? -Infinity) < MIN_GAP_MS) return false;
    if (recent.length >= MAX_RUNS) {
      log(`warning: not resuming session ${sessionId} again: resumed ${recent.length} times in ${RUN_WINDOW_MS / 3_600_000} h; its mail waits`);
      return false;
    }
    this.running.add(sessionId);
    this.starts.set(sessionId, [...recent, now]);
    mkdirSync(this.options.logDir, { recursive: true, mode: 0o700 });
    const logFile = join(this.options.logDir, `resume-${sessionId}.log`);
    log(`resuming Claude Code session ${sessionId} for its mail: ${command} --resume ${sessionId} -p … (in ${cwd}; output in ${logFile})`);
    const run = (this.options.start ?? startDetached)(command, ['--resume', sessionId, '-p', RESUME_PROMPT], cwd, logFile);
    const ended = (problem?: string) => {
      this.running.delete(sessionId);
      if (problem) log(`warning: ${problem}`);
      // Mail that came during the run and found no hook point after it.
      if (this.options.stillWaiting?.(sessionId)) (this.options.later ?? laterUnref)(() => void this.resume(sessionId, cwd), MIN_GAP_MS);
    };
    void run.exited.then(
      (code) => ended(code === 0 ? undefined : `the resumed session ${sessionId} exited with ${code}; see ${logFile}`),
      (error: Error) => ended(`could not resume session ${sessionId}: ${error.message}`),
    );
    return true;
  }
}

function laterUnref(work: () => void, ms: number): void {
  setTimeout(work, ms).unref();
}

function startDetached(command: string, args: string[], cwd: string | undefined, logFile: string): { exited: Promise<number | null> } {
  const out = openSync(logFile, 'a', 0o600);
  try {
    const child = spawn(command, args, { cwd, stdio: ['ignore', out, out], detached: true });
    child.unref();
    return {
      exited: new Promise((resolve, reject) => {
        child.once('error', reject);
        child.once('exit', (code) => resolve(code));
      }),
    };
  } finally {
    closeSync(out);
  }
}
