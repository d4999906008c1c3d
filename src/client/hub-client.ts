/**
 * How the extension's pages talk to the hub: typed requests over one long-lived port, and a stream
 * of delivery changes. The service worker can stop at any time; a request cut off by that is sent
 * again on a new port. Sends carry an id made here, so a resent send is accepted once.
 */
import { browser, type Browser } from 'wxt/browser';
import type { DeliveryChange, MessageStatus, RetentionChange, RetentionSettings, SendReceipt, SweepResult } from '../bus/bus';
import type { Delivery } from '../bus/delivery';
import type { ArchivedMessage, ListQuery, StoredEntry } from '../bus/ports';
import { newMessageId, type SendRequest } from '../protocol/envelope';
import type { z } from 'zod';
import type { RuleInput, StoredRule } from '../bus/routing';
import type { DestinationRecord, HoldRequest } from '../bus/destinations';
import type { AgentSummary } from '../hub/agents-view';
import type { ClaudeTabAgent } from '../adapters/claude-ai/tabs';
import { CHANGES_PORT, REQUESTS_PORT, frameBatcher, requestWeight, type HubRequest, type HubResponse, type HubStatus, type RequestFrame, type ResponseFrame } from '../protocol/runtime';

/** How long a request may wait for its answer (default 60 s). */
export const REQUEST_TIMEOUT_MS = 60_000;
/** How often the worker may stop under one request before the client gives up on it. */
export const MAX_RESENDS = 3;

type Pending = { request: HubRequest; resolve: (response: HubResponse) => void; resends: number; timer: ReturnType<typeof setTimeout> };

let port: Browser.runtime.Port | undefined;
let nextSeq = 1;
const pending = new Map<number, Pending>();

function settle(seq: number, response: HubResponse): void {
  const waiting = pending.get(seq);
  if (!waiting) return;
  pending.delete(seq);
  clearTimeout(waiting.timer);
  waiting.resolve(response);
}

const post = frameBatcher<RequestFrame['requests'][number]>((requests) => {
  try {
    connect().postMessage({ requests } satisfies RequestFrame);
  } catch (error) {
    // The frame never left: answer its requests with the reason instead of leaving them waiting.
    const reason = `could not reach the Switchboard hub: ${error instanceof Error ? error.message : String(error)}`;
    for (const { seq } of requests) settle(seq, { ok: false, error: reason });
  }
}, requestWeight);

function connect(): Browser.runtime.Port {
  if (port) return port;
  const opened = browser.runtime.connect({ name: REQUESTS_PORT });
  opened.onMessage.addListener((frame: ResponseFrame) => {
    for (const { seq, response } of frame.responses) settle(seq, response);
  });
  opened.onDisconnect.addListener(() => {
    port = undefined;
    // The worker stopped before answering these: ask again (every request is safe to repeat), but
    // not forever — a request that stops the worker each time fails with that said.
    for (const [seq, waiting] of pending) {
      waiting.resends++;
      if (waiting.resends > MAX_RESENDS) settle(seq, { ok: false, error: `the Switchboard hub stopped ${MAX_RESENDS + 1} times while answering` });
      else post({ seq, request: waiting.request });
    }
  });
  port = opened;
  return opened;
}

/** Any hub request over the page's port (resent if the worker stops); the methods of `hub` are typed ones. */
export async function request<T>(message: HubRequest): Promise<T> {
  const seq = nextSeq++;
  const response = await new Promise<HubResponse>((resolve) => {
    const timer = setTimeout(
      () => settle(seq, { ok: false, error: `the Switchboard hub did not answer within ${REQUEST_TIMEOUT_MS / 1000} s` }),
      REQUEST_TIMEOUT_MS,
    );
    pending.set(seq, { request: message, resolve, resends: 0, timer });
    post({ seq, request: message });
  });
  if (!response.ok) throw new Error(response.error);
  return response.result as T;
}

