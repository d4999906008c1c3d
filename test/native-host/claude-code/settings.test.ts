import { describe, expect, it } from 'vitest';
import {
  HOOK_EVENTS,
  SettingsError,
  addHooks,
  missingHooks,
  ourCommands,
  ourGroup,
  parseSettings,
  removeHooks,
  settingsText,
  type Settings,
} from '../../../native-host/claude-code/settings';

const FILE = '/home/p/.claude/settings.json';
const commands = ourCommands('/home/p/.switchboard/bin/switchboard-hook');

/** A person's own settings, in their own 4-space formatting. */
const PERSONAL = `{
    "$schema": "https://json.schemastore.org/claude-code-settings.json",
    "model": "opus",
    "env": { "FOO": "1" },
    "permissions": {
        "allow": ["Bash(npm test:*)"],
        "deny": []
    },
    "hooks": {
        "PreToolUse": [
            { "matcher": "Bash", "hooks": [{ "type": "command", "command": "~/bin/check-bash.sh", "timeout": 5 }] }
        ],
        "Stop": [{ "hooks": [{ "type": "command", "command": "say done" }] }],
        "PostToolUseFailure": [{ "matcher": "*", "hooks": [{ "type": "http", "url": "http://localhost:9/x" }] }]
    },
    "statusLine": { "type": "command", "command": "~/.claude/statusline.sh", "padding": 0 }
}
`;

const parse = (text: string) => parseSettings(text, FILE);
const errorOf = (text: string): SettingsError => {
  try {
    parse(text);
  } catch (error) {
    return error as SettingsError;
  }
  throw new Error('expected a SettingsError');
};

describe('parseSettings', () => {
  it('names the file, the line and the column of a JSON error', () => {
    const error = errorOf('{\n  "model": "opus",\n  "hooks": {,}\n}\n');
    expect(error).toBeInstanceOf(SettingsError);
    expect(error.file).toBe(FILE);
    expect(error.message).toMatch(new RegExp(`^${FILE}: not valid JSON at line 3, column 13`));
    expect(error.message).toContain('nothing was changed');
  });

  it('refuses a trailing comma and comments (Claude Code reads plain JSON)', () => {
    expect(errorOf('{"model": "opus",}').message).toContain('line 1, column 18');
    expect(errorOf('// mine\n{}').message).toContain('line 1, column 1');
  });

  it.each([
    ['[]', '', 'expected a JSON object of settings'],
    ['{"hooks": []}', 'hooks', 'expected an object of hook events'],
    ['{"hooks": {"Stop": {"hooks": []}}}', 'hooks.Stop', 'expected a list of matcher groups'],
    ['{"hooks": {"Stop": [{"command": "x"}]}}', 'hooks.Stop[0].hooks', 'expected a list of hooks'],
    ['{"hooks": {"Stop": [{"hooks": ["say done"]}]}}', 'hooks.Stop[0].hooks[0]', 'expected a hook'],
    ['{"hooks": {"Stop": [{"hooks": [{"command": "x"}]}]}}', 'hooks.Stop[0].hooks[0].type', 'expected a hook type'],
    ['{"hooks": {"PreToolUse": [{"matcher": 3, "hooks": []}]}}', 'hooks.PreToolUse[0].matcher', 'expected a matcher text'],
    ['{"statusLine": "my-line.sh"}', 'statusLine', 'expected {"type": "command"'],
    ['{"statusLine": {"type": "command"}}', 'statusLine.command', 'expected the status line command'],
  ])('refuses %s: names %s', (text, field, problem) => {
    const error = errorOf(text);
    expect(error.message).toContain(`${FILE}: ${field ? `${field}: ` : ''}${problem}`);
  });

  it('takes an empty file, a byte-order mark, and settings it does not know', () => {
    expect(parse('')).toEqual({});
    expect(parse('\uFEFF{"model":"opus"}')).toEqual({ model: 'opus' });
    expect(parse('{"somethingNew": {"deep": [1]}, "hooks": {"FutureEvent": [{"hooks": [{"type": "mcp_tool", "tool": "t"}]}]}}')).toBeTruthy();
  });
});

describe('settingsText', () => {
  it('keeps the file\'s indentation, byte-order mark and final newline', () => {
    const data = parse(PERSONAL);
    expect(settingsText({ a: { b: 1 } }, '{\n\t"x": 1\n}')).toBe('{\n\t"a": {\n\t\t"b": 1\n\t}\n}');
    expect(settingsText({ a: 1 }, '\uFEFF{\n    "x": 1\n}\n')).toBe('\uFEFF{\n    "a": 1\n}\n');
    expect(settingsText({ a: 1 })).toBe('{\n  "a": 1\n}\n');
    // A file in JSON.stringify's own form comes back byte for byte.
    const plain = `${JSON.stringify(data, null, 4)}\n`;
    expect(settingsText(parse(plain), plain)).toBe(plain);
  });
});

