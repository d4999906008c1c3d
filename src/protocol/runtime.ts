/**
 * Typed runtime messages between the extension's own pages and the hub in the service worker.
 * Requests go through `runtime.sendMessage` and get a `HubResponse`; state changes stream over a
 * port named CHANGES_PORT.
 */
import { z } from 'zod';
import { AgentAddress, TopicName } from './address';
import { MessageId } from './envelope';
import { DELIVERY_STATES } from '../bus/delivery';
import type { BusMetrics } from '../bus/bus';

export const CHANGES_PORT = 'switchboard/changes';
/**
 * Requests over a long-lived port: `{seq, request}` in, `{seq, response}` out. Far cheaper per
 * request than runtime.sendMessage, which opens a channel for every call (BENCHMARKS.md).
 */
export const REQUESTS_PORT = 'switchboard/requests';

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
  ],
  { error: 'expected a request with type send, status, list, ack, hub-status, subscribe or unsubscribe' },
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
}
