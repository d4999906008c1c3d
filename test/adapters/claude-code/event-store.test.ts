import { beforeEach, describe, expect, it } from 'vitest';
import { HookEventStore } from '../../../src/adapters/claude-code/event-store';
import { stateAfter } from '../../../src/adapters/claude-code/session-state';
import { EventsDb } from '../../../src/storage/events-db';
import { newMessageId } from '../../../src/protocol/envelope';
import type { HookEvent } from '../../../src/protocol/native';

let dbCount = 0;
const event = (name: string, at: number, extra: Record<string, unknown> = {}, session = 'sess-1'): HookEvent => ({
  id: newMessageId(),
  receivedAt: at,
  payload: { session_id: session, hook_event_name: name, cwd: '/home/me/project', transcript_path: `/t/${session}.jsonl`, ...extra },
});

describe('Claude Code sessions from hook events', () => {
  let store: HookEventStore;
  let db: EventsDb;
  beforeEach(() => {
    db = new EventsDb(`events-test-${++dbCount}`);
    store = new HookEventStore(db, () => 'laptop');
  });

  it('makes a session an agent with its project, title and live state, and keeps its events in order', async () => {
    const states: string[] = [];
    for (const [i, [name, extra]] of ([
      ['SessionStart', { source: 'startup', model: 'claude-sonnet-4-5' }],
      ['UserPromptSubmit', { prompt: 'Fix the failing test in parser.ts and explain why it failed' }],
      ['PreToolUse', { tool_name: 'Bash' }],
      ['Notification', { notification_type: 'permission_prompt', message: 'Claude needs your permission to use Bash' }],
      ['PostToolUse', { tool_name: 'Bash' }],
      ['Stop', {}],
      ['SessionEnd', { reason: 'exit' }],
    ] as const).entries()) {
      states.push((await store.record(event(name, 1_000 + i, extra)))!.state);
    }
    expect(states).toEqual(['idle', 'working', 'working', 'waiting-for-permission', 'working', 'idle', 'ended']);
    const [session] = await store.sessions();
    expect(session).toMatchObject({
      sessionId: 'sess-1',
      address: 'claude-code:laptop/sess-1',
      project: '/home/me/project',
      title: 'Fix the failing test in parser.ts and explain why it failed',
      model: 'claude-sonnet-4-5',
      state: 'ended',
      events: 7,
      firstEventAt: 1_000,
      lastEventAt: 1_006,
      lastEvent: 'SessionEnd',
    });
    expect((await store.events('sess-1')).map((e) => e.name)).toEqual(['SessionStart', 'UserPromptSubmit', 'PreToolUse', 'Notification', 'PostToolUse', 'Stop', 'SessionEnd']);
  });

  it('stores a resent event once', async () => {
    const start = event('SessionStart', 1_000);
    expect(await store.record(start)).toBeDefined();
    expect(await store.record(start)).toBeUndefined();
    expect(await store.events('sess-1')).toHaveLength(1);
    expect((await store.sessions())[0].events).toBe(1);
  });

  it('stamps each event with the time the hub stored it, apart from when the host took it', async () => {
    let clock = 50_000;
    const stamped = new HookEventStore(db, () => 'laptop', () => clock);
    await stamped.record(event('SessionStart', 1_000));
    clock = 50_007;
    await stamped.record(event('Stop', 1_001));
    expect((await stamped.events('sess-1')).map((e) => [e.receivedAt, e.storedAt])).toEqual([
      [1_000, 50_000],
      [1_001, 50_007],
    ]);
  });

  it('lets a late event (from the spool) count without moving the state back', async () => {
    await store.record(event('UserPromptSubmit', 2_000, { prompt: 'go' }));
    await store.record(event('Stop', 3_000));
    const late = await store.record(event('PreToolUse', 2_500));
    expect(late).toMatchObject({ state: 'idle', lastEvent: 'Stop', lastEventAt: 3_000, events: 3 });
  });

  it('marks a rate-limited session from StopFailure', () => {
    expect(stateAfter('StopFailure', { error: 'rate_limit' })).toBe('rate-limited');
    expect(stateAfter('StopFailure', { error: 'server_error' })).toBe('idle');
    expect(stateAfter('SomethingNew', {})).toBeUndefined();
  });

  it('refuses a session id that cannot be an address, and stores nothing', async () => {
    await expect(store.record(event('SessionStart', 1, {}, 'bad id with spaces'))).rejects.toThrow(/^invalid session address: /);
    expect(await db.hookEvents.count()).toBe(0);
  });

  it("lists every session's events newest first, a page at a time, and clears them all", async () => {
    const recorded: HookEvent[] = [];
    for (let i = 0; i < 5; i++) {
      const e = event(i % 2 ? 'PreToolUse' : 'PostToolUse', 1_000 + i, { tool_name: 'Bash' }, i < 3 ? 'sess-a' : 'sess-b');
      recorded.push(e);
      await store.record(e);
    }
    const first = await store.recent(3);
    expect(first.map((e) => e.id)).toEqual(recorded.slice(-3).reverse().map((e) => e.id));
    const next = await store.recent(3, first.at(-1)!.id);
    expect(next.map((e) => e.id)).toEqual(recorded.slice(0, 2).reverse().map((e) => e.id));
    await store.clear();
    expect(await store.recent()).toEqual([]);
    expect(await store.sessions()).toEqual([]);
  });

  it('drops events and sessions past retention', async () => {
    await store.record(event('SessionStart', 1_000, {}, 'old'));
    await store.record(event('SessionStart', 5_000, {}, 'new'));
    expect(await store.prune(2_000)).toBe(1);
    expect((await store.sessions()).map((s) => s.sessionId)).toEqual(['new']);
  });
});

