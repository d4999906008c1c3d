/**
 * Every agent the hub knows, in one list for the popup and the dashboard (issue 7): claude.ai
 * conversations, Claude Code sessions and the other agents of the directory, each with its live
 * state — a hold (with its reset) or an open breaker overrides what the agent itself reports.
 * Pure: the hub passes in what it has.
 */
import { parseAddress, type AgentKind } from '../protocol/address';
import type { ClaudeTabAgent } from '../adapters/claude-ai/tabs';
import type { SessionRecord } from '../storage/events-db';
import type { DestinationRecord } from '../bus/destinations';

export const AGENT_STATES = ['ready', 'working', 'waiting', 'rate-limited', 'held', 'broken', 'offline', 'ended'] as const;
export type AgentState = (typeof AGENT_STATES)[number];

export interface AgentSummary {
  address: string;
  kind: AgentKind;
  /** what a person calls it: a conversation's or session's title, else its instance */
  title: string;
  state: AgentState;
  /** why, in words, for any state but ready */
  detail?: string;
  /** rate-limited or held: when it may take work again (epoch ms), for a countdown */
  until?: number;
  /** claude-code: the project folder; claude-ai: the page's URL */
  where?: string;
  /** epoch ms of the last sign of life known */
  lastSeen?: number;
}

export interface AgentSources {
  /** the directory's known agents */
  agents: { address: string; firstSeen: number }[];
  claudeTabs: ClaudeTabAgent[];
  sessions: SessionRecord[];
  destinations: DestinationRecord[];
}

const SESSION_STATE: Record<SessionRecord['state'], { state: AgentState; detail?: string }> = {
  idle: { state: 'ready' },
  working: { state: 'working' },
  'waiting-for-permission': { state: 'waiting', detail: 'waiting for a permission' },
  'rate-limited': { state: 'rate-limited', detail: 'hit a rate limit' },
  ended: { state: 'ended', detail: 'the session ended' },
};

const TAB_STATE: Record<ClaudeTabAgent['state'], AgentState> = {
  ready: 'ready',
  answering: 'working',
  loading: 'waiting',
  connecting: 'waiting',
  'rate-limited': 'rate-limited',
  'signed-out': 'broken',
  broken: 'broken',
  error: 'broken',
};

/** Agents of the extension's own pages and the hub itself are not listed: they are Switchboard. */
const LISTED_KINDS = new Set<AgentKind>(['claude-ai', 'claude-code', 'claude-desktop', 'api']);

export function agentsView(sources: AgentSources, now: number): AgentSummary[] {
  const byAddress = new Map<string, AgentSummary>();
  for (const { address, firstSeen } of sources.agents) {
    const parsed = parseAddress(address);
    if (parsed?.type !== 'agent' || !LISTED_KINDS.has(parsed.kind)) continue;
    // A claude.ai conversation known from before but not open now: it opens on the next message.
    const closed = parsed.kind === 'claude-ai';
    byAddress.set(address, {
      address,
      kind: parsed.kind,
      title: parsed.instance,
      state: closed ? 'offline' : 'ready',
      ...(closed ? { detail: 'not open in a tab; a message opens it' } : {}),
      lastSeen: firstSeen,
    });
  }
  for (const session of sources.sessions) {
    const { state, detail } = SESSION_STATE[session.state];
    byAddress.set(session.address, {
      address: session.address,
      kind: 'claude-code',
      title: session.title ?? session.sessionId,
      state,
      ...(detail ? { detail } : {}),
      ...(session.project ? { where: session.project } : {}),
      lastSeen: session.lastEventAt,
    });
  }
  for (const tab of sources.claudeTabs) {
    if (!tab.address) continue; // a /new tab is not a conversation yet
    byAddress.set(tab.address, {
      address: tab.address,
      kind: 'claude-ai',
      title: tab.title || tab.address,
      state: tab.personWriting && tab.state === 'ready' ? 'waiting' : TAB_STATE[tab.state],
      ...(tab.detail ? { detail: tab.detail } : tab.personWriting ? { detail: 'you are writing in it' } : tab.state === 'signed-out' ? { detail: 'signed out of claude.ai' } : {}),
      where: tab.url,
      lastSeen: now,
    });
  }
  for (const destination of sources.destinations) {
    const agent = byAddress.get(destination.address);
    if (!agent) continue;
    if (destination.hold) {
      const hold = destination.hold;
      const limited = /limit/i.test(hold.reason);
      // A broken page says best what is wrong; the hold only adds when it is looked at again.
      if (agent.state !== 'broken') {
        agent.state = limited ? 'rate-limited' : 'held';
        agent.detail = `${hold.reason} (${hold.strategy.replace('_', ' ')})`;
      }
      const until = hold.until ?? hold.nextProbeAt;
      if (until !== undefined && until > now) agent.until = until;
      else delete agent.until;
    } else if (destination.breaker === 'open') {
      agent.state = 'broken';
      agent.detail = `deliveries failing: ${destination.history.at(-1)?.note ?? 'the circuit is open'}`;
      if (destination.reopenAt !== undefined && destination.reopenAt > now) agent.until = destination.reopenAt;
    }
  }
  const kindOrder: AgentKind[] = ['claude-ai', 'claude-code', 'claude-desktop', 'api'];
  return [...byAddress.values()].sort(
    (a, b) => kindOrder.indexOf(a.kind) - kindOrder.indexOf(b.kind) || (b.lastSeen ?? 0) - (a.lastSeen ?? 0) || a.address.localeCompare(b.address),
  );
}
