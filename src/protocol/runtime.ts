/**
 * Typed runtime messages between the extension's own pages and the hub in the service worker.
 * Requests go in frames over REQUESTS_PORT (or over a CHANNEL_HELLO channel beside it) and get a
 * `HubResponse`; state changes stream over a port named CHANGES_PORT. `runtime.sendMessage` is
 * answered too, one request a call.
 */
import { z } from 'zod';
import { AgentAddress, TopicName } from './address';
import { MessageId } from './envelope';
import { DELIVERY_STATES } from '../bus/delivery';
import type { BusMetrics } from '../bus/bus';
import type { NativeLinkStatus } from './native';

export const CHANGES_PORT = 'switchboard/changes';
/**
 * Requests over a long-lived port, far cheaper per request than runtime.sendMessage, which opens a
 * channel for every call (BENCHMARKS.md). Each frame carries the requests a page made in one task,
 * and the answers that completed together: `{requests: [{seq, request}…]}` in,
 * `{responses: [{seq, response}…]}` out. Callers still make one request per message.
 */
export const REQUESTS_PORT = 'switchboard/requests';
/**
 * The same frames over a MessageChannel, where the hub is a service worker (Chromium): a page posts
 * `{type: CHANNEL_HELLO}` to the worker with one end of the channel and keeps the other. The page
 * and the worker both live in the extension's renderer process, so a frame does not go through the
 * browser process as a port message does (BENCHMARKS.md, issue 3). The runtime port stays open
 * beside it: its disconnect says the worker stopped, and its messages keep the worker alive.
 */
export const CHANNEL_HELLO = 'switchboard/channel';

export const REQUEST_TYPES = [
  'send', 'status', 'list', 'ack', 'hub-status', 'subscribe', 'unsubscribe',
  'search', 'rules', 'rule-put', 'rule-delete', 'rules-reorder', 'destinations', 'hold', 'release',
  'retention', 'retention-put', 'archive-export', 'sweep', 'sessions', 'session-events', 'claude-tabs', 'agents', 'cancel', 'retry', 'events', 'clear-data', 'usage', 'settings', 'settings-put',
] as const;

export const HubRequest = z.discriminatedUnion(
  'type',
  [
    /** `message` is a SendRequest; the bus validates it and names any bad field */
    z.strictObject({ type: z.literal('send'), message: z.unknown() }),
    z.strictObject({ type: z.literal('status'), id: MessageId }),
    z.strictObject({
      type: z.literal('list'),
      threadId: z.string().min(1).max(100).optional(),
      agent: AgentAddress.optional(),
      state: z.enum(DELIVERY_STATES).optional(),
      limit: z.int().min(1).max(1_000).optional(),
    }),
    z.strictObject({ type: z.literal('ack'), id: MessageId, recipient: AgentAddress }),
    z.strictObject({ type: z.literal('hub-status') }),
    z.strictObject({ type: z.literal('subscribe'), agent: AgentAddress, topic: TopicName }),
    z.strictObject({ type: z.literal('unsubscribe'), agent: AgentAddress, topic: TopicName }),
    z.strictObject({ type: z.literal('search'), query: z.string().max(500), limit: z.int().min(1).max(500).optional() }),
    z.strictObject({ type: z.literal('rules') }),
    /** `rule` is a Rule; the bus validates it and names any bad field */
    z.strictObject({ type: z.literal('rule-put'), rule: z.unknown() }),
    z.strictObject({ type: z.literal('rule-delete'), id: z.string().min(1).max(100) }),
    z.strictObject({ type: z.literal('rules-reorder'), ids: z.array(z.string().min(1).max(100)).max(1_000) }),
    z.strictObject({ type: z.literal('destinations') }),
    /** `hold` is a HoldRequest; the bus validates it */
    z.strictObject({ type: z.literal('hold'), hold: z.unknown() }),
    z.strictObject({ type: z.literal('release'), address: AgentAddress }),
    z.strictObject({ type: z.literal('retention') }),
    /** `settings` is a RetentionChange; the bus validates it */
    z.strictObject({ type: z.literal('retention-put'), settings: z.unknown() }),
    z.strictObject({ type: z.literal('archive-export'), since: z.int().nonnegative().optional(), limit: z.int().min(1).max(10_000).optional() }),
    z.strictObject({ type: z.literal('sweep') }),
    /** Claude Code sessions, the most recently active first */
    z.strictObject({ type: z.literal('sessions'), limit: z.int().min(1).max(1_000).optional() }),
    /** one session's hook events, in order */
    z.strictObject({ type: z.literal('session-events'), sessionId: z.string().min(1).max(200), limit: z.int().min(1).max(10_000).optional() }),
    /** the claude.ai conversations open in this browser, with their state */
    z.strictObject({ type: z.literal('claude-tabs') }),
    /** every agent with its live state (src/hub/agents-view.ts), grouped by kind */
    z.strictObject({ type: z.literal('agents') }),
    /** the message's unfinished deliveries (to `recipient`, or all) fail now: "cancelled by the person" */
    z.strictObject({ type: z.literal('cancel'), id: MessageId, recipient: AgentAddress.optional() }),
    /** a failed or expired delivery is queued again, with all its attempts and a new deadline */
    z.strictObject({ type: z.literal('retry'), id: MessageId, recipient: AgentAddress }),
    /** Claude Code hook events of every session, newest first; `before`: an event id, for the next page */
    z.strictObject({ type: z.literal('events'), limit: z.int().min(1).max(10_000).optional(), before: z.string().max(100).optional() }),
    /** deletes every message, the archive, and every hook event; `confirm` must say so */
    /** the native host's latest usage report ({at, report}: UsageReport of native-host/claude-code/usage-monitor.ts), or null */
    z.strictObject({ type: z.literal('usage') }),
    /** the native host's settings the dashboard edits: {thresholds, webhooks} (native-host/settings.ts) */
    z.strictObject({ type: z.literal('settings') }),
    /** changes them; the host validates the change whole and says what is wrong */
    z.strictObject({ type: z.literal('settings-put'), thresholds: z.record(z.string(), z.unknown()).optional(), webhooks: z.array(z.unknown()).optional() }),
    z.strictObject({ type: z.literal('clear-data'), confirm: z.literal('delete everything', { error: 'clear-data needs confirm: "delete everything"' }) }),
  ],
  { error: `expected a request with type ${REQUEST_TYPES.join(', ')}` },
);
export type HubRequest = z.infer<typeof HubRequest>;