describe('rate limits of Claude Code sessions', () => {
  it('holds a session that hit a rate limit: backoff without a reset time, a pause until one', async () => {
    const { holdFor } = await import('../../../src/adapters/claude-code/rate-limits');
    const address = 'claude-code:local/s-1';
    expect(holdFor(event('StopFailure', 1_000, { error: 'rate_limit', last_assistant_message: 'API Error: Request rejected (429)' }), address)).toEqual({
      address,
      strategy: 'exponential_backoff',
      reason: 'Claude Code hit a rate limit: API Error: Request rejected (429)',
    });
    expect(holdFor(event('StopFailure', 1_000, { error: 'rate_limit', resets_at: 5 }), address)).toMatchObject({ strategy: 'session_pause', until: 5_000 });
    expect(holdFor(event('StopFailure', 1_000, { error: 'server_error' }), address)).toBeUndefined();
    expect(holdFor(event('Stop', 1_000), address)).toBeUndefined();
  });

  it('lets a backoff replace no pause that still runs: the reset time is the better knowledge', async () => {
    const { replacesHold } = await import('../../../src/adapters/claude-code/rate-limits');
    const address = 'claude-code:local/s-1';
    const backoff = { address, strategy: 'exponential_backoff' as const, reason: 'limit' };
    const pause = { address, strategy: 'session_pause' as const, reason: 'limit', until: 9_000 };
    const held = (strategy: 'session_pause' | 'exponential_backoff', until?: number) => ({ strategy, reason: 'r', since: 0, probes: 0, ...(until ? { until } : {}) });
    expect(replacesHold(undefined, backoff, 1_000)).toBe(true);
    expect(replacesHold(held('exponential_backoff'), backoff, 1_000)).toBe(true);
    expect(replacesHold(held('exponential_backoff'), pause, 1_000)).toBe(true);
    expect(replacesHold(held('session_pause', 5_000), pause, 1_000)).toBe(true); // a newer reset time
    expect(replacesHold(held('session_pause', 5_000), backoff, 1_000)).toBe(false);
    expect(replacesHold(held('session_pause', 5_000), backoff, 5_000)).toBe(true); // the pause is over
  });
});
