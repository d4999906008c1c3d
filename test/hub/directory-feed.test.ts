import { afterEach, describe, expect, it, vi } from 'vitest';
import { DirectoryFeed, directoryFrame } from '../../src/hub/directory-feed';
import { newDestination, type DestinationRecord } from '../../src/bus/destinations';
import { DirectoryFrame } from '../../src/protocol/native';
import type { SessionRecord } from '../../src/storage/events-db';

const NOW = 1_700_000_000_000;
const session = (fields: Partial<SessionRecord> = {}): SessionRecord => ({
  sessionId: 's1',
  address: 'claude-code:local/s1',
  state: 'working',
  firstEventAt: NOW - 60_000,
  lastEventAt: NOW - 1_000,
  lastEvent: 'PreToolUse',
  events: 3,
  ...fields,
});

describe('directoryFrame', () => {
  it('joins known agents with their sessions and keeps only destinations worth showing', () => {
    const held: DestinationRecord = {
      ...newDestination('claude-code:local/s1'),
      hold: { strategy: 'exponential_backoff', reason: 'Claude Code hit a rate limit', since: NOW - 5_000, probes: 2, nextProbeAt: NOW + 20_000 },
      history: Array.from({ length: 15 }, (_, i) => ({ at: NOW - 15_000 + i, event: 'probe failed' as const, note: 'x'.repeat(1_000) })),
    };
    const quietForDays = { ...newDestination('api:local/old'), history: [{ at: NOW - 3 * 86_400_000, event: 'closed' as const }] };
    const frame = directoryFrame(
      [{ address: 'claude-code:local/s1', firstSeen: NOW - 120_000 }, { address: 'claude-ai:local/chat-1', firstSeen: NOW - 10 }],
      [session({ title: 'Fix the tests', project: '/work/app', model: 'claude-sonnet-4-5', state: 'rate-limited' })],
      [held, quietForDays, newDestination('api:local/fresh')],
      NOW,
    );
    expect(DirectoryFrame.parse(frame)).toEqual(frame); // what the host will accept
    expect(frame.agents).toEqual([
      { address: 'claude-code:local/s1', firstSeen: NOW - 120_000, lastSeen: NOW - 1_000, state: 'rate-limited', title: 'Fix the tests', project: '/work/app', model: 'claude-sonnet-4-5' },
      { address: 'claude-ai:local/chat-1', firstSeen: NOW - 10 },
    ]);
    expect(frame.destinations.map((d) => d.address)).toEqual(['claude-code:local/s1']);
    expect(frame.destinations[0].hold).toEqual({ strategy: 'exponential_backoff', reason: 'Claude Code hit a rate limit', since: NOW - 5_000, probes: 2, nextProbeAt: NOW + 20_000 });
    expect(frame.destinations[0].history).toHaveLength(10);
    expect(frame.destinations[0].history[0].note).toHaveLength(600);
  });
});

describe('DirectoryFeed', () => {
  afterEach(() => vi.useRealTimers());

  it('sends on connect, then only what changed, once per burst', async () => {
    vi.useFakeTimers();
    const sent: DirectoryFrame[] = [];
    let sessions = [session()];
    let connected = true;
    const feed = new DirectoryFeed(
      { agents: async () => [], sessions: async () => sessions, destinations: () => [], now: () => NOW },
      { publish: (frame) => connected && (sent.push(frame), true), debounceMs: 300 },
    );
    await feed.connected();
    expect(sent).toHaveLength(1);
    feed.changed();
    await vi.advanceTimersByTimeAsync(400);
    expect(sent).toHaveLength(1); // nothing changed
    sessions = [session({ state: 'idle' })];
    for (let i = 0; i < 5; i++) feed.changed();
    await vi.advanceTimersByTimeAsync(400);
    expect(sent.map((f) => f.agents[0].state)).toEqual(['working', 'idle']);
    // Only lastSeen moved (another hook event of the same kind): not worth a frame.
    sessions = [session({ state: 'idle', lastEventAt: NOW + 5_000 })];
    feed.changed();
    await vi.advanceTimersByTimeAsync(400);
    expect(sent).toHaveLength(2);
    // Not connected: nothing goes, and the next connect sends it all again.
    connected = false;
    sessions = [session({ state: 'ended' })];
    feed.changed();
    await vi.advanceTimersByTimeAsync(400);
    connected = true;
    await feed.connected();
    expect(sent.map((f) => f.agents[0].state)).toEqual(['working', 'idle', 'ended']);
    await feed.connected(); // a reconnect gets it even unchanged
    expect(sent).toHaveLength(4);
  });

  it('looks for changes nobody announced on its timer, and keeps going after a failed read', async () => {
    vi.useFakeTimers();
    const sent: DirectoryFrame[] = [];
    let fail = true;
    let state: SessionRecord['state'] = 'working';
    const logged: unknown[] = [];
    const feed = new DirectoryFeed(
      {
        agents: async () => {
          if (fail) throw new Error('DatabaseClosedError');
          return [];
        },
        sessions: async () => [session({ state })],
        destinations: () => [],
        now: () => NOW,
      },
      { publish: (frame) => (sent.push(frame), true), checkEveryMs: 5_000, log: (...args) => logged.push(args) },
    );
    feed.start();
    await vi.advanceTimersByTimeAsync(5_100);
    expect(sent).toHaveLength(0);
    expect(String(logged[0])).toMatch(/could not send the directory/);
    fail = false;
    await vi.advanceTimersByTimeAsync(5_000);
    state = 'idle';
    await vi.advanceTimersByTimeAsync(5_000);
    feed.stop();
    expect(sent.map((f) => f.agents[0].state)).toEqual(['working', 'idle']);
  });
});
