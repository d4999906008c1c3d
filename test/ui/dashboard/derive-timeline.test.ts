import { describe, expect, it } from 'vitest';
import {
  buildTimeline,
  cleanFilters,
  filterEvents,
  filterOptions,
  mergeEvents,
  payloadText,
  toolOf,
  validEvents,
} from '../../../src/ui/dashboard/derive-timeline';
import type { SessionRecord, StoredHookEvent } from '../../../src/storage/events-db';

const T0 = Date.UTC(2026, 10, 21, 12);
let n = 0;
function event(sessionId: string, name: string, at: number, payload: Record<string, unknown> = {}): StoredHookEvent {
  n++;
  return { id: `0190-${String(n).padStart(6, '0')}`, sessionId, name, receivedAt: at, payload: { session_id: sessionId, hook_event_name: name, ...payload } };
}
function session(sessionId: string, extra: Partial<SessionRecord> = {}): SessionRecord {
  return { sessionId, address: `claude-code:local/${sessionId}`, state: 'idle', firstEventAt: T0, lastEventAt: T0, lastEvent: 'Stop', events: 1, ...extra };
}

const events = [
  event('a', 'SessionStart', T0, { cwd: '/work/alpha' }),
  event('a', 'PreToolUse', T0 + 1_000, { tool_name: 'Bash', cwd: '/work/alpha' }),
  event('a', 'PostToolUse', T0 + 2_000, { tool_name: 'Bash', cwd: '/work/alpha' }),
  event('b', 'SessionStart', T0 + 5_000, { cwd: '/work/beta' }),
  event('b', 'PreToolUse', T0 + 6_000, { tool_name: 'Read', cwd: '/work/beta' }),
  event('a', 'Stop', T0 + 10_000, { cwd: '/work/alpha' }),
].reverse(); // newest first, as the hub answers
const sessions = new Map([
  ['a', session('a', { title: 'Write hello', project: '/work/alpha' })],
  ['b', session('b', { project: '/work/beta' })],
]);

describe('timeline lanes', () => {
  it('puts each session in a lane, the most recently active first, events oldest first in each', () => {
    const timeline = buildTimeline(events, sessions);
    expect(timeline.from).toBe(T0);
    expect(timeline.to).toBe(T0 + 10_000);
    expect(timeline.lanes.map((l) => l.sessionId)).toEqual(['a', 'b']);
    const [a, b] = timeline.lanes;
    expect(a).toMatchObject({ title: 'Write hello (a)', project: '/work/alpha', count: 4, first: T0, last: T0 + 10_000, state: 'idle' });
    expect(b).toMatchObject({ title: 'b', project: '/work/beta', count: 2 });
    expect(a.markers.map((m) => m.position)).toEqual([0, 0.1, 0.2, 1]);
    expect(a.markers.flatMap((m) => m.events.map((e) => e.name))).toEqual(['SessionStart', 'PreToolUse', 'PostToolUse', 'Stop']);
    expect(a.markers[1].label).toMatch(/^PreToolUse Bash at /);
  });

  it('bunches events that fall into one slice into one marker that says what it holds', () => {
    const timeline = buildTimeline(events, sessions, {}, 2);
    const [a] = timeline.lanes;
    expect(a.markers).toHaveLength(2);
    expect(a.markers[0]).toMatchObject({ name: 'several', from: T0, to: T0 + 2_000 });
    expect(a.markers[0].events).toHaveLength(3);
    expect(a.markers[0].label).toMatch(/^3 events \(SessionStart, PreToolUse, PostToolUse\) from /);
  });

  it('keeps the number of markers bounded by the slices, whatever the number of events', () => {
    const many = Array.from({ length: 10_000 }, (_, i) => event(`s${i % 7}`, i % 2 ? 'PreToolUse' : 'PostToolUse', T0 + i * 100)).reverse();
    const timeline = buildTimeline(many, new Map(), {}, 96);
    expect(timeline.lanes).toHaveLength(7);
    expect(timeline.events).toHaveLength(10_000);
    for (const lane of timeline.lanes) expect(lane.markers.length).toBeLessThanOrEqual(96);
    expect(timeline.lanes.reduce((s, l) => s + l.markers.reduce((t, m) => t + m.events.length, 0), 0)).toBe(10_000);
  });

  it('places a single event in the middle, and nothing makes no lanes', () => {
    const one = buildTimeline([events[0]], sessions);
    expect(one.lanes[0].markers[0].position).toBe(0.5);
    expect(buildTimeline([], sessions)).toEqual({ from: 0, to: 0, lanes: [], events: [] });
  });
});

