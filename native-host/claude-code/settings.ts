/**
 * Claude Code's settings file (`~/.claude/settings.json`, or `<project>/.claude/settings.json`) and
 * Switchboard's hooks in it (issue 5, "Install": keep every hook and setting the person already has).
 *
 * The file is parsed, changed as data, and written back in its own indentation, so everything the
 * person wrote stays as it was apart from what Switchboard adds. Switchboard's hooks are recognised
 * by their command — the hook script's path — never by position: a second install finds them and
 * changes nothing, and removal takes exactly those and leaves every other hook where it was.
 *
 * Hook shape (ARCHITECTURE.md, "Claude Code"): `{"hooks": {"<Event>": [{"matcher"?, "hooks": [{"type":
 * "command", "command", "timeout"?, "asyncRewake"?}]}]}}`. `asyncRewake: true` (Claude Code 2.1.x's
 * settings schema: "runs in background and wakes the model on exit code 2 … Implies async") is the
 * Stop hook that waits for mail and wakes an idle session.
 */
import { readFileSync, realpathSync } from 'node:fs';
import { z } from 'zod';
import { ValidationError, fieldPath } from '../../src/protocol/envelope';
import { jsonErrorOffset } from '../config';

/** The events Switchboard listens to: a session's whole life, its tools, its prompts and its failures. */
export const HOOK_EVENTS = [
  'SessionStart',
  'UserPromptSubmit',
  'PreToolUse',
  'PostToolUse',
  'Notification',
  'Stop',
  'SubagentStop',
  'StopFailure',
  'PreCompact',
  'SessionEnd',
] as const;
export type HookEvent = (typeof HOOK_EVENTS)[number];

/** Events whose groups select tools by `matcher`; "*" is every tool. The others take no matcher. */
const TOOL_EVENTS: ReadonlySet<HookEvent> = new Set(['PreToolUse', 'PostToolUse']);

/** Seconds Claude Code gives the hook: the script itself gives up on the daemon after 2 (hook-script.ts). */
export const HOOK_TIMEOUT_SECONDS = 10;
/** The waiting Stop hook may wait a day for mail; it runs in the background, so no one waits on it. */
export const WAIT_TIMEOUT_SECONDS = 86_400;

export type Settings = Record<string, unknown>;

export interface HookCommand {
  type: 'command';
  command: string;
  timeout: number;
  asyncRewake?: true;
}
export interface MatcherGroup {
  matcher?: string;
  hooks: HookCommand[];
}

// ---------------------------------------------------------------------------------------------
// Reading: refuse what cannot be merged safely, naming the file and the field.

const HookEntry = z.looseObject(
  { type: z.string({ error: 'expected a hook type ("command", "http", …)' }) },
  { error: 'expected a hook: an object with "type"' },
);
const Group = z.looseObject(
  {
    matcher: z.string({ error: 'expected a matcher text' }).optional(),
    hooks: z.array(HookEntry, { error: 'expected a list of hooks' }),
  },
  { error: 'expected a matcher group: an object with "hooks"' },
);
const Hooks = z.record(z.string(), z.array(Group, { error: 'expected a list of matcher groups' }), {
  error: 'expected an object of hook events ({"PreToolUse": [...], …})',
});
const StatusLine = z.looseObject(
  {
    type: z.literal('command', { error: 'expected "command"' }),
    command: z.string({ error: 'expected the status line command' }),
  },
  { error: 'expected {"type": "command", "command": …}' },
);
const SettingsShape = z.looseObject({ hooks: Hooks.optional(), statusLine: StatusLine.optional() }, { error: 'expected a JSON object of settings' });

/** A settings file that cannot be changed safely; `message` names the file and what is wrong. */
export class SettingsError extends ValidationError {
  constructor(
    readonly file: string,
    issues: { field: string; problem: string }[],
  ) {
    super(file, issues);
    this.name = 'SettingsError';
    this.message = `${issues.map((issue) => `${file}: ${issue.field ? `${issue.field}: ` : ''}${issue.problem}`).join('\n')}\nnothing was changed; correct the file and run the command again`;
  }
}

export interface LoadedSettings {
  /** the path as named */
  file: string;
  /** where the bytes are: the file itself, or what its symbolic link points at (dotfile managers link it) */
  target: string;
  /** the file's text, or undefined when there is no file yet */
  text: string | undefined;
  data: Settings;
}

/** Reads and checks a settings file; a missing file is empty settings. Throws SettingsError. */
export function readSettings(file: string): LoadedSettings {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { file, target: file, text: undefined, data: {} };
    throw new SettingsError(file, [{ field: '', problem: `cannot read: ${(error as Error).message}` }]);
  }
  return { file, target: realpathSync(file), text, data: parseSettings(text, file) };
}

/** Parses a settings file's text; `file` only names it in errors. Throws SettingsError. */
export function parseSettings(withBom: string, file: string): Settings {
  const text = withBom.replace(/^\uFEFF/, '');
  // An empty file is what an editor leaves after "new file": no settings yet.
  if (text.trim() === '') return {};
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    const at = jsonErrorOffset(text);
    const before = text.slice(0, Math.max(0, at)).split('\n');
    throw new SettingsError(file, [
      {
        field: '',
        problem: `not valid JSON at line ${before.length}, column ${before[before.length - 1].length + 1}: ${(error as Error).message}`,
      },
    ]);
  }
  const result = SettingsShape.safeParse(data, { reportInput: true });
  if (!result.success) {
    throw new SettingsError(
      file,
      result.error.issues.map((issue) => {
        const got = 'input' in issue && issue.input !== undefined ? `, got ${JSON.stringify(issue.input)?.slice(0, 80)}` : '';
        return { field: fieldPath(issue.path), problem: `${issue.message}${got}` };
      }),
    );
  }
  return data as Settings;
}

