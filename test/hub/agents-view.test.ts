import { describe, expect, it } from 'vitest';
import { agentsView, type AgentSources } from '../../src/hub/agents-view';
import type { DestinationRecord } from '../../src/bus/destinations';
import type { SessionRecord } from '../../src/storage/events-db';

const NOW = 1_800_000_000_000;

function session(overrides: Partial<SessionRecord>): SessionRecord {
  return { sessionId: 's1', address: 'claude-code:laptop/s1', state: 'idle', firstEventAt: NOW - 5_000, lastEventAt: NOW - 1_000, lastEvent: 'Stop', events: 3, ...overrides };
}

function destination(address: string, overrides: Partial<DestinationRecord>): DestinationRecord {
  return { address, breaker: 'closed', failures: 0, trips: 0, probing: false, history: [], ...overrides } as DestinationRecord;
}

const empty: AgentSources = { agents: [], claudeTabs: [], sessions: [], destinations: [] };

describe('the agents view', () => {
  it('groups agents by kind — claude.ai, Claude Code, API clients — leaving out Switchboard itself', () => {
    const view = agentsView(
      {
        ...empty,
        agents: [
          { address: 'api:laptop/ci-bot', firstSeen: NOW - 9_000 },
          { address: 'extension:local/popup', firstSeen: NOW },
          { address: 'test:local/inbox', firstSeen: NOW },
        ],
        sessions: [session({ title: 'Fix the flaky test', project: '/work/app', state: 'working' })],
        claudeTabs: [
          { address: 'claude-ai:local/chat-abc12345', tabId: 3, url: 'https://claude.ai/chat/abc12345', title: 'Plan the release', state: 'answering', personWriting: false },
          { address: undefined, tabId: 4, url: 'https://claude.ai/new', title: 'Claude', state: 'ready', personWriting: false },
        ],
      },
      NOW,
    );
    expect(view.map((a) => [a.kind, a.title, a.state])).toEqual([
      ['claude-ai', 'Plan the release', 'working'],
      ['claude-code', 'Fix the flaky test', 'working'],
      ['api', 'ci-bot', 'ready'],
    ]);
    expect(view[1].where).toBe('/work/app');
  });

  it('shows a hold as rate-limited with a countdown to its end, and an open breaker as broken', () => {
    const view = agentsView(
      {
        ...empty,
        sessions: [session({ state: 'idle' }), session({ sessionId: 's2', address: 'claude-code:laptop/s2' })],
        destinations: [
          destination('claude-code:laptop/s1', { hold: { strategy: 'session_pause', reason: 'usage limit: 5-hour window full', since: NOW - 60_000, until: NOW + 3_600_000, probes: 0 } }),
          destination('claude-code:laptop/s2', { breaker: 'open', reopenAt: NOW + 30_000, history: [{ at: NOW, event: 'opened', note: '5 failures in a row: no adapter' }] }),
        ],
      },
      NOW,
    );
    expect(view.find((a) => a.address.endsWith('/s1'))).toMatchObject({ state: 'rate-limited', until: NOW + 3_600_000, detail: 'usage limit: 5-hour window full (session pause)' });
    expect(view.find((a) => a.address.endsWith('/s2'))).toMatchObject({ state: 'broken', until: NOW + 30_000, detail: 'deliveries failing: 5 failures in a row: no adapter' });
  });

  it('keeps what a broken claude.ai page says, and shows a closed conversation as offline', () => {
    const view = agentsView(
      {
        ...empty,
        agents: [{ address: 'claude-ai:local/chat-closed123', firstSeen: NOW - 1 }],
        claudeTabs: [{ address: 'claude-ai:local/chat-broken12', tabId: 5, url: 'https://claude.ai/chat/broken12', title: 'Old chat', state: 'broken', detail: 'adapter broken: the prompt editor not found', personWriting: false }],
        destinations: [destination('claude-ai:local/chat-broken12', { hold: { strategy: 'exponential_backoff', reason: 'claude.ai: adapter broken: the prompt editor not found', since: NOW, probes: 1, nextProbeAt: NOW + 4_000 } })],
      },
      NOW,
    );
    expect(view.find((a) => a.title === 'Old chat')).toMatchObject({ state: 'broken', detail: 'adapter broken: the prompt editor not found', until: NOW + 4_000 });
    expect(view.find((a) => a.address.endsWith('closed123'))).toMatchObject({ state: 'offline', detail: 'not open in a tab; a message opens it' });
  });

  it('says the person is writing in a conversation that is otherwise ready', () => {
    const [tab] = agentsView({ ...empty, claudeTabs: [{ address: 'claude-ai:local/chat-typing12', tabId: 6, url: 'u', title: 'Draft', state: 'ready', personWriting: true }] }, NOW);
    expect(tab).toMatchObject({ state: 'waiting', detail: 'you are writing in it' });
  });
});
