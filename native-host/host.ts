/**
 * The daemon's core (HostCore): what it accepts from outside goes into the inbound journal before
 * anyone is answered, and leaves it only when the hub has committed it; what the hub hands over for
 * the host's agents goes into their inbox before the hub is told it arrived (issue 4: "Journal,
 * always in the path").
 *
 * One hub at a time: the browser's extension, connected through a shim. A newer connection replaces
 * an older one (a browser that restarted leaves a dead shim behind it for a moment).
 */
import { EventEmitter } from 'node:events';
import { newMessageId, parseOrThrow, parseSendRequest, type SendRequest } from '../src/protocol/envelope';
import { HookPayload, HubFrame, type HostFrame, type InboundRecord } from '../src/protocol/native';
import { AgentAddress } from '../src/protocol/address';
import { MessageId } from '../src/protocol/envelope';
import type { Journal } from './journal';
import type { Inbox } from './inbox';
import { HostBusyError, type HookAnswer, type HostCore, type HostEvent, type HostStatus, type InboxMessage } from './ports';
import type { HostMetrics } from './metrics';

/** A connected hub, as the host sees it: frames out, frames in. */
export interface HubConnection {
  /** Sends a frame; returns how many bytes it took. */
  send(frame: HostFrame): number;
  close(reason: string): void;
}

/** How many journal records, and how many bytes of them, the hub may have been sent and not yet committed (one record always goes). */
export const HUB_WINDOW = 256;
export const HUB_WINDOW_BYTES = 16 * 1024 * 1024;

export interface HostOptions {
  journal: Journal<InboundRecord>;
  inbox: Inbox;
  version: string;
  device: string;
  /** refuse new records (HostBusyError) while the journal holds this many bytes; default unlimited */
  maxJournalBytes?: number;
  metrics?: HostMetrics;
  now?: () => number;
  log?: (line: string) => void;
}

export class Host implements HostCore {
  private hub: HubConnection | undefined;
  private readonly events = new EventEmitter();
  private readonly startedAt: number;
  private readonly now: () => number;
  /** ids of messages in the journal (or on their way in), so a resent request is not journaled twice */
  private readonly journaledIds = new Map<string, Promise<number>>();
  private readonly idOfSeq = new Map<number, string>();
  /** seqs sent to the current hub and not yet committed by it, with their size */
  private readonly inFlight = new Map<number, number>();
  private inFlightBytes = 0;
  /** the journal's records in order, as of the hub's connect plus what came since; `next` is the first not sent */
  private outbox: { seq: number; record: InboundRecord }[] = [];
  private next = 0;
  /** when each journaled record was accepted, for the latency of API → hub committed */
  private readonly acceptedAt = new Map<number, number>();

  constructor(private readonly options: HostOptions) {
    this.now = options.now ?? Date.now;
    this.startedAt = this.now();
    this.events.setMaxListeners(0);
    for (const { seq, record } of options.journal.entries()) {
      if (record.type === 'message' && record.message.id) {
        this.journaledIds.set(record.message.id, Promise.resolve(seq));
        this.idOfSeq.set(seq, record.message.id);
      }
    }
  }

  async submit(input: SendRequest): Promise<{ messageId: string }> {
    const parsed = parseSendRequest(input);
    const id = parsed.id ?? newMessageId();
    const earlier = this.journaledIds.get(id);
    if (earlier) return earlier.then(() => ({ messageId: id }));
    // The id and the creation time are fixed here, so a replay after a crash is the same message.
    const message = { ...parsed, id, createdAt: parsed.createdAt ?? this.now() };
    const appended = this.append({ type: 'message', message });
    this.journaledIds.set(id, appended);
    const seq = await appended.catch((error) => {
      this.journaledIds.delete(id);
      throw error;
    });
    this.idOfSeq.set(seq, id);
    this.emit({ type: 'message-in', messageId: id, from: parsed.from, to: parsed.to, kind: parsed.kind, at: this.now() });
    return { messageId: id };
  }

  async ack(messageId: string, recipient: string): Promise<void> {
    parseOrThrow(MessageId, messageId, 'message id');
    parseOrThrow(AgentAddress, recipient, 'recipient');
    const at = this.now();
    await this.options.inbox.ack(recipient, messageId, at);
    await this.append({ type: 'ack', messageId, recipient });
    this.emit({ type: 'ack', messageId, recipient, at });
  }

  async hook(input: unknown, receivedAt = this.now()): Promise<HookAnswer> {
    const payload = parseOrThrow(HookPayload, input, 'hook event');
    await this.append({ type: 'hook', event: { id: newMessageId(), receivedAt, payload } });
    this.options.metrics?.hookEvent(payload.hook_event_name);
    this.emit({ type: 'hook', sessionId: payload.session_id, event: payload.hook_event_name, at: receivedAt });
    return {};
  }

  async present(address: string): Promise<void> {
    parseOrThrow(AgentAddress, address, 'address');
    await this.append({ type: 'agent', address });
  }

  messagesFor(recipient: string, since: number, limit: number): InboxMessage[] {
    return this.options.inbox.list(recipient, since, limit);
  }

