/**
 * What the popup's views show, derived from the hub's answers by pure functions (issue 7: "component
 * tests for the state each view derives from hub data"). No browser, no Preact: test/ui/popup/.
 */
import { isFinished, type Delivery, type DeliveryState } from '../../bus/delivery';
import type { StoredEntry } from '../../bus/ports';
import type { AgentSummary } from '../../hub/agents-view';
import type { ClaudeTabAgent } from '../../adapters/claude-ai/tabs';
import type { AgentKind } from '../../protocol/address';
import { parseAddress } from '../../protocol/address';
import type { Envelope, Priority, SendRequest, TtlPolicy } from '../../protocol/envelope';
import type { HubStatus } from '../../protocol/runtime';

/** The popup is an agent too: the person's own inbox (README, "Topics, broadcast and the extension's pages"). */
export const POPUP_ADDRESS = 'extension:local/popup';

/** README, "The native host": the one command that installs it. */
export const INSTALL_HOST_COMMAND = 'npm run build:host && node bin/switchboard.mjs host install';
/** README, "The native host": names the first broken link between the browser and the daemon. */
export const DOCTOR_COMMAND = 'node bin/switchboard.mjs doctor';
export const NEW_CONVERSATION_URL = 'https://claude.ai/new';

// ---------------------------------------------------------------------------------------------
// Status

export type HostState = 'connected' | 'connecting' | 'not-installed' | 'disconnected';

export interface StatusView {
  hub: 'starting' | 'running' | 'unreachable';
  hubText: string;
  host: HostState | 'unknown';
  hostText: string;
  /** the command that fixes the host, when it needs fixing */
  fix?: { command: string; why: string };
}

/** Chrome's words when no manifest names the host (runtime.lastError). */
const NOT_INSTALLED = /not found|not installed|no such native/i;

export function statusView(status: HubStatus | undefined, error: string | undefined): StatusView {
  if (!status) {
    return error
      ? { hub: 'unreachable', hubText: `Hub not answering: ${error}`, host: 'unknown', hostText: 'Native host: unknown' }
      : { hub: 'starting', hubText: 'Hub starting…', host: 'unknown', hostText: 'Native host: checking…' };
  }
  const { nativeHost } = status;
  const hub = { hub: 'running' as const, hubText: 'Hub running' };
  if (nativeHost.connected) {
    const about = nativeHost.host ? ` (${nativeHost.host.device}, v${nativeHost.host.version})` : '';
    return { ...hub, host: 'connected', hostText: `Native host connected${about}` };
  }
  const lastError = nativeHost.lastError;
  if (lastError && NOT_INSTALLED.test(lastError)) {
    return {
      ...hub,
      host: 'not-installed',
      hostText: 'Native host not installed',
      fix: { command: INSTALL_HOST_COMMAND, why: 'Install the native host (Claude Code, API clients), then reopen this popup.' },
    };
  }
  if (!lastError && nativeHost.connects === 0) return { ...hub, host: 'connecting', hostText: 'Native host connecting…' };
  return {
    ...hub,
    host: 'disconnected',
    hostText: `Native host not connected${lastError ? `: ${lastError}` : ''}`,
    fix: { command: DOCTOR_COMMAND, why: 'Find what is broken between the browser and the host:' },
  };
}

// ---------------------------------------------------------------------------------------------
// Onboarding

export type OnboardingStep =
  | { id: 'install-host'; text: string; command: string }
  | { id: 'open-claude'; text: string; url: string };

/**
 * What is missing for Switchboard to be useful: the native host, and a claude.ai tab. Only once the
 * hub has answered — a step is never shown for what merely has not loaded yet.
 */
export function onboardingSteps(status: HubStatus | undefined, claudeTabs: ClaudeTabAgent[] | undefined): OnboardingStep[] {
  const steps: OnboardingStep[] = [];
  if (status) {
    const view = statusView(status, undefined);
    if (view.host === 'not-installed') {
      steps.push({ id: 'install-host', text: 'Install the native host to reach Claude Code sessions and API clients:', command: INSTALL_HOST_COMMAND });
    }
  }
  if (claudeTabs && claudeTabs.length === 0) {
    steps.push({ id: 'open-claude', text: 'No claude.ai tab is open: open one to talk to claude.ai conversations.', url: NEW_CONVERSATION_URL });
  }
  return steps;
}

// ---------------------------------------------------------------------------------------------
// Agents

export const KIND_LABELS: Partial<Record<AgentKind, string>> = {
  'claude-ai': 'claude.ai conversations',
  'claude-code': 'Claude Code sessions',
  'claude-desktop': 'Claude Desktop',
  api: 'API clients',
};
const KIND_ORDER: AgentKind[] = ['claude-ai', 'claude-code', 'claude-desktop', 'api'];

export interface AgentGroup {
  kind: AgentKind;
  label: string;
  agents: AgentSummary[];
}

