/**
 * An in-memory HostCore for tests of the parts that talk to the core (local API, webhooks,
 * metrics). It validates like the real core (ValidationError naming the field), keeps each id once,
 * records every call, and lets a test play the hub: `deliver` puts a message in an agent's inbox
 * as the hub's `deliver` frame would, `emit` raises a HostEvent.
 */
import { NotFoundError, type HookAnswer, type HookOrigin, type HostCore, type HostEvent, type HostStatus, type InboxMessage } from '../../native-host/ports';
import { HookPayload, type DirectoryFrame } from '../../src/protocol/native';
import { Envelope, newMessageId, parseOrThrow, SendRequest, type ParsedSendRequest } from '../../src/protocol/envelope';

export class MemoryHostCore implements HostCore {
  /** every accepted request, parsed, in order (a resent id appears once) */
  readonly submitted: ParsedSendRequest[] = [];
  readonly acks: { messageId: string; recipient: string }[] = [];
  readonly presentAgents: string[] = [];
  /** make the next submits fail as a broken journal would */
  failSubmitsWith?: Error;
  readonly statusFacts: HostStatus = {
    version: 'test',
    device: 'local',
    startedAt: 1_700_000_000_000,
    hubConnected: true,
    journal: { records: 0, bytes: 0, writable: true },
    inbox: { messages: 0 },
  };

  private readonly inbox: InboxMessage[] = [];
  private readonly subscribers = new Map<string, Set<(message: InboxMessage) => void>>();
  private readonly eventListeners = new Set<(event: HostEvent) => void>();
  private nextSeq = 1;

  constructor(private readonly now: () => number = Date.now) {}

  async submit(request: SendRequest): Promise<{ messageId: string }> {
    const parsed = parseOrThrow(SendRequest, request, 'message');
    if (this.failSubmitsWith) throw this.failSubmitsWith;
    const messageId = parsed.id ?? newMessageId();
    if (!this.submitted.some((earlier) => earlier.id === messageId)) {
      this.submitted.push({ ...parsed, id: messageId });
      this.statusFacts.journal.records += 1;
      this.emit({ type: 'message-in', messageId, from: parsed.from, to: parsed.to, kind: parsed.kind, at: this.now() });
    }
    return { messageId };
  }

  async ack(messageId: string, recipient: string): Promise<void> {
    this.acks.push({ messageId, recipient });
    const message = this.inbox.find((m) => m.envelope.id === messageId && m.recipient === recipient);
    if (message) message.ackedAt = this.now();
    this.emit({ type: 'ack', messageId, recipient, at: this.now() });
  }

  async present(address: string): Promise<void> {
    this.presentAgents.push(address);
  }

  async reply(agent: string, messageId: string, text: string): Promise<{ messageId: string }> {
    const message = this.inbox.find((m) => m.envelope.id === messageId && m.recipient === agent);
    if (!message) throw new NotFoundError(`${agent} has no message ${messageId} in its inbox here`);
    const sent = await this.submit({ from: agent, to: message.envelope.replyTo, inReplyTo: messageId, threadId: message.envelope.threadId, kind: 'reply', body: text });
    await this.ack(messageId, agent);
    return sent;
  }

  /** every markRead call */
  readonly marked: { agent: string; ids: string[] }[] = [];
  async markRead(agent: string, ids: string[]): Promise<void> {
    this.marked.push({ agent, ids });
    for (const message of this.inbox) if (message.recipient === agent && ids.includes(message.envelope.id)) message.ackedAt ??= this.now();
  }

  /** the sessions `sessionOf` finds, by Claude Code pid */
  readonly sessionPids = new Map<number, string>();
  sessionOf(pids: number[]): string | undefined {
    return pids.map((pid) => this.sessionPids.get(pid)).find(Boolean);
  }

  /** what the hub last told; set by the test */
  hubDirectory: DirectoryFrame | undefined;
  directory(): DirectoryFrame | undefined {
    return this.hubDirectory;
  }

  readonly hooks: { payload: unknown; receivedAt: number; origin?: HookOrigin }[] = [];
  /** what the next hook call answers */
  hookAnswer: HookAnswer = {};

  /** what the next waitForMail resolves with (after `mailDelayMs`), unless aborted first */
  mail: string | undefined;
  mailDelayMs = 0;

  waitForMail(payload: unknown, signal: AbortSignal): Promise<string | undefined> {
    parseOrThrow(HookPayload, payload, 'hook event');
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(this.mail), this.mailDelayMs);
      signal.addEventListener('abort', () => (clearTimeout(timer), resolve(undefined)));
    });
  }

  async hook(payload: unknown, receivedAt = this.now(), origin: HookOrigin = {}): Promise<HookAnswer> {
    const event = parseOrThrow(HookPayload, payload, 'hook event');
    this.hooks.push({ payload: event, receivedAt, origin });
    this.emit({ type: 'hook', sessionId: event.session_id, event: event.hook_event_name, at: receivedAt });
    return this.hookAnswer;
  }

  messagesFor(recipient: string, since: number, limit: number): InboxMessage[] {
    return this.inbox.filter((m) => m.recipient === recipient && m.receivedAt > since).slice(0, limit);
  }

  subscribe(recipient: string, listener: (message: InboxMessage) => void): () => void {
    const listeners = this.subscribers.get(recipient) ?? new Set();
    listeners.add(listener);
    this.subscribers.set(recipient, listeners);
    return () => listeners.delete(listener);
  }

  onEvent(listener: (event: HostEvent) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  status(): HostStatus {
    return structuredClone(this.statusFacts);
  }

  /** Plays the hub handing `envelope` to `recipient`: into the inbox, to subscribers, as an event. */
  deliver(recipient: string, envelope: Envelope, receivedAt = this.now()): InboxMessage {
    const message: InboxMessage = { seq: this.nextSeq++, recipient, envelope: parseOrThrow(Envelope, envelope, 'envelope'), receivedAt };
    this.inbox.push(message);
    this.statusFacts.inbox.messages = this.inbox.length;
    for (const listener of this.subscribers.get(recipient) ?? []) listener(message);
    this.emit({ type: 'message-out', messageId: envelope.id, recipient, kind: envelope.kind, at: this.now() });
    return message;
  }

  emit(event: HostEvent): void {
    for (const listener of this.eventListeners) listener(event);
  }

  subscriberCount(recipient: string): number {
    return this.subscribers.get(recipient)?.size ?? 0;
  }
}

export { envelopeFor } from './envelopes';
