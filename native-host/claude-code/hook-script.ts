/**
 * The two POSIX sh scripts Claude Code runs (issue 5, "Install"): `<home>/bin/switchboard-hook` for
 * every hook event and `<home>/bin/switchboard-statusline` for the status line.
 *
 * Why command hooks running sh + curl (ARCHITECTURE.md, "Claude Code"): hooks run one after another
 * on every tool call, so each must be cheap — a node hook costs about 80 ms, curl about 16 ms, and
 * this script adds one `cat` and one `rm` to curl. `http` hooks would be cheaper still, but Claude
 * Code skips them for SessionStart, and an event sent while the daemon is down would be gone; this
 * script keeps such an event in `<home>/spool/` for the daemon to read when it is back (spool.ts).
 *
 * Only sh builtins, cat, curl, mv, rm and date run on an event (`--wait`, in the background, also
 * reads Claude Code's arguments with tr, or ps on macOS): no node, no python. Paths and the URL are baked
 * in at install time (single-quoted, so any path works). The token reaches curl in a config file,
 * `<home>/curl-auth.conf` (mode 0600, kept equal to the token file by everything that opens the
 * home: a new token needs no new install), never on the command line where every user of the
 * machine could read it in the process list. The event goes to curl on its stdin.
 */
import { join } from 'node:path';

export interface HookScriptOptions {
  home: string;
  /** the daemon's API port (config.json api.port) */
  apiPort: number;
  /** the daemon's API host; default 127.0.0.1 */
  apiHost?: string;
  /**
   * How long `switchboard-hook --wait` waits for mail, in seconds, retrying every `waitRetrySeconds`
   * while the daemon is not there. Default 86400: the asyncRewake hook's own timeout in the settings.
   */
  waitSeconds?: number;
  /** default 10 */
  waitRetrySeconds?: number;
}

/** How long an event may take to reach the daemon before it is spooled instead, in seconds. */
export const POST_MAX_SECONDS = 2;
/** The status line posts in the background; this bounds how long that post lingers. */
export const STATUSLINE_MAX_SECONDS = 1;
export const DEFAULT_WAIT_SECONDS = 86_400;

export const HOOK_SCRIPT_NAME = 'switchboard-hook';
export const STATUSLINE_SCRIPT_NAME = 'switchboard-statusline';

export interface ScriptPaths {
  hook: string;
  statusLine: string;
  spool: string;
  token: string;
  /** the token as a curl config line (config.ts ensureHome keeps it) */
  curlAuth: string;
}

export function scriptPaths(home: string): ScriptPaths {
  return {
    hook: join(home, 'bin', HOOK_SCRIPT_NAME),
    statusLine: join(home, 'bin', STATUSLINE_SCRIPT_NAME),
    spool: join(home, 'spool'),
    token: join(home, 'token'),
    curlAuth: join(home, 'curl-auth.conf'),
  };
}

/** A word for sh: single quotes keep everything literal; a ' inside is closed, escaped and reopened. */
export function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** A path as a command word: bare when it has nothing sh would interpret, so settings stay readable. */
export function commandWord(path: string): string {
  return /^[A-Za-z0-9_./+:@%-]+$/.test(path) ? path : shellQuote(path);
}

export function apiBase(apiPort: number, apiHost = '127.0.0.1'): string {
  if (!Number.isInteger(apiPort) || apiPort < 1 || apiPort > 65_535) {
    throw new Error(`the API port must be a whole number from 1 to 65535, got ${apiPort}; set api.port in config.json to a fixed port`);
  }
  return `http://${apiHost.includes(':') ? `[${apiHost}]` : apiHost}:${apiPort}`;
}

/**
 * The lines every script shares: where things are, and `post PATH MAX-SECONDS [curl options]`, which
 * posts the file in $incoming and prints the answer. The heredoc gives curl the token as a config line
 * on its stdin (no fork: sh writes a short heredoc straight into a pipe).
 */
function preamble(options: HookScriptOptions): string {
  const where = scriptPaths(options.home);
  return `spool=${shellQuote(where.spool)}
auth=${shellQuote(where.curlAuth)}
base=${shellQuote(apiBase(options.apiPort, options.apiHost))}
post() {
  path=$1
  max=$2
  shift 2
  curl -s --fail --max-time "$max" "$@" -K "$auth" -H 'Content-Type: application/json' --data-binary @"$incoming" "$base$path" 2>/dev/null
}`;
}

/**
 * `switchboard-hook`: Claude Code gives it the event's JSON on stdin.
 * - Posts it to `/hooks`; on success prints the answer (hook output JSON) and exits 0.
 * - When that fails (daemon down, slow, refusing), moves the event into `spool/<ns>-<pid>.json` —
 *   written whole under a dot-name first, so no partial file ever has a `.json` name — and exits 0
 *   printing nothing: a hook must never stop Claude Code's work. The POST carries the same pid
 *   (`X-Switchboard-Hook-Pid`, no extra process), so when a POST that timed out had reached the
 *   daemon after all, the daemon knows the spooled file for a copy and drops it (hook-copies.ts).
 * - `--wait` (the asyncRewake Stop hook): long-polls `/hooks/wait` with the same payload; when the
 *   daemon answers with text (mail for this session) prints it on stderr and exits 2, which wakes the
 *   session; otherwise exits 0 silently. Never spools: the event itself went with the first Stop hook.
 *   In a one-shot `claude -p` it exits 0 at once: Claude Code 2.1.x backgrounds an asyncRewake hook
 *   only when the session is interactive or reads `--input-format stream-json`, and otherwise waits
 *   for it — a wait for mail would keep the run from ending (seen with 2.1.329). The session's mail
 *   then goes with the Stop hook's own answer (`decision: block`), from the daemon.
 */