/**
 * The file's new text: 2-space JSON — or the indentation the file already uses — with the file's
 * byte-order mark and final newline kept as they were.
 */
export function settingsText(data: Settings, like?: string): string {
  const bom = like?.startsWith('\uFEFF') ? '\uFEFF' : '';
  const newline = like === undefined || like.trim() === '' || /\n\s*$/.test(like) ? '\n' : '';
  return `${bom}${JSON.stringify(data, null, indentOf(like))}${newline}`;
}

function indentOf(text: string | undefined): string | number {
  const first = text && /\n([ \t]+)\S/.exec(text);
  if (!first) return 2;
  return first[1].startsWith('\t') ? '\t' : first[1].length;
}

// ---------------------------------------------------------------------------------------------
// Switchboard's hooks

/** The commands Switchboard's hooks run, as they appear in the settings. */
export interface OurCommands {
  /** every event */
  hook: string;
  /** the asyncRewake hook of Stop and StopFailure */
  wait: string;
}

export function ourCommands(hookCommandWord: string): OurCommands {
  return { hook: hookCommandWord, wait: `${hookCommandWord} --wait` };
}

/** The group Switchboard adds to one event. */
export function ourGroup(event: HookEvent, commands: OurCommands): MatcherGroup {
  const hooks: HookCommand[] = [{ type: 'command', command: commands.hook, timeout: HOOK_TIMEOUT_SECONDS }];
  // A turn ends in Stop, or in StopFailure (a rate limit): either way the session is idle, and mail may wake it.
  if (event === 'Stop' || event === 'StopFailure') hooks.push({ type: 'command', command: commands.wait, asyncRewake: true, timeout: WAIT_TIMEOUT_SECONDS });
  return TOOL_EVENTS.has(event) ? { matcher: '*', hooks } : { hooks };
}

type RawGroup = { hooks: { command?: unknown }[] } & Record<string, unknown>;

const sameJson = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * Adds Switchboard's group to every event that lacks it exactly; returns the events changed. An event
 * with an older or edited copy of ours has that copy taken out first, so there is always exactly one.
 * Call only on data that readSettings accepted.
 */
export function addHooks(data: Settings, commands: OurCommands): HookEvent[] {
  const changed: HookEvent[] = [];
  const hooks = (data.hooks ??= {}) as Record<string, RawGroup[]>;
  const mine = new Set([commands.hook, commands.wait]);
  for (const event of HOOK_EVENTS) {
    const wanted = ourGroup(event, commands);
    const groups = hooks[event];
    if (groups) {
      if (exactlyOurs(groups, wanted, mine)) continue;
      stripOurs(groups, mine);
      groups.push(wanted as unknown as RawGroup);
    } else {
      hooks[event] = [wanted as unknown as RawGroup];
    }
    changed.push(event);
  }
  return changed;
}

/** Whether ours is in `groups` once, as `wanted`, and in no other group. */
function exactlyOurs(groups: RawGroup[], wanted: MatcherGroup, mine: ReadonlySet<string>): boolean {
  const withOurs = groups.filter((group) => group.hooks.some((hook) => mine.has(hook.command as string)));
  return withOurs.length === 1 && sameJson(withOurs[0], wanted);
}

/**
 * Takes out every hook whose command is one of `commands`, then the groups, events and `hooks` object
 * that this left empty (never ones that were empty already); returns the events changed.
 */
export function removeHooks(data: Settings, commands: readonly string[]): string[] {
  const hooks = data.hooks as Record<string, RawGroup[]> | undefined;
  if (!hooks) return [];
  const mine = new Set(commands);
  const changed: string[] = [];
  for (const [event, groups] of Object.entries(hooks)) {
    if (!stripOurs(groups, mine)) continue;
    changed.push(event);
    if (groups.length === 0) delete hooks[event];
  }
  if (changed.length && Object.keys(hooks).length === 0) delete data.hooks;
  return changed;
}

/** Removes our hooks from an event's groups in place; drops groups that held only ours. */
function stripOurs(groups: RawGroup[], mine: ReadonlySet<string>): boolean {
  let removed = false;
  for (let index = groups.length - 1; index >= 0; index--) {
    const group = groups[index];
    const kept = group.hooks.filter((hook) => !mine.has(hook.command as string));
    if (kept.length === group.hooks.length) continue;
    removed = true;
    if (kept.length === 0) groups.splice(index, 1);
    else group.hooks = kept;
  }
  return removed;
}

/** The events whose Switchboard group is missing, or not exactly as install writes it (for doctor). */
export function missingHooks(data: Settings, commands: OurCommands): HookEvent[] {
  const hooks = (data.hooks ?? {}) as Record<string, RawGroup[]>;
  const mine = new Set([commands.hook, commands.wait]);
  return HOOK_EVENTS.filter((event) => !exactlyOurs(hooks[event] ?? [], ourGroup(event, commands), mine));
}
