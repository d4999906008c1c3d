/**
 * What the parts of the host daemon need from one another, so each is built and tested alone:
 * the local API and the webhooks talk to a HostCore; the core owns the journals and the hub link.
 */
import type { Envelope, SendRequest } from '../src/protocol/envelope';
import type { DirectoryFrame } from '../src/protocol/native';

/** A message the hub handed to the host for one of its agents (an API client), kept in its inbox. */
export interface InboxMessage {
  /** the inbox journal's sequence number: increases with arrival */
  seq: number;
  /** the agent it is for, e.g. `api:local/ci-bot` */
  recipient: string;
  envelope: Envelope;
  /** when the host received it (ms since epoch) */
  receivedAt: number;
  /** when the recipient acked it, if it has */
  ackedAt?: number;
}

/** What a hook prints for Claude Code (its JSON output); empty when there is nothing to say. */
export type HookAnswer = Record<string, unknown>;

/** Where a hook event came from, as far as its hook script says. */
export interface HookOrigin {
  /** the hook process (its spool file is named by it too) */
  hookPid?: number;
  /** the Claude Code process that ran the hook */
  claudePid?: number;
}

export type HostEvent =
  | { type: 'message-in'; messageId: string; from: string; to: string[]; kind: string; at: number }
  | { type: 'message-out'; messageId: string; recipient: string; kind: string; at: number }
  | { type: 'ack'; messageId: string; recipient: string; at: number }
  | { type: 'hook'; sessionId: string; event: string; at: number }
  | { type: 'hub'; connected: boolean; at: number }
  | { type: 'delivery-failed'; messageId: string; recipient: string; reason: string; at: number }
  | { type: 'alert'; severity: 'info' | 'warning' | 'critical'; text: string; at: number };

export interface HostStatus {
  version: string;
  device: string;
  startedAt: number;
  hubConnected: boolean;
  journal: { records: number; bytes: number; writable: boolean };
  inbox: { messages: number };
}

export interface HostCore {
  /**
   * Journals a message from outside durably (fsync) and queues it for the hub; resolves with its id
   * once it is on disk. The request is validated first: throws ValidationError naming what is wrong.
   * A request carrying an id already accepted is accepted again without a second copy.
   */
  submit(request: SendRequest): Promise<{ messageId: string }>;
  /** Journals a recipient's ack of a message it was given, for the hub. */
  ack(messageId: string, recipient: string): Promise<void>;
  /**
   * Journals a Claude Code hook event for the hub (its payload validated: session_id and
   * hook_event_name at least) and resolves with what the hook should print for Claude Code.
   * `receivedAt` is when the event happened, for one replayed from the spool. `origin.hookPid` is
   * the id of the hook process that sent it, which tells a second copy of one event (posted, then
   * spooled because the answer came too late): that copy is dropped and answered `{}`.
   * `origin.claudePid` is the Claude Code process that ran the hook, when the hook says.
   */
  hook(payload: unknown, receivedAt?: number, origin?: HookOrigin): Promise<HookAnswer>;
  /**
   * For the asyncRewake hook of an idle session: waits for mail for the payload's session and
   * resolves with the text to wake it with, or undefined when the wait ends without mail.
   */
  waitForMail(payload: unknown, signal: AbortSignal): Promise<string | undefined>;
  /**
   * Replies to a message `agent` has in its inbox here: to the message's replyTo, in its thread; then
   * acks it. Throws NotFoundError when the agent has no such message.
   */
  reply(agent: string, messageId: string, text: string): Promise<{ messageId: string }>;
  /**
   * The agent has read these messages itself (its MCP server showed them): for a Claude Code
   * session they count as delivered, and its hooks do not put them in again. Others: nothing.
   */
  markRead(agent: string, ids: string[]): Promise<void>;
  /** The session whose hooks ran from the first of `pids` that ran any (a process and its ancestors, nearest first). */
  sessionOf(pids: number[]): string | undefined;
  /** The hub's agents and holds as it last told them (kept across restarts), or undefined before it ever did. */
  directory(): DirectoryFrame | undefined;
  /** Notes that an agent the host serves is present (a WebSocket client connected), so broadcast reaches it. */
  present(address: string): Promise<void>;
  /** Messages for `recipient` received after `since` (ms), oldest first, at most `limit`. */
  messagesFor(recipient: string, since: number, limit: number): InboxMessage[];
  /** Calls `listener` with each new message for `recipient` until the returned function is called. */
  subscribe(recipient: string, listener: (message: InboxMessage) => void): () => void;
  /** Calls `listener` with every event until the returned function is called. */
  onEvent(listener: (event: HostEvent) => void): () => void;
  status(): HostStatus;
}

/** What was asked for does not exist here (an API answers 404). */
export class NotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotFoundError';
  }
}

/** The host cannot take more now (its journal is full while the hub is away): try again later. */
export class HostBusyError extends Error {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message);
    this.name = 'HostBusyError';
  }
}
