/**
 * The hub's end of the native host (`dev.switchboard.host`, native-host/): one `connectNative`
 * port, kept open, and reopened with backoff when it closes — the host daemon restarted, or it is
 * not installed yet. An open port also keeps the worker alive (ARCHITECTURE.md).
 *
 * In: the host's journal records, in order. Each is committed in the bus (messages keep the id the
 * host gave them, so a record sent twice is stored once) and only then confirmed with `committed`,
 * which lets the host drop it. Out: `deliver` hands a message to an agent the host serves; the host
 * answers `accepted` once its inbox holds it on disk.
 */
import type { z } from 'zod';
import { Reassembler } from '../protocol/chunking';
import { HostFrame, NATIVE_HOST_NAME, type HubFrame, type HookEvent, type InboundRecord, type NativeLinkStatus } from '../protocol/native';
import { ValidationError, type Envelope } from '../protocol/envelope';
import type { HoldRequest } from '../bus/destinations';

/** The part of a runtime.Port the link uses, so tests can give it a fake. */
export interface NativePort {
  postMessage(message: unknown): void;
  disconnect(): void;
  onMessage: { addListener(listener: (message: unknown) => void): void };
  onDisconnect: { addListener(listener: () => void): void };
}

/** What the link does with the host's records: the hub's bus and directory. */
export interface InboundSink {
  send(message: unknown): Promise<unknown>;
  ack(messageId: string, recipient: string): Promise<unknown>;
  noteAgent(address: string): Promise<unknown>;
  /** a message the host held has reached its agent */
  confirmDelivered(messageId: string, recipient: string): Promise<unknown>;
  /** a Claude Code hook event, for the hub's event store */
  hookEvent(event: HookEvent): Promise<unknown>;
  /** the host asks to hold one of its agents (bus.hold: throws ValidationError for a hold it cannot apply) */
  hold(request: HoldRequest): Promise<unknown>;
  /** the host's agents can be reached again: retry what waits for them now */
  reachable(): void;
  /** the host's latest usage report (a snapshot; nothing to store durably) */
  usage?(snapshot: { at: number; report: Record<string, unknown> }): void;
}


export interface NativeLinkOptions {
  connect: (name: string) => NativePort;
  /** the browser's reason for the last disconnect (runtime.lastError) */
  lastError?: () => string | undefined;
  sink: InboundSink;
  setTimer?: (callback: () => void, ms: number) => unknown;
  /** how long the host may take to accept a delivery */
  deliverTimeoutMs?: number;
  log?: (...args: unknown[]) => void;
}

const summary = (error: z.ZodError) => error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');

/**
 * A refusal is the bus judging the record, which it will do the same way next time: a validation
 * error, or a plain Error from an ack it cannot apply. Storage errors (Dexie and IndexedDB name
 * theirs: QuotaExceededError, DatabaseClosedError, AbortError…) pass.
 */
function isRefusal(error: unknown, record: InboundRecord): boolean {
  if (error instanceof ValidationError) return true;
  return (record.type === 'ack' || record.type === 'delivered') && error instanceof Error && error.name === 'Error';
}

/** How the host took a message: it has it (and, `held`, keeps it until its agent can take it), or why not. */
export type DeliverOutcome = { ok: true; held?: true } | { ok: false; reason: string };

/** A request that needs the host while it is away: expected, so the hub does not log it as a failure. */
export class HostUnavailableError extends Error {
  override name = 'HostUnavailableError';
}

const RETRY_MIN_MS = 1_000;
const RETRY_MAX_MS = 60_000;

export class NativeLink {
  private port: NativePort | undefined;
  private ready = false;
  private retryMs = RETRY_MIN_MS;
  private nextDeliveryId = 0;
  private readonly waiting = new Map<string, (outcome: DeliverOutcome) => void>();
  private readonly settingsWaiting = new Map<string, (answer: { ok: true; settings: Record<string, unknown> } | { ok: false; reason: string }) => void>();
  private readonly reassembler = new Reassembler();
  private readonly state: NativeLinkStatus = { connected: false, connects: 0, recordsCommitted: 0 };
  /** results waiting to be confirmed in one `committed` frame */
  private committed: { seq: number; error?: string }[] = [];
  private confirmScheduled = false;

