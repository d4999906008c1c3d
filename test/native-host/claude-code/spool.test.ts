import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RejectedPayload, drainSpool } from '../../../native-host/claude-code/spool';

let spool: string;
let warnings: string[];

beforeEach(() => {
  spool = mkdtempSync(join(tmpdir(), 'sb-spool-'));
  warnings = [];
});
afterEach(() => rmSync(spool, { recursive: true, force: true }));

const warn = (line: string) => warnings.push(line);
/** A spooled file as the hook names it: ns since the epoch (19 digits), then the pid. */
const spooled = (ms: number, pid: number, content: string) => {
  const name = `${BigInt(ms) * 1_000_000n + 123_456n}-${pid}.json`;
  writeFileSync(join(spool, name), content);
  return name;
};
const remaining = () => readdirSync(spool).filter((name) => name.endsWith('.json'));

describe('drainSpool', () => {
  it('delivers every event oldest first with its spooling time, deleting each after delivery', async () => {
    const base = 1_760_000_000_000;
    // Written out of order; a longer pid must not change the order (names sort by time first).
    spooled(base + 2_000, 7, '{"hook_event_name":"Stop"}');
    spooled(base, 123456, '{"hook_event_name":"SessionStart"}');
    spooled(base + 1_000, 99, '{"hook_event_name":"PreToolUse"}');
    const seen: [unknown, number][] = [];
    const result = await drainSpool(spool, async (payload, at) => {
      seen.push([payload, at]);
      expect(remaining()).toHaveLength(3 - seen.length + 1); // the current file is still there while it is delivered
    }, { warn });
    expect(seen).toEqual([
      [{ hook_event_name: 'SessionStart' }, base],
      [{ hook_event_name: 'PreToolUse' }, base + 1_000],
      [{ hook_event_name: 'Stop' }, base + 2_000],
    ]);
    expect(result).toEqual({ delivered: 3, bad: [] });
    expect(remaining()).toEqual([]);
  });

  it('takes a differently named .json by its modification time, and ignores the hook\'s temporary files', async () => {
    writeFileSync(join(spool, 'by-hand.json'), '{"x":1}');
    utimesSync(join(spool, 'by-hand.json'), 1_700_000_000, 1_700_000_000);
    writeFileSync(join(spool, '.incoming-42.tmp'), '{"half":');
    const seen: number[] = [];
    await drainSpool(spool, async (_payload, at) => void seen.push(at), { warn });
    expect(seen).toEqual([1_700_000_000_000]);
    expect(readdirSync(spool)).toEqual(['.incoming-42.tmp']);
  });

  it('moves a malformed file to bad/ with a warning and goes on', async () => {
    spooled(1_000, 1, '{"hook_event_name":"SessionStart"}');
    const broken = spooled(2_000, 1, '{"hook_event_name": "Pre');
    spooled(3_000, 1, '{"hook_event_name":"Stop"}');
    const seen: unknown[] = [];
    const result = await drainSpool(spool, async (payload) => void seen.push(payload), { warn });
    expect(seen).toEqual([{ hook_event_name: 'SessionStart' }, { hook_event_name: 'Stop' }]);
    expect(result.bad).toEqual([join(spool, 'bad', broken)]);
    expect(readFileSync(join(spool, 'bad', broken), 'utf8')).toBe('{"hook_event_name": "Pre');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(broken);
    expect(warnings[0]).toContain('not JSON');
    expect(remaining()).toEqual([]);
  });

  it('moves a payload deliver refuses for good (RejectedPayload) to bad/ too', async () => {
    const refused = spooled(1_000, 1, '[1,2,3]');
    spooled(2_000, 1, '{"hook_event_name":"Stop"}');
    const seen: unknown[] = [];
    const result = await drainSpool(
      spool,
      async (payload) => {
        if (Array.isArray(payload)) throw new RejectedPayload('expected a hook event object');
        seen.push(payload);
      },
      { warn },
    );
    expect(seen).toEqual([{ hook_event_name: 'Stop' }]);
    expect(result.bad).toEqual([join(spool, 'bad', refused)]);
    expect(warnings[0]).toContain('expected a hook event object');
  });

  it('stops at an event deliver cannot take now, keeping it and every later one for the next drain', async () => {
    spooled(1_000, 1, '{"n":1}');
    spooled(2_000, 1, '{"n":2}');
    spooled(3_000, 1, '{"n":3}');
    const failure = new Error('hub store busy');
    const first = await drainSpool(spool, async (payload) => {
      if ((payload as { n: number }).n === 2) throw failure;
    }, { warn });
    expect(first).toEqual({ delivered: 1, bad: [], stoppedBy: failure });
    expect(remaining()).toHaveLength(2);

    const seen: unknown[] = [];
    expect(await drainSpool(spool, async (payload) => void seen.push(payload), { warn })).toEqual({ delivered: 2, bad: [] });
    expect(seen).toEqual([{ n: 2 }, { n: 3 }]);
  });

  it('overlapping drains deliver each event once, and a later call still sees files spooled meanwhile', async () => {
    for (let index = 0; index < 5; index++) spooled(1_000 + index, 1, JSON.stringify({ n: index }));
    const seen: number[] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const deliver = async (payload: unknown) => {
      await gate;
      seen.push((payload as { n: number }).n);
    };
    const first = drainSpool(spool, deliver, { warn });
    // The first drain has listed the folder; this event comes after.
    await new Promise((resolve) => setTimeout(resolve, 20));
    spooled(9_000, 1, JSON.stringify({ n: 5 }));
    const second = drainSpool(spool, deliver, { warn });
    const third = drainSpool(spool, deliver, { warn });
    expect(third).toBe(second); // calls made while one waits share it
    release();
    const results = await Promise.all([first, second, third]);
    expect(seen).toEqual([0, 1, 2, 3, 4, 5]);
    expect(results[0].delivered + results[1].delivered).toBe(6);
    expect(remaining()).toEqual([]);
  });

  it('drains another folder at the same time without waiting for this one', async () => {
    const other = mkdtempSync(join(tmpdir(), 'sb-spool-other-'));
    try {
      writeFileSync(join(other, `${'1'.repeat(19)}-1.json`), '{"other":true}');
      spooled(1_000, 1, '{"mine":true}');
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const slow = drainSpool(spool, () => gate, { warn });
      const seen: unknown[] = [];
      await drainSpool(other, async (payload) => void seen.push(payload), { warn });
      expect(seen).toEqual([{ other: true }]);
      release();
      await slow;
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });

  it('a folder that does not exist yet has nothing to deliver', async () => {
    expect(await drainSpool(join(spool, 'missing'), async () => {}, { warn })).toEqual({ delivered: 0, bad: [] });
  });

  it('a bad/ folder already there is reused and never drained', async () => {
    mkdirSync(join(spool, 'bad'));
    writeFileSync(join(spool, 'bad', 'old.json'), '{"old":true}');
    const broken = spooled(1_000, 1, 'nope');
    const seen: unknown[] = [];
    await drainSpool(spool, async (payload) => void seen.push(payload), { warn });
    expect(seen).toEqual([]);
    expect(readdirSync(join(spool, 'bad')).sort()).toEqual([broken, 'old.json'].sort());
  });
});