export function hookScript(options: HookScriptOptions): string {
  const waitSeconds = options.waitSeconds ?? DEFAULT_WAIT_SECONDS;
  const retrySeconds = options.waitRetrySeconds ?? 10;
  const retries = Math.max(1, Math.ceil(waitSeconds / retrySeconds));
  return `#!/bin/sh
# ${HOOK_SCRIPT_NAME}: posts a Claude Code hook event to the Switchboard daemon and prints its answer.
# When the daemon cannot be reached the event is kept in the spool folder, one file per event, and
# the daemon reads it when it starts. With --wait: waits for mail for the session; exit 2 with the
# mail on stderr wakes it. Written by \`switchboard claude-code install\`: install again, do not edit.
${preamble(options)}
if [ "\${1-}" = --wait ]; then
  incoming="$spool/.incoming-$$.tmp"
  { cat > "$incoming"; } 2>/dev/null || exit 0
  # Claude Code runs an asyncRewake hook in the background only in an interactive session or with
  # --input-format stream-json; in a one-shot \`claude -p\` it waits for it, so waiting for mail
  # there would hold the run open: return at once. (Its environment and the payload are the same in
  # both -p modes; only its arguments tell.) One argument a line: exact from /proc on Linux; on
  # macOS ps joins them with spaces, so a prompt holding " -p " is taken for the flag there.
  pid=\${CLAUDE_PID:-$PPID}
  nl='
'
  if [ -r "/proc/$pid/cmdline" ]; then
    args=$(tr '\\000' '\\n' < "/proc/$pid/cmdline" 2>/dev/null)
  else
    args=$(ps -o args= -p "$pid" 2>/dev/null | tr ' ' '\\n')
  fi
  case "$nl$args$nl" in
  *"$nl-p$nl"* | *"$nl--print$nl"*)
    case "$nl$args$nl" in
    *"$nl--input-format\${nl}stream-json$nl"* | *"$nl--input-format=stream-json$nl"*) ;;
    *) rm -f "$incoming"; exit 0 ;;
    esac
    ;;
  esac
  # Retries while nothing listens (the daemon restarting), so a session that went idle then can still be woken.
  answer=$(post /hooks/wait ${waitSeconds} --retry ${retries} --retry-delay ${retrySeconds} --retry-connrefused --retry-max-time ${waitSeconds})
  rm -f "$incoming"
  [ -n "$answer" ] || exit 0
  printf '%s\\n' "$answer" >&2
  exit 2
fi
# The event stays in a variable and goes to curl on its stdin: on success nothing touches the disk,
# and curl prints the answer itself. The hook's own pid names this event in the POST and in a spool
# file alike: a POST that reached the daemon but answered too late is spooled too, and the daemon
# drops that second copy (hook-copies.ts). The Claude Code process that runs this hook is its
# parent: Switchboard's MCP server, which that process starts too, finds its session by it. Claude
# Code names itself in $CLAUDE_PID (the hook's parent may be a shell it started).
payload=$(cat) || exit 0
curl -s --fail --max-time ${POST_MAX_SECONDS} -K "$auth" -H 'Content-Type: application/json' -H "X-Switchboard-Hook-Pid: $$" -H "X-Claude-Pid: \${CLAUDE_PID:-$PPID}" --data-binary @- "$base/hooks" 2>/dev/null <<EOF && exit 0
$payload
EOF
incoming="$spool/.incoming-$$.tmp"
{ printf '%s\\n' "$payload" > "$incoming"; } 2>/dev/null || exit 0
# Nanoseconds since the epoch, 19 digits, so names sort by time (BSD date has no %N: whole seconds).
stamp=$(date +%s%N)
case $stamp in *N) stamp="$(date +%s)000000000" ;; esac
mv -f "$incoming" "$spool/$stamp-$$.json" 2>/dev/null || rm -f "$incoming"
exit 0
`;
}

/**
 * `switchboard-statusline`: Claude Code gives a status line command the session's state on stdin
 * (model, cost, context, and for subscribers `rate_limits`, which the usage monitor needs). This posts
 * it to `/hooks/statusline` in the background, so the status line waits for nothing, and:
 * - alone, prints nothing: Switchboard adds no text of its own to the person's terminal;
 * - with `--tee`, copies its stdin to stdout unchanged, for the person's own status line command that
 *   follows it in a pipe (statusline.ts) — that command then runs as before, under Claude Code's own
 *   shell, and its output and exit code are the status line's.
 */
export function statusLineScript(options: HookScriptOptions): string {
  return `#!/bin/sh
# ${STATUSLINE_SCRIPT_NAME}: passes Claude Code's status line input to the Switchboard daemon in the
# background. With --tee it also copies the input to stdout, for the status line command after it
# in the pipe. Written by \`switchboard claude-code install\`: install again, do not edit.
${preamble(options)}
incoming="$spool/.statusline-$$.tmp"
# "true", not ":": a failed redirection on a special builtin such as ":" ends the whole script.
if ! { true > "$incoming"; } 2>/dev/null; then
  # No spool folder: still pass the input on, so the person's status line keeps working.
  [ "\${1-}" = --tee ] && exec cat
  exit 0
fi
cat > "$incoming"
[ "\${1-}" = --tee ] && cat "$incoming"
# Nothing of Claude Code's is left open in the background job, so it waits for none of it.
( post /hooks/statusline ${STATUSLINE_MAX_SECONDS}; rm -f "$incoming" ) </dev/null >/dev/null 2>&1 &
exit 0
`;
}