  constructor(private readonly options: NativeLinkOptions) {}

  start(): void {
    if (this.port) return;
    let port: NativePort;
    try {
      port = this.options.connect(NATIVE_HOST_NAME);
    } catch (error) {
      this.closed(error instanceof Error ? error.message : String(error));
      return;
    }
    this.port = port;
    this.state.connects++;
    port.onMessage.addListener((message) => this.receive(port, message));
    port.onDisconnect.addListener(() => {
      if (this.port === port) this.closed(this.options.lastError?.() ?? 'the host closed the connection');
    });
  }

  status(): NativeLinkStatus {
    return { ...this.state, connected: this.ready };
  }

  /** Sends a frame that needs no answer (the directory); false when the host is not connected. */
  publish(frame: HubFrame): boolean {
    if (!this.port || !this.ready) return false;
    this.post(this.port, frame);
    return true;
  }

  /** Hands `envelope` to `recipient`, an agent the host serves. Resolves when the host holds it on disk. */
  deliver(recipient: string, envelope: Envelope): Promise<DeliverOutcome> {
    const port = this.port;
    if (!port || !this.ready) return Promise.resolve({ ok: false, reason: `the native host is not connected${this.state.lastError ? ` (${this.state.lastError})` : ''}` });
    const id = `d${++this.nextDeliveryId}`;
    return new Promise((resolve) => {
      const timer = (this.options.setTimer ?? setTimeout)(() => {
        if (this.waiting.delete(id)) resolve({ ok: false, reason: 'the native host did not answer in time' });
      }, this.options.deliverTimeoutMs ?? 10_000);
      void timer;
      this.waiting.set(id, resolve);
      this.post(port, { type: 'deliver', id, recipient, envelope });
    });
  }

  /**
   * The host's settings (usage alert thresholds, webhooks), after `change` when given — the host
   * validates it. Throws with the host's reason, or when the host is not connected.
   */
  settings(change?: Record<string, unknown>): Promise<Record<string, unknown>> {
    const port = this.port;
    if (!port || !this.ready) return Promise.reject(new HostUnavailableError(`needs the native host, which is not connected${this.state.lastError ? ` (${this.state.lastError})` : ''}`));
    const id = `s${++this.nextDeliveryId}`;
    return new Promise((resolve, reject) => {
      (this.options.setTimer ?? setTimeout)(() => {
        if (this.settingsWaiting.delete(id)) reject(new Error('the native host did not answer in time'));
      }, this.options.deliverTimeoutMs ?? 10_000);
      this.settingsWaiting.set(id, (answer) => (answer.ok ? resolve(answer.settings) : reject(new Error(answer.reason))));
      this.post(port, { type: 'settings', id, ...(change ? { change } : {}) });
    });
  }