  subscribe(recipient: string, listener: (message: InboxMessage) => void): () => void {
    return this.options.inbox.subscribe(recipient, listener);
  }

  onEvent(listener: (event: HostEvent) => void): () => void {
    this.events.on('event', listener);
    return () => this.events.off('event', listener);
  }

  status(): HostStatus {
    const { records, bytes } = this.options.journal.size;
    return {
      version: this.options.version,
      device: this.options.device,
      startedAt: this.startedAt,
      hubConnected: this.hub !== undefined,
      journal: { records, bytes, writable: this.options.journal.writable },
      inbox: { messages: this.options.inbox.count },
    };
  }

  /** A hub connected: greet it and send it everything the journal holds, in order. */
  attachHub(connection: HubConnection): void {
    if (this.hub) this.hub.close('another browser connected to the host');
    this.hub = connection;
    this.log('hub connected');
    this.inFlight.clear();
    this.inFlightBytes = 0;
    this.outbox = this.options.journal.entries();
    this.next = 0;
    connection.send({ type: 'hello', version: this.options.version, device: this.options.device });
    this.pump();
    this.emit({ type: 'hub', connected: true, at: this.now() });
  }

  detachHub(connection: HubConnection): void {
    if (this.hub !== connection) return;
    this.hub = undefined;
    this.log('hub disconnected');
    this.emit({ type: 'hub', connected: false, at: this.now() });
  }

  /** A frame from the hub. Bad frames are answered in the log, never with a crash. */
  async receive(connection: HubConnection, input: unknown): Promise<void> {
    const parsed = HubFrame.safeParse(input);
    if (!parsed.success) {
      this.log(`ignored a frame from the hub: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
      return;
    }
    const frame = parsed.data;
    if (frame.type === 'committed') {
      const seqs = frame.results.map((r) => r.seq);
      for (const result of frame.results) {
        if (result.error) this.log(`the hub refused journal record ${result.seq}: ${result.error}`);
        const accepted = this.acceptedAt.get(result.seq);
        if (accepted !== undefined) this.options.metrics?.observeDelivery('api_to_hub', (this.now() - accepted) / 1000);
        this.acceptedAt.delete(result.seq);
      }
      await this.options.journal.remove(seqs);
      for (const seq of seqs) {
        this.inFlightBytes -= this.inFlight.get(seq) ?? 0;
        this.inFlight.delete(seq);
      }
      // The hub has them now and dedupes a resend by id itself.
      for (const seq of seqs) {
        const id = this.idOfSeq.get(seq);
        if (id !== undefined) this.journaledIds.delete(id);
        this.idOfSeq.delete(seq);
      }
      this.pump();
    } else if (frame.type === 'deliver') {
      try {
        const receivedAt = this.now();
        const added = await this.options.inbox.add(frame.recipient, frame.envelope, receivedAt);
        if (added) {
          this.emit({ type: 'message-out', messageId: frame.envelope.id, recipient: frame.recipient, kind: frame.envelope.kind, at: receivedAt });
        }
        connection.send({ type: 'accepted', id: frame.id });
      } catch (error) {
        connection.send({ type: 'refused', id: frame.id, reason: error instanceof Error ? error.message : String(error) });
      }
    }
    // Chunks are reassembled before they reach here.
  }

  private async append(record: InboundRecord): Promise<number> {
    const max = this.options.maxJournalBytes;
    const held = this.options.journal.size.liveBytes;
    if (max !== undefined && held >= max) {
      throw new HostBusyError(
        `the host's journal is full (${held} bytes wait for the hub${this.hub ? '' : ', which is not connected: start the browser'}); try again later`,
        this.hub ? 5 : 60,
      );
    }
    const seq = await this.options.journal.append(record);
    this.acceptedAt.set(seq, this.now());
    // Appends resolve in seq order, so the outbox stays in journal order.
    if (this.hub) this.outbox.push({ seq, record });
    this.pump();
    return seq;
  }

  /**
   * Sends the hub the journal's records it has not been sent yet, in order, keeping at most
   * HUB_WINDOW records and HUB_WINDOW_BYTES uncommitted: a journal that filled while the browser
   * was closed must not flood it, nor the daemon's memory.
   */
  private pump(): void {
    const hub = this.hub;
    if (!hub) return;
    while (this.next < this.outbox.length && this.inFlight.size < HUB_WINDOW && (this.inFlight.size === 0 || this.inFlightBytes < HUB_WINDOW_BYTES)) {
      const { seq, record } = this.outbox[this.next++]!;
      const bytes = hub.send({ type: 'inbound', seq, record });
      this.inFlight.set(seq, bytes);
      this.inFlightBytes += bytes;
    }
    // What has been sent is no longer needed here: keep the outbox from growing for ever.
    if (this.next > 1_024) {
      this.outbox = this.outbox.slice(this.next);
      this.next = 0;
    }
  }

  private emit(event: HostEvent): void {
    this.events.emit('event', event);
  }

  private log(line: string): void {
    this.options.log?.(line);
  }
}