describe('timeline filters', () => {
  it('filters by project (from the session, else the payload), session, event type and tool', () => {
    expect(filterEvents(events, sessions, { project: '/work/beta' }).map((e) => e.sessionId)).toEqual(['b', 'b']);
    expect(filterEvents(events, new Map(), { project: '/work/alpha' })).toHaveLength(4);
    expect(filterEvents(events, sessions, { session: 'a', event: 'PreToolUse' })).toHaveLength(1);
    expect(filterEvents(events, sessions, { tool: 'Bash' }).map((e) => e.name)).toEqual(['PostToolUse', 'PreToolUse']);
    expect(filterEvents(events, sessions, { tool: 'Write' })).toEqual([]);
    expect(filterEvents(events, sessions, {})).toBe(events);
  });

  it('offers each project, session, event type and tool once, sorted', () => {
    expect(filterOptions(events, sessions)).toEqual({
      projects: ['/work/alpha', '/work/beta'],
      sessions: [
        { id: 'b', label: 'b' },
        { id: 'a', label: 'Write hello (a)' },
      ],
      events: ['PostToolUse', 'PreToolUse', 'SessionStart', 'Stop'],
      tools: ['Bash', 'Read'],
    });
  });

  it('drops blank filters', () => {
    expect(cleanFilters({ project: ' ', session: 'a', event: '', tool: undefined })).toEqual({ session: 'a' });
  });
});

describe('events from the hub', () => {
  it('merges new events in, newest first, and returns the same list when nothing is new', () => {
    const known = events.slice(2);
    const merged = mergeEvents(known, events.slice(0, 3));
    expect(merged.map((e) => e.id)).toEqual(events.map((e) => e.id));
    expect(mergeEvents(merged, events)).toBe(merged);
    expect(mergeEvents(merged, [])).toBe(merged);
    expect(mergeEvents(merged, events, 3)).toBe(merged);
    expect(mergeEvents([], events, 3).map((e) => e.name)).toEqual(['Stop', 'PreToolUse', 'SessionStart']);
  });

  it('drops what is not an event rather than break the page', () => {
    const bad = [null, 7, 'x', { id: 1 }, { id: 'x', sessionId: 'a', name: 'Stop', receivedAt: Number.NaN }, { id: 'y', sessionId: 'a', name: 'Stop', receivedAt: T0 }];
    expect(validEvents(bad)).toEqual([{ id: 'y', sessionId: 'a', name: 'Stop', receivedAt: T0, payload: {} }]);
    expect(validEvents({ not: 'a list' })).toEqual([]);
    expect(mergeEvents(events, 'nonsense')).toBe(events);
  });

  it('reads a tool name only when it is a string', () => {
    expect(toolOf(event('a', 'PreToolUse', T0, { tool_name: 42 }))).toBeUndefined();
    expect(toolOf({ ...event('a', 'Stop', T0), payload: undefined as never })).toBeUndefined();
  });

  it('shows a payload as indented JSON, and says so when it cannot', () => {
    expect(payloadText(events[0])).toContain('\n  "hook_event_name": "Stop"');
    const looped: Record<string, unknown> = {};
    looped.self = looped;
    expect(payloadText({ ...events[0], payload: looped })).toMatch(/^\(the payload cannot be shown as JSON: /);
  });
});

describe('loading events from the hub', async () => {
  const { loadEvents } = await import('../../../src/ui/dashboard/timeline-source');
  const all = Array.from({ length: 4_500 }, (_, i) => event(`s${i % 3}`, 'PreToolUse', T0 + i)).reverse();
  /** the hub's answer: newest first, before an id, at most limit; answers over `tooLarge` events fail as the hub does */
  const fakeHub = (events: StoredHookEvent[], tooLarge = Infinity) => {
    const asked: { limit?: number; before?: string }[] = [];
    const ask = async (page: { limit?: number; before?: string }) => {
      asked.push(page);
      const limit = page.limit ?? 500;
      if (limit > tooLarge) throw new Error('the answer is too large to send (9000000 characters, at most 8000000): ask for fewer messages');
      const from = page.before ? events.findIndex((e) => e.id < page.before!) : 0;
      return from < 0 ? [] : events.slice(from, from + limit);
    };
    return { ask, asked };
  };

  it('loads the whole history in pages, then only what is newer', async () => {
    const hub = fakeHub(all);
    const first = await loadEvents(hub.ask, []);
    expect(first.map((e) => e.id)).toEqual(all.map((e) => e.id));
    expect(hub.asked.map((a) => a.limit)).toEqual([2_000, 2_000, 2_000]);
    const newer = [event('s9', 'Stop', T0 + 10_000), event('s9', 'Stop', T0 + 10_001)].reverse();
    const later = fakeHub([...newer, ...all]);
    const next = await loadEvents(later.ask, first);
    expect(next.slice(0, 2)).toEqual(newer);
    expect(next).toHaveLength(4_502);
    expect(later.asked).toEqual([{ limit: 50 }]);
    expect(await loadEvents(later.ask, next)).toBe(next);
  });

  it('asks in smaller pieces when an answer is too large, and stops at the cap', async () => {
    const hub = fakeHub(all, 600);
    expect(await loadEvents(hub.ask, [])).toHaveLength(4_500);
    expect(hub.asked.slice(0, 3).map((a) => a.limit)).toEqual([2_000, 500, 500]);
    expect((await loadEvents(fakeHub(all).ask, [], 3_000)).length).toBe(3_000);
  });

  it('passes on an error that is not about size', async () => {
    await expect(loadEvents(async () => Promise.reject(new Error('the hub stopped')), [])).rejects.toThrow('the hub stopped');
  });
});