/** Agents by kind, in the hub's order within each; a kind with no agent gets no group (issue 7). */
export function groupAgents(agents: AgentSummary[]): AgentGroup[] {
  return KIND_ORDER.map((kind) => ({ kind, label: KIND_LABELS[kind]!, agents: agents.filter((a) => a.kind === kind) })).filter(
    (group) => group.agents.length > 0,
  );
}

/** A countdown is shown for a limit or hold that still has a known end. */
export function countdownOf(agent: AgentSummary, now: number): number | undefined {
  if (agent.until === undefined || agent.until <= now) return undefined;
  return agent.state === 'rate-limited' || agent.state === 'held' || agent.state === 'broken' ? agent.until : undefined;
}

/** Agents a message can go to now or later: every listed one but ended sessions. */
export function addressableAgents(agents: AgentSummary[]): AgentSummary[] {
  return agents.filter((a) => a.state !== 'ended');
}

/** A person's name for an address: the agent's title, "you" for the popup, else the instance. */
export function addressLabel(address: string, agents: AgentSummary[] = []): string {
  if (address === POPUP_ADDRESS) return 'you';
  const agent = agents.find((a) => a.address === address);
  if (agent && agent.title !== address) return agent.title;
  const parsed = parseAddress(address);
  if (parsed?.type === 'topic') return `#${parsed.name}`;
  if (parsed?.type === 'broadcast') return 'everyone';
  if (parsed?.type === 'agent') return `${parsed.instance.length > 24 ? parsed.instance.slice(0, 8) + '…' : parsed.instance} (${parsed.kind})`;
  return address;
}

// ---------------------------------------------------------------------------------------------
// Inbox and threads

/** Deliveries to `address` that the person has not read yet: reached it, not acked. */
export function unreadDeliveries(entries: StoredEntry[], address = POPUP_ADDRESS): { messageId: string; threadId: string }[] {
  const unread: { messageId: string; threadId: string }[] = [];
  for (const { message, deliveries } of entries) {
    if (deliveries.some((d) => d.recipient === address && isUnread(d))) unread.push({ messageId: message.id, threadId: message.threadId });
  }
  return unread;
}

function isUnread(delivery: Delivery): boolean {
  return delivery.state === 'delivered' || delivery.state === 'sent';
}

export interface ThreadSummary {
  threadId: string;
  /** its newest message among those loaded */
  last: Envelope;
  /** the first line of its oldest message loaded, as a subject */
  subject: string;
  /** every sender and recipient seen, senders first */
  participants: string[];
  /** messages loaded of it */
  count: number;
  unread: number;
}