  private receive(port: NativePort, message: unknown): void {
    if (port !== this.port) return;
    let whole: unknown;
    try {
      whole = this.reassembler.push(message);
    } catch (error) {
      this.options.log?.('Switchboard: a broken frame from the native host', error);
      return;
    }
    if (whole === undefined) return;
    const parsed = HostFrame.safeParse(whole);
    if (!parsed.success) {
      const { type, error, seq } = (whole ?? {}) as { type?: unknown; error?: unknown; seq?: unknown };
      // The host has no other way to tell us (e.g. it refused this extension): say it in the status.
      if (type === 'error') this.state.lastError = String(error);
      // A record this hub cannot read would be resent on every connect: confirm it with the reason.
      else if (type === 'inbound' && Number.isSafeInteger(seq)) this.confirm(port, seq as number, `unreadable record: ${summary(parsed.error)}`);
      else this.options.log?.('Switchboard: ignored a frame from the native host', summary(parsed.error));
      return;
    }
    const frame = parsed.data;
    switch (frame.type) {
      case 'hello':
        this.ready = true;
        this.retryMs = RETRY_MIN_MS;
        this.state.host = { version: frame.version, device: frame.device };
        this.state.lastError = undefined;
        this.options.sink.reachable();
        return;
      case 'inbound':
        void this.commit(frame.record).then((outcome) => {
          if (outcome.status === 'failed') {
            // The hub could not store it now (storage closed, quota): the host keeps the record,
            // and the reconnect makes it send it again.
            this.options.log?.('Switchboard: could not store a record from the native host; reconnecting to get it again', outcome.error);
            if (port === this.port) {
              port.disconnect();
              this.closed(`could not store a record: ${outcome.error}`);
            }
          } else this.confirm(port, frame.seq, outcome.status === 'refused' ? outcome.reason : undefined);
        });
        return;
      case 'accepted':
        this.waiting.get(frame.id)?.(frame.held ? { ok: true, held: true } : { ok: true });
        this.waiting.delete(frame.id);
        return;
      case 'refused':
        this.waiting.get(frame.id)?.({ ok: false, reason: frame.reason });
        this.waiting.delete(frame.id);
        this.settingsWaiting.get(frame.id)?.({ ok: false, reason: frame.reason });
        this.settingsWaiting.delete(frame.id);
        return;
      case 'settings':
        this.settingsWaiting.get(frame.id)?.({ ok: true, settings: frame.settings });
        this.settingsWaiting.delete(frame.id);
        return;
      case 'usage':
        this.options.sink.usage?.({ at: frame.at, report: frame.report });
        return;
      case 'chunk':
        return; // the reassembler took it
    }
  }

  /**
   * Applies one journal record. `refused`: the bus will never take it (invalid, an ack of a message
   * the recipient never had) — confirmed with the reason, or it would come back on every reconnect.
   * `failed`: it could not be stored now — never confirmed, so the host keeps it.
   */
  private async commit(record: InboundRecord): Promise<{ status: 'stored' } | { status: 'refused'; reason: string } | { status: 'failed'; error: string }> {
    try {
      const { sink } = this.options;
      switch (record.type) {
        case 'message':
          await sink.send(record.message);
          await sink.noteAgent(record.message.from);
          break;
        case 'ack':
          await sink.ack(record.messageId, record.recipient);
          break;
        case 'hook':
          await sink.hookEvent(record.event);
          break;
        case 'delivered':
          await sink.confirmDelivered(record.messageId, record.recipient);
          break;
        case 'agent':
          await sink.noteAgent(record.address);
          break;
        case 'hold':
          await sink.hold(record.hold);
          break;
      }
      return { status: 'stored' };
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      return isRefusal(error, record) ? { status: 'refused', reason } : { status: 'failed', error: reason };
    }
  }

  /** Confirms records in batches: one frame for all the commits that finish together. */
  private confirm(port: NativePort, seq: number, error: string | undefined): void {
    this.committed.push(error === undefined ? { seq } : { seq, error });
    this.state.recordsCommitted++;
    if (this.confirmScheduled) return;
    this.confirmScheduled = true;
    queueMicrotask(() => {
      this.confirmScheduled = false;
      const results = this.committed;
      this.committed = [];
      if (port === this.port) this.post(port, { type: 'committed', results });
    });
  }

  private post(port: NativePort, frame: HubFrame): void {
    try {
      port.postMessage(frame);
    } catch (error) {
      this.options.log?.('Switchboard: could not write to the native host', error);
    }
  }

  private closed(reason: string): void {
    this.port = undefined;
    this.ready = false;
    this.state.lastError = reason;
    for (const resolve of this.waiting.values()) resolve({ ok: false, reason: `the native host disconnected (${reason})` });
    this.waiting.clear();
    const wait = this.retryMs;
    this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
    (this.options.setTimer ?? setTimeout)(() => this.start(), wait);
  }
}
