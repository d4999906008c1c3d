/**
 * How the extension's pages talk to the hub: typed requests over one long-lived port, and a stream
 * of delivery changes. Where the hub is a service worker, the requests then go over a MessageChannel
 * to it, beside the port (CHANNEL_HELLO says why). The service worker can stop at any time; a
 * request cut off by that is sent again on a new port. Sends carry an id made here, so a resent
 * send is accepted once.
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
import { CHANGES_PORT, CHANNEL_HELLO, REQUESTS_PORT, frameBatcher, requestWeight, type HubRequest, type HubResponse, type HubStatus, type RequestFrame, type ResponseFrame } from '../protocol/runtime';

/** How long a request may wait for its answer (default 60 s). */
export const REQUEST_TIMEOUT_MS = 60_000;
/** How often the worker may stop under one request before the client gives up on it. */
export const MAX_RESENDS = 3;

/**
 * While requests go over the channel, the port carries an empty frame this often at most: a
 * service worker that hears nothing from the browser for 30 s is stopped, and channel messages do
 * not reach it through the browser.
 */
export const KEEPALIVE_MS = 10_000;

type Pending = { request: HubRequest; resolve: (response: HubResponse) => void; resends: number; timer: ReturnType<typeof setTimeout> };

let port: Browser.runtime.Port | undefined;
/** the channel to the worker that `port` reaches, once it is open */
let channel: MessagePort | undefined;
let portUsedAt = 0;
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
    const runtimePort = connect();
    if (channel) channel.postMessage({ requests } satisfies RequestFrame);
    if (!channel || Date.now() - portUsedAt >= KEEPALIVE_MS) {
      runtimePort.postMessage({ requests: channel ? [] : requests } satisfies RequestFrame);
      portUsedAt = Date.now();
    }
  } catch (error) {
    // The frame never left: answer its requests with the reason instead of leaving them waiting.
    const reason = `could not reach the Switchboard hub: ${error instanceof Error ? error.message : String(error)}`;
    for (const { seq } of requests) settle(seq, { ok: false, error: reason });
  }
}, requestWeight);

function answered(frame: ResponseFrame): void {
  for (const { seq, response } of frame.responses) settle(seq, response);
}

function connect(): Browser.runtime.Port {
  if (port) return port;
  const opened = browser.runtime.connect({ name: REQUESTS_PORT });
  opened.onMessage.addListener(answered);
  opened.onDisconnect.addListener(() => {
    port = undefined;
    channel?.close();
    channel = undefined;
    // The worker stopped before answering these: ask again (every request is safe to repeat), but
    // not forever — a request that stops the worker each time fails with that said.
    for (const [seq, waiting] of pending) {
      waiting.resends++;
      if (waiting.resends > MAX_RESENDS) settle(seq, { ok: false, error: `the Switchboard hub stopped ${MAX_RESENDS + 1} times while answering` });
      else post({ seq, request: waiting.request });
    }
  });
  port = opened;
  portUsedAt = Date.now();
  void openChannel(opened);
  return opened;
}

/**
 * Opens the channel to the hub's service worker, when there is one (not in Firefox, whose
 * background is a page); until it is open, and without it, requests go over the port.
 */
async function openChannel(over: Browser.runtime.Port): Promise<void> {
  // `ready` waits for a worker still starting (a fresh install); in Firefox it never resolves.
  const worker = (await globalThis.navigator?.serviceWorker?.ready)?.active;
  if (!worker || port !== over) return; // no worker, or the port has closed meanwhile
  const { port1, port2 } = new MessageChannel();
  port1.onmessage = (event: MessageEvent<ResponseFrame | { type: string }>) => {
    if ('responses' in event.data) answered(event.data);
    // The hub says it serves the channel: only then do requests go over it.
    else if (event.data.type === CHANNEL_HELLO) {
      if (port === over) channel = port1;
      else port1.close(); // the worker stopped meanwhile: the next port opens a new channel
    }
  };
  worker.postMessage({ type: CHANNEL_HELLO }, [port2]);
}

/** How this page's requests reach the hub now: for the diagnostics page and the tests. */
function transport(): 'channel' | 'port' | 'none' {
  return channel ? 'channel' : port ? 'port' : 'none';
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
  transport,
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