describe('addHooks / removeHooks', () => {
  it("adds Switchboard's group to every event, after the person's own, keeping theirs as they were", () => {
    const data = parse(PERSONAL);
    const changed = addHooks(data, commands);
    expect(changed).toEqual([...HOOK_EVENTS]);
    const hooks = data.hooks as Record<string, unknown[]>;
    expect(hooks.PreToolUse).toEqual([
      { matcher: 'Bash', hooks: [{ type: 'command', command: '~/bin/check-bash.sh', timeout: 5 }] },
      { matcher: '*', hooks: [{ type: 'command', command: commands.hook, timeout: 10 }] },
    ]);
    expect(hooks.Stop).toEqual([
      { hooks: [{ type: 'command', command: 'say done' }] },
      {
        hooks: [
          { type: 'command', command: commands.hook, timeout: 10 },
          { type: 'command', command: `${commands.hook} --wait`, asyncRewake: true, timeout: 86_400 },
        ],
      },
    ]);
    expect(hooks.SessionStart).toEqual([{ hooks: [{ type: 'command', command: commands.hook, timeout: 10 }] }]);
    expect(hooks.PostToolUseFailure).toEqual([{ matcher: '*', hooks: [{ type: 'http', url: 'http://localhost:9/x' }] }]);
    // Everything else untouched, in the same order.
    const { hooks: _ours, ...rest } = data;
    const { hooks: _theirs, ...before } = parse(PERSONAL);
    expect(JSON.stringify(rest)).toBe(JSON.stringify(before));
    expect(Object.keys(data)).toEqual(Object.keys(parse(PERSONAL)));
    expect(missingHooks(data, commands)).toEqual([]);
  });

  it('a second add changes nothing', () => {
    const data = parse(PERSONAL);
    addHooks(data, commands);
    const once = JSON.stringify(data);
    expect(addHooks(data, commands)).toEqual([]);
    expect(JSON.stringify(data)).toBe(once);
  });

  it('replaces an older or edited copy of ours instead of adding a second', () => {
    const data = parse(PERSONAL);
    addHooks(data, commands);
    const hooks = data.hooks as Record<string, { hooks: Record<string, unknown>[] }[]>;
    hooks.PreToolUse[1].hooks[0].timeout = 3; // an older version's timeout
    hooks.Stop[0].hooks.push({ type: 'command', command: commands.hook }); // ours, moved in with theirs
    expect(missingHooks(data, commands)).toEqual(['PreToolUse', 'Stop']);
    expect(addHooks(data, commands)).toEqual(['PreToolUse', 'Stop']);
    expect(hooks.PreToolUse).toEqual([hooks.PreToolUse[0], ourGroup('PreToolUse', commands)]);
    expect(hooks.Stop).toEqual([{ hooks: [{ type: 'command', command: 'say done' }] }, ourGroup('Stop', commands)]);
  });

  it('remove takes out exactly ours: the settings are as they were', () => {
    const data = parse(PERSONAL);
    addHooks(data, commands);
    expect(removeHooks(data, [commands.hook, commands.wait]).sort()).toEqual([...HOOK_EVENTS].sort());
    expect(JSON.stringify(data)).toBe(JSON.stringify(parse(PERSONAL)));
  });

  it('from no hooks at all: remove leaves no empty hooks object behind, but keeps empty ones that were there', () => {
    const data: Settings = { model: 'opus' };
    addHooks(data, commands);
    removeHooks(data, [commands.hook, commands.wait]);
    expect(data).toEqual({ model: 'opus' });

    const empty: Settings = { hooks: { Stop: [] } };
    removeHooks(empty, [commands.hook]);
    expect(empty).toEqual({ hooks: { Stop: [] } });
  });

  it("remove keeps the person's hooks that share a group with ours", () => {
    const data: Settings = { hooks: { Stop: [{ hooks: [{ type: 'command', command: 'say done' }, { type: 'command', command: commands.hook }] }] } };
    expect(removeHooks(data, [commands.hook])).toEqual(['Stop']);
    expect(data).toEqual({ hooks: { Stop: [{ hooks: [{ type: 'command', command: 'say done' }] }] } });
  });
});
