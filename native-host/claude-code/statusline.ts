/**
 * The status line (issue 5: "If the person already has a statusLine command, Switchboard wraps it
 * (its output unchanged) rather than replacing it"). Claude Code gives the status line command the
 * session's state on stdin — for subscribers the real `rate_limits` percentages, which the usage
 * monitor prefers to any estimate — so Switchboard needs to see that input.
 *
 * With the person's command X, the status line becomes `switchboard-statusline --tee | {⏎X⏎}`:
 * our script passes the input to the daemon in the background and copies it to X, which then runs
 * exactly as before — under Claude Code's own shell (X may be written for bash), in the same folder,
 * with the same environment — and the pipe's output and exit code are X's. X sits on lines of its
 * own inside the braces, so an X ending in a comment or `&` still parses. Uninstall puts X back as
 * it was, character for character.
 *
 * Without a status line, Switchboard's own prints nothing: the person's terminal looks as it did
 * before install (an empty status line takes no room), and Switchboard's state is shown in the hub,
 * not in a banner the person did not ask for.
 */
import type { Settings } from './settings';

const TEE = '--tee | {\n';
const END = '\n}';

/** The status line command: our script alone, or our script feeding the person's `original`. */
export function statusLineCommand(wrapperWord: string, original: string | null): string {
  return original === null ? wrapperWord : `${wrapperWord} ${TEE}${original}${END}`;
}

/**
 * When `command` is one statusLineCommand made: the command it wraps (null for none). Undefined
 * when the command is not ours.
 */
export function wrappedCommand(command: string, wrapperWord: string): string | null | undefined {
  if (command === wrapperWord) return null;
  const prefix = `${wrapperWord} ${TEE}`;
  if (command.startsWith(prefix) && command.endsWith(END) && command.length >= prefix.length + END.length) {
    return command.slice(prefix.length, command.length - END.length);
  }
  return undefined;
}

export interface StatusLineWrap {
  changed: boolean;
  /** the status line command now in the settings */
  command: string;
  /** the person's own command it wraps, or null when there was none */
  original: string | null;
}

type RawStatusLine = { type: string; command: string } & Record<string, unknown>;

/**
 * Puts our script in front of the person's status line, or installs ours when there is none. Already
 * wrapped: unchanged. The status line's other settings (padding, refreshInterval…) stay as they are.
 * Call only on data that readSettings accepted.
 */
export function wrapStatusLine(data: Settings, wrapperWord: string): StatusLineWrap {
  const current = data.statusLine as RawStatusLine | undefined;
  if (!current) {
    const command = statusLineCommand(wrapperWord, null);
    data.statusLine = { type: 'command', command };
    return { changed: true, command, original: null };
  }
  const already = wrappedCommand(current.command, wrapperWord);
  if (already !== undefined) return { changed: false, command: current.command, original: already };
  const original = current.command;
  current.command = statusLineCommand(wrapperWord, original);
  return { changed: true, command: current.command, original };
}

export type StatusLineRestore =
  /** the person's command is back */
  | 'restored'
  /** ours was the only status line: removed */
  | 'removed'
  /** no status line at all */
  | 'absent'
  /** someone put another status line there since: left alone */
  | 'not ours';

/**
 * Takes our script out of the status line: X comes back exactly, or the status line goes when ours
 * was the only one. `recorded` is what install wrote and what it found; when the command is no longer
 * that one but still ours (an install from another version), the wrapped command is read from it.
 */
export function unwrapStatusLine(data: Settings, wrapperWord: string, recorded?: { command: string; original: string | null }): StatusLineRestore {
  const current = data.statusLine as RawStatusLine | undefined;
  if (!current || typeof current.command !== 'string') return 'absent';
  const original = recorded && current.command === recorded.command ? recorded.original : wrappedCommand(current.command, wrapperWord);
  if (original === undefined) return 'not ours';
  if (original === null) {
    delete data.statusLine;
    return 'removed';
  }
  current.command = original;
  return 'restored';
}