export const hub = {
  /** The id is made here unless given, so a send repeated after a worker stop is accepted once. */
  send: (message: SendRequest) => request<SendReceipt>({ type: 'send', message: { ...message, id: message.id ?? newMessageId() } }),
  status: (id: string) => request<MessageStatus>({ type: 'status', id }),
  list: (query: ListQuery = {}) => request<StoredEntry[]>({ type: 'list', ...query }),
  ack: (id: string, recipient: string) => request<Delivery>({ type: 'ack', id, recipient }),
  /** the message's unfinished deliveries (to `recipient`, or all) fail now, "cancelled by the person" */
  cancel: (id: string, recipient?: string) => request<Delivery[]>({ type: 'cancel', id, ...(recipient ? { recipient } : {}) }),
  /** a failed or expired delivery is queued again, with a new deadline */
  retry: (id: string, recipient: string) => request<Delivery>({ type: 'retry', id, recipient }),
  hubStatus: () => request<HubStatus>({ type: 'hub-status' }),
  /** `topic` without the `topic:` prefix; resolves with the agent's topics */
  subscribe: (agent: string, topic: string) => request<{ topics: string[] }>({ type: 'subscribe', agent, topic }),
  unsubscribe: (agent: string, topic: string) => request<{ topics: string[] }>({ type: 'unsubscribe', agent, topic }),
  /** messages holding every word of `query` (the last also as a prefix), newest first */
  search: (query: string, limit?: number) => request<StoredEntry[]>({ type: 'search', query, ...(limit ? { limit } : {}) }),
  rules: () => request<StoredRule[]>({ type: 'rules' }),
  /** adds a rule at the end, or replaces the one with its id in place */
  putRule: (rule: RuleInput) => request<StoredRule>({ type: 'rule-put', rule }),
  deleteRule: (id: string) => request<StoredRule[]>({ type: 'rule-delete', id }),
  reorderRules: (ids: string[]) => request<StoredRule[]>({ type: 'rules-reorder', ids }),
  /** every destination's breaker state, hold and recent events */
  destinations: () => request<DestinationRecord[]>({ type: 'destinations' }),
  hold: (hold: z.input<typeof HoldRequest>) => request<DestinationRecord>({ type: 'hold', hold }),
  release: (address: string) => request<DestinationRecord>({ type: 'release', address }),
  retention: () => request<RetentionSettings>({ type: 'retention' }),
  /** TTL durations per policy (short, medium, long) and how long the archive keeps, in ms */
  configureRetention: (settings: z.input<typeof RetentionChange>) => request<RetentionSettings>({ type: 'retention-put', settings }),
  /** archived messages as JSON, oldest first */
  exportArchive: (since?: number, limit?: number) =>
    request<ArchivedMessage[]>({ type: 'archive-export', ...(since !== undefined ? { since } : {}), ...(limit ? { limit } : {}) }),
  sweep: () => request<SweepResult>({ type: 'sweep' }),
  /** every listed agent with its live state, claude.ai conversations first (src/hub/agents-view.ts) */
  agents: () => request<AgentSummary[]>({ type: 'agents' }),
  /** the claude.ai tabs open in this browser, with their state */
  claudeTabs: () => request<ClaudeTabAgent[]>({ type: 'claude-tabs' }),

  /** Calls `listener` with each batch of delivery changes until `signal` aborts; reconnects when the worker restarts. */
  watch(listener: (changes: DeliveryChange[]) => void, signal: AbortSignal): void {
    const open = () => {
      if (signal.aborted) return;
      const changes = browser.runtime.connect({ name: CHANGES_PORT });
      changes.onMessage.addListener((message: { type: string; changes: DeliveryChange[] }) => {
        if (message.type === 'changes') listener(message.changes);
      });
      changes.onDisconnect.addListener(() => setTimeout(open, 500));
      signal.addEventListener('abort', () => changes.disconnect(), { once: true });
    };
    open();
  },
};

export type HubClient = typeof hub;