/** The first line of a text, at most `max` characters. */
export function firstLine(text: string, max = 80): string {
  const line = text.trim().split('\n', 1)[0].replace(/^#+\s*/, '').trim();
  return line.length > max ? line.slice(0, max - 1) + '…' : line || '(no text)';
}

/**
 * Threads, most recent first, at most `limit`: the hub's newest messages (`recent`) grouped by
 * thread, joined by the popup's unread messages (`unread`), which may be older. Unread counts are
 * of messages to the popup that it has not acked.
 */
export function groupThreads(recent: StoredEntry[], unread: StoredEntry[] = [], limit = 20): ThreadSummary[] {
  const seen = new Set<string>();
  const byThread = new Map<string, StoredEntry[]>();
  for (const entry of [...recent, ...unread]) {
    if (seen.has(entry.message.id)) continue;
    seen.add(entry.message.id);
    const list = byThread.get(entry.message.threadId) ?? [];
    list.push(entry);
    byThread.set(entry.message.threadId, list);
  }
  const unreadIds = new Set(unreadDeliveries([...recent, ...unread]).map((u) => u.messageId));
  const threads: ThreadSummary[] = [];
  for (const [threadId, entries] of byThread) {
    // UUIDv7 ids sort by creation time.
    entries.sort((a, b) => (a.message.id < b.message.id ? -1 : a.message.id > b.message.id ? 1 : 0));
    const participants: string[] = [];
    for (const { message } of entries) if (!participants.includes(message.from)) participants.push(message.from);
    for (const { message } of entries) for (const to of message.to) if (!participants.includes(to)) participants.push(to);
    threads.push({
      threadId,
      last: entries.at(-1)!.message,
      subject: firstLine(entries[0].message.body.text || entries[0].message.body.code?.[0]?.code || ''),
      participants,
      count: entries.length,
      unread: entries.filter((e) => unreadIds.has(e.message.id)).length,
    });
  }
  threads.sort((a, b) => (a.last.id < b.last.id ? 1 : a.last.id > b.last.id ? -1 : 0));
  return threads.slice(0, limit);
}

/** A thread's messages oldest first, and which of them the popup should ack now it shows them. */
export function threadMessages(entries: StoredEntry[], address = POPUP_ADDRESS): { entries: StoredEntry[]; toAck: string[] } {
  const sorted = [...entries].sort((a, b) => (a.message.id < b.message.id ? -1 : a.message.id > b.message.id ? 1 : 0));
  return { entries: sorted, toAck: unreadDeliveries(sorted, address).map((u) => u.messageId) };
}

// ---------------------------------------------------------------------------------------------
// Recipients of a message: state, what happens now, what the person may do

export type RecipientAction = 'retry' | 'cancel';

export interface RecipientRow {
  recipient: string;
  state: DeliveryState;
  /** a progress report, else why (the last error or the last step's note) */
  note?: string;
  actions: RecipientAction[];
}

export const progressKey = (messageId: string, recipient: string) => `${messageId}\u0000${recipient}`;

/**
 * One row per recipient. Failed or expired: Retry. Unfinished (queued, sent, delivered while an
 * ack is awaited): Cancel. `progress` holds the latest progress note per progressKey, shown while
 * the delivery is unfinished.
 */
export function recipientRows(entry: StoredEntry, progress: ReadonlyMap<string, string> = new Map()): RecipientRow[] {
  return entry.deliveries.map((delivery) => {
    const finished = isFinished(delivery);
    const live = finished ? undefined : progress.get(progressKey(delivery.messageId, delivery.recipient));
    const stepNote = delivery.history.at(-1)?.note;
    const note = live ?? (delivery.state === 'failed' || delivery.state === 'expired' ? (delivery.lastError ?? stepNote) : stepNote);
    const actions: RecipientAction[] =
      delivery.state === 'failed' || delivery.state === 'expired' ? ['retry'] : finished ? [] : ['cancel'];
    return { recipient: delivery.recipient, state: delivery.state, ...(note ? { note } : {}), actions };
  });
}

// ---------------------------------------------------------------------------------------------
// Compose

export type ComposeMode = 'agents' | 'topic' | 'broadcast';

export interface ComposeForm {
  mode: ComposeMode;
  /** mode agents: the agents ticked */
  agents: string[];
  /** mode agents: more addresses typed in, comma- or space-separated */
  otherAddresses: string;
  /** mode topic: its name, with or without `topic:` */
  topic: string;
  text: string;
  priority: Priority;
  ttl: TtlPolicy;
  /** where the answer goes: '' for the popup */
  replyTo: string;
  ackRequired: boolean;
}

export const EMPTY_FORM: ComposeForm = {
  mode: 'agents',
  agents: [],
  otherAddresses: '',
  topic: '',
  text: '',
  priority: 'normal',
  ttl: 'medium',
  replyTo: '',
  ackRequired: true,
};

/** The form as a send request, or what is wrong with it, in words. */
export function sendRequestOf(form: ComposeForm, id?: string): { ok: true; request: SendRequest } | { ok: false; error: string } {
  let to: string[];
  if (form.mode === 'broadcast') to = ['broadcast'];
  else if (form.mode === 'topic') {
    const name = form.topic.trim().replace(/^topic:/, '');
    if (!name) return { ok: false, error: 'Name a topic.' };
    if (parseAddress(`topic:${name}`)?.type !== 'topic') return { ok: false, error: `"${name}" is not a topic name: lower-case letters, digits, . _ / -` };
    to = [`topic:${name}`];
  } else {
    const typed = form.otherAddresses.split(/[\s,]+/).filter(Boolean);
    const bad = typed.find((a) => parseAddress(a)?.type !== 'agent');
    if (bad) return { ok: false, error: `"${bad}" is not an agent address (kind:device/instance).` };
    to = [...new Set([...form.agents, ...typed])];
    if (to.length === 0) return { ok: false, error: 'Pick at least one agent.' };
  }
  if (!form.text.trim()) return { ok: false, error: 'Write a message.' };
  const replyTo = form.replyTo && form.replyTo !== POPUP_ADDRESS ? form.replyTo : undefined;
  return {
    ok: true,
    request: {
      ...(id ? { id } : {}),
      from: POPUP_ADDRESS,
      to,
      kind: 'prompt',
      body: form.text,
      priority: form.priority,
      ttl: form.ttl,
      ackRequired: form.ackRequired,
      ...(replyTo ? { replyTo } : {}),
    },
  };
}

export const PRIORITY_LABELS: Record<Priority, string> = {
  critical: 'Critical',
  high: 'High',
  normal: 'Normal',
  low: 'Low',
  bulk: 'Bulk',
};

export const TTL_LABELS: Record<TtlPolicy, string> = {
  immediate: 'Now or never',
  short: 'Short (1 h)',
  medium: 'Medium (1 day)',
  long: 'Long (7 days)',
  permanent: 'Until delivered',
};

/** "just now", "5 min ago", "3 h ago", "2 d ago". */
export function formatAgo(at: number, now: number): string {
  const seconds = Math.max(0, Math.round((now - at) / 1000));
  if (seconds < 45) return 'just now';
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.round(minutes / 60);
  if (hours < 48) return `${hours} h ago`;
  return `${Math.round(hours / 24)} d ago`;
}