export type HubResponse<T = unknown> = { ok: true; result: T } | { ok: false; error: string };

export interface HubStatus {
  extensionId: string;
  /** how many times the service worker has started on this profile */
  workerStarts: number;
  /** when this worker started (epoch ms) */
  startedAt: number;
  deliveries: Record<(typeof DELIVERY_STATES)[number], number>;
  /** since this worker started */
  bus: BusMetrics;
  /** the link to the native host daemon */
  nativeHost: NativeLinkStatus;
}

export interface RequestFrame {
  requests: { seq: number; request: unknown }[];
}
export interface ResponseFrame {
  responses: { seq: number; response: HubResponse }[];
}

/** How much a frame may carry: Chrome refuses port messages over 64 MiB; stay far below. */
export const FRAME_LIMITS = { items: 512, weight: 8_000_000 } as const;

/**
 * Collects items and hands them over together once the current task's microtasks have run, so what
 * a page or the hub produces in one go travels in one port message — split into several when it
 * would pass FRAME_LIMITS by count or by `weigh` (a cheap size estimate, in characters).
 */
export function frameBatcher<T>(flush: (items: T[]) => void, weigh: (item: T) => number = () => 1): (item: T) => void {
  let queued: T[] | undefined;
  return (item) => {
    if (!queued) {
      queued = [];
      queueMicrotask(() => {
        const items = queued!;
        queued = undefined;
        let frame: T[] = [];
        let weight = 0;
        for (const next of items) {
          const w = weigh(next);
          if (frame.length && (frame.length >= FRAME_LIMITS.items || weight + w > FRAME_LIMITS.weight)) {
            flush(frame);
            frame = [];
            weight = 0;
          }
          frame.push(next);
          weight += w;
        }
        if (frame.length) flush(frame);
      });
    }
    queued.push(item);
  };
}

/** A cheap estimate of a request's size: the text and data it carries. */
export function requestWeight({ request }: { request: unknown }): number {
  const body = (request as { message?: { body?: unknown } })?.message?.body;
  if (typeof body === 'string') return 512 + body.length;
  if (!body || typeof body !== 'object') return 512;
  const { text, code, attachments } = body as { text?: unknown; code?: unknown; attachments?: unknown };
  let weight = 512 + (typeof text === 'string' ? text.length : 0);
  if (Array.isArray(code)) for (const block of code) weight += typeof block?.code === 'string' ? block.code.length : 0;
  if (Array.isArray(attachments)) for (const file of attachments) weight += typeof file?.data === 'string' ? file.data.length : 0;
  return weight;
}
