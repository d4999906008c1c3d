/**
 * What the hub and the native host say to each other over native messaging (one JSON value per
 * frame, 4-byte little-endian length first). Both sides validate every frame with these schemas.
 *
 * Host → hub: `hello` once per connection; `inbound` for each journal record (in journal order, and
 * again after a reconnect until the hub confirms it); `accepted`/`refused` answering `deliver`.
 * Hub → host: `committed` once the hub's store holds inbound records (the host may then drop them
 * from its journal); `deliver` hands a message to an agent the host serves (an API client);
 * `directory`, on connect and whenever it changes, the agents the hub knows and the destinations it
 * holds, so the host's MCP server and `GET /recovery/status` can show them (the host has no other
 * way to ask the hub).
 * Either side: `chunk`, the pieces of a frame too large for one message (host → browser is limited
 * to 1 MB by the browser; see ARCHITECTURE.md).
 */
import { z } from 'zod';
import { AgentAddress } from './address';
import { Envelope, MessageId, SendRequest } from './envelope';
import { HoldRequest } from '../bus/destinations';

export const NATIVE_HOST_NAME = 'dev.switchboard.host';

const Seq = z.int().nonnegative();

/**
 * A Claude Code hook event, as its hook received it: the payload Claude Code wrote to the hook's
 * stdin (session_id, transcript_path, cwd, hook_event_name and the event's own fields), kept whole —
 * fields a later version adds pass through — plus when the host received it.
 */
export const HookPayload = z.looseObject({
  session_id: z.string().min(1).max(200),
  hook_event_name: z.string().min(1).max(100),
  transcript_path: z.string().max(4_096).optional(),
  cwd: z.string().max(4_096).optional(),
});
export type HookPayload = z.infer<typeof HookPayload>;

export const HookEvent = z.strictObject({
  /** given by the host when it takes the event: a resent record is stored once */
  id: MessageId,
  receivedAt: z.int().nonnegative(),
  payload: HookPayload,
});
export type HookEvent = z.infer<typeof HookEvent>;

/** One record of the host's inbound journal: a message from outside, an ack from one of its agents, a hook event, a hold… */
export const InboundRecord = z.discriminatedUnion('type', [
  /** a Claude Code hook event, for the hub's event store (never a bus message) */
  z.strictObject({ type: z.literal('hook'), event: HookEvent }),
  z.strictObject({ type: z.literal('message'), message: SendRequest }),
  z.strictObject({ type: z.literal('ack'), messageId: MessageId, recipient: AgentAddress }),
  /** a message the host held for one of its agents has reached it (injected into a Claude Code session) */
  z.strictObject({ type: z.literal('delivered'), messageId: MessageId, recipient: AgentAddress }),
  /** an agent the host serves is present (a WebSocket client connected): broadcast reaches it */
  z.strictObject({ type: z.literal('agent'), address: AgentAddress }),
  /**
   * the host asks the bus to hold one of its agents (a Claude Code session that hit a rate limit,
   * until its reset when the host knows it); it replaces any hold the agent has
   */
  z.strictObject({ type: z.literal('hold'), hold: HoldRequest }),
]);
export type InboundRecord = z.infer<typeof InboundRecord>;

export const Chunk = z.strictObject({
  type: z.literal('chunk'),
  /** the same for every piece of one frame */
  id: z.string().min(1).max(64),
  index: Seq,
  count: z.int().min(2).max(10_000),
  data: z.string(),
});
export type Chunk = z.infer<typeof Chunk>;

export const HostFrame = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('hello'), version: z.string(), device: z.string() }),
  z.strictObject({ type: z.literal('inbound'), seq: Seq, record: InboundRecord }),
  /** `held`: the host keeps it for its agent and sends a `delivered` record once the agent has it */
  z.strictObject({ type: z.literal('accepted'), id: z.string(), held: z.literal(true).optional() }),
  z.strictObject({ type: z.literal('refused'), id: z.string(), reason: z.string() }),
  /**
   * The usage monitor's report (native-host/claude-code/usage-monitor.ts UsageReport) as of `at`:
   * a snapshot, sent on connect and when it changes, never journaled. Only shown, as text and charts.
   */
  z.strictObject({ type: z.literal('usage'), at: z.int().nonnegative(), report: z.record(z.string(), z.unknown()) }),
  /** the answer to the hub's `settings` frame: the settings in effect now */
  z.strictObject({ type: z.literal('settings'), id: z.string(), settings: z.strictObject({ thresholds: z.record(z.string(), z.unknown()), webhooks: z.array(z.record(z.string(), z.unknown())) }) }),
  Chunk,
]);
export type HostFrame = z.infer<typeof HostFrame>;

/** An agent as the hub knows it: Claude Code sessions carry their state, title and project. */
export const DirectoryAgent = z.strictObject({
  address: AgentAddress,
  title: z.string().max(500).optional(),
  state: z.string().max(50).optional(),
  project: z.string().max(4_096).optional(),
  model: z.string().max(200).optional(),
  /** when the hub first heard of it, and when it was last active (ms since epoch) */
  firstSeen: z.int().nonnegative().optional(),
  lastSeen: z.int().nonnegative().optional(),
});
export type DirectoryAgent = z.infer<typeof DirectoryAgent>;

/** A destination the bus is holding back (a hold, or an open circuit breaker), and its latest events. */
export const DirectoryDestination = z.strictObject({
  address: AgentAddress,
  breaker: z.enum(['closed', 'open', 'half-open']),
  reopenAt: z.int().optional(),
  hold: z
    .strictObject({
      strategy: z.string().max(50),
      reason: z.string().max(500),
      since: z.int(),
      /** when it ends by itself (session_pause), if known */
      until: z.int().optional(),
      /** exponential_backoff: probes that failed, and when the next goes */
      probes: z.int().nonnegative(),
      nextProbeAt: z.int().optional(),
      fallback: AgentAddress.optional(),
    })
    .optional(),
  history: z.array(z.strictObject({ at: z.int(), event: z.string().max(50), note: z.string().max(600).optional() })).max(20),
});
export type DirectoryDestination = z.infer<typeof DirectoryDestination>;

export const DirectoryFrame = z.strictObject({
  type: z.literal('directory'),
  /** when the hub made it (ms since epoch) */
  at: z.int().nonnegative(),
  agents: z.array(DirectoryAgent).max(5_000),
  destinations: z.array(DirectoryDestination).max(5_000),
});
export type DirectoryFrame = z.infer<typeof DirectoryFrame>;

export const HubFrame = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('committed'),
    /** each inbound seq, with the hub's error when it refused the record (it is dropped all the same) */
    results: z.array(z.strictObject({ seq: Seq, error: z.string().optional() })),
  }),
  z.strictObject({ type: z.literal('deliver'), id: z.string(), recipient: AgentAddress, envelope: Envelope }),
  DirectoryFrame,
  /**
   * The dashboard reads the host's settings (usage alert thresholds, webhooks), or changes them with
   * `change` (the host validates it): answered with a `settings` frame of the same id, or `refused`.
   */
  z.strictObject({ type: z.literal('settings'), id: z.string().min(1).max(64), change: z.record(z.string(), z.unknown()).optional() }),
  Chunk,
]);
export type HubFrame = z.infer<typeof HubFrame>;

/** The hub's view of its link to the host, as `hub-status` reports it. */
export interface NativeLinkStatus {
  connected: boolean;
  /** the host's version and device, from its hello */
  host?: { version: string; device: string };
  /** why the last port closed (e.g. "Specified native messaging host not found.") */
  lastError?: string;
  connects: number;
  recordsCommitted: number;
}
