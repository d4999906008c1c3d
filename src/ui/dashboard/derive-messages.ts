/**
 * The message log (issue 7): full-text search or the latest messages, narrowed by agent, thread,
 * delivery state and kind, and one message's delivery history. Pure.
 */
import type { StoredEntry } from '../../bus/ports';
import type { MessageStatus } from '../../bus/bus';
import { DELIVERY_STATES, type DeliveryState } from '../../bus/delivery';
import { MESSAGE_KINDS, type MessageKind } from '../../protocol/envelope';
import { formatTime } from './format';

export interface MessageFilters {
  query?: string;
  /** messages this agent sent or received */
  agent?: string;
  threadId?: string;
  state?: DeliveryState;
  kind?: MessageKind;
}

export interface MessageRow {
  id: string;
  from: string;
  to: string;
  kind: string;
  threadId: string;
  createdAt: number;
  when: string;
  /** the first line of the text, shortened */
  summary: string;
  /** each recipient's state, as "address: state" */
  states: { recipient: string; state: DeliveryState }[];
}

export interface DeliveryHistoryRow {
  key: string;
  recipient: string;
  state: DeliveryState;
  at: number;
  when: string;
  note?: string;
}

/** The filters from a form: blank fields dropped, unknown states and kinds refused with a reason. */
export function cleanMessageFilters(input: Record<string, string | undefined>): { filters: MessageFilters; errors: Record<string, string> } {
  const filters: MessageFilters = {};
  const errors: Record<string, string> = {};
  const text = (key: string) => input[key]?.trim() || undefined;
  const query = text('query');
  if (query) {
    if (query.length > 500) errors.query = 'at most 500 characters';
    else filters.query = query;
  }
  const agent = text('agent');
  if (agent) filters.agent = agent;
  const threadId = text('threadId');
  if (threadId) {
    if (threadId.length > 100) errors.threadId = 'a thread id is at most 100 characters';
    else filters.threadId = threadId;
  }
  const state = text('state');
  if (state) {
    if ((DELIVERY_STATES as readonly string[]).includes(state)) filters.state = state as DeliveryState;
    else errors.state = `expected one of ${DELIVERY_STATES.join(', ')}`;
  }
  const kind = text('kind');
  if (kind) {
    if ((MESSAGE_KINDS as readonly string[]).includes(kind)) filters.kind = kind as MessageKind;
    else errors.kind = `expected one of ${MESSAGE_KINDS.join(', ')}`;
  }
  return { filters, errors };
}

function isEntry(entry: unknown): entry is StoredEntry {
  const e = entry as StoredEntry;
  return !!e && typeof e === 'object' && !!e.message && typeof e.message.id === 'string' && Array.isArray(e.deliveries);
}

/** What the hub narrowed already is narrowed again here: search takes only a query, and kind is never the hub's. */
export function filterEntries(entries: unknown, filters: MessageFilters): StoredEntry[] {
  if (!Array.isArray(entries)) return [];
  const { agent, threadId, state, kind } = filters;
  return entries.filter(
    (e): e is StoredEntry =>
      isEntry(e) &&
      (!agent || e.message.from === agent || (Array.isArray(e.message.to) && e.message.to.includes(agent)) || e.deliveries.some((d) => d.recipient === agent)) &&
      (!threadId || e.message.threadId === threadId) &&
      (!state || e.deliveries.some((d) => d.state === state)) &&
      (!kind || e.message.kind === kind),
  );
}

export function summaryOf(text: unknown, max = 140): string {
  if (typeof text !== 'string' || !text.trim()) return '(no text)';
  const line = text.trim().split('\n', 1)[0];
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

export function messageRows(entries: readonly StoredEntry[]): MessageRow[] {
  return entries.map(({ message, deliveries }) => ({
    id: message.id,
    from: message.from,
    to: Array.isArray(message.to) ? message.to.join(', ') : String(message.to),
    kind: message.kind,
    threadId: message.threadId,
    createdAt: message.createdAt,
    when: formatTime(message.createdAt),
    summary: summaryOf(message.body?.text),
    states: deliveries.map((d) => ({ recipient: d.recipient, state: d.state })),
  }));
}

/** Every step of every delivery of a message, in time order. */
export function deliveryHistory(status: MessageStatus | undefined): DeliveryHistoryRow[] {
  if (!status || !Array.isArray(status.deliveries)) return [];
  const rows: DeliveryHistoryRow[] = [];
  for (const delivery of status.deliveries) {
    const steps = Array.isArray(delivery.history) ? delivery.history : [];
    steps.forEach((step, i) => {
      if (!step || !Number.isFinite(step.at)) return;
      rows.push({
        key: `${delivery.recipient}/${i}`,
        recipient: delivery.recipient,
        state: step.state,
        at: step.at,
        when: formatTime(step.at),
        ...(step.note ? { note: step.note } : {}),
      });
    });
  }
  return rows.sort((a, b) => a.at - b.at || a.recipient.localeCompare(b.recipient));
}
