/**
 * The bus: accepts a message once it is committed, then delivers it to each recipient through the
 * adapter for the recipient's kind — in priority order, with retries, ack timeouts and TTL — and
 * records every step. Nothing lives only in memory: a fresh Bus over the same store continues
 * exactly where the last one stopped (`start()`), which is what a restarted service worker does.
 */
import { parseAddress, type AgentKind } from '../protocol/address';
import {
  DEFAULT_TTL_MS,
  Envelope,
  newMessageId,
  parseOrThrow,
  priorityRank,
  SendRequest,
  type TtlPolicy,
} from '../protocol/envelope';
import { GroupCommitter } from './group-commit';
import {
  acknowledge,
  attemptFailed,
  byUrgency,
  attemptSucceeded,
  DEFAULT_RETRY_POLICY,
  expire,
  INTERRUPTED,
  isExpired,
  startAttempt,
  type Delivery,
  type RetryPolicy,
} from './delivery';
import type { AgentAdapter, BusStore, Clock, DeliveryOutcome, Directory, ListQuery, StoredEntry } from './ports';

export interface BusOptions {
  store: BusStore;
  clock: Clock;
  adapters: AgentAdapter[];
  /** expands topics and broadcast; without one they reach nobody */
  directory?: Directory;
  retry?: Partial<RetryPolicy>;
  /** delivery deadline per TTL policy, in ms (defaults: DEFAULT_TTL_MS) */
  ttlMs?: Partial<Record<TtlPolicy, number>>;
  /** [0, 1); injected so backoff jitter is testable */
  random?: () => number;
  /** deliveries claimed per store transaction (default 256) */
  batchSize?: number;
  /** attempts running at once (default 1,024) */
  maxInFlight?: number;
  /** told the next time anything is due, so a backstop (chrome.alarms) can wake a stopped worker */
  onNextDue?: (at: number | undefined) => void;
}

export interface SendReceipt {
  id: string;
  threadId: string;
  /** the agents the message is addressed to, topics and broadcast expanded */
  recipients: string[];
  /** true when this id was already accepted: nothing new was stored */
  duplicate: boolean;
}

export interface DeliveryChange {
  messageId: string;
  recipient: string;
  state: Delivery['state'];
  attempts: number;
  at: number;
  note?: string;
}

export interface MessageStatus {
  message: Envelope;
  deliveries: Delivery[];
}

/** Counts of the store transactions the bus ran, and what they carried: how well it batches. */
export interface BusMetrics {
  /** transactions that committed sends, and the messages in them */
  sendCommits: number;
  messagesCommitted: number;
  /** deliveries whose first attempt started straight from the send's commit (the fast path) */
  startedOnSend: number;
  /** transactions that claimed due deliveries, and the deliveries claimed */
  claimCommits: number;
  deliveriesClaimed: number;
  /** transactions that recorded outcomes and acks, and the changes in them */
  changeCommits: number;
  changesCommitted: number;
}

type DeliveryKey = [messageId: string, recipient: string];
type Change = { key: DeliveryKey; apply: (current: Delivery) => Delivery | undefined };

const ENVELOPE_CACHE_SIZE = 4_096;

export class Bus {
  private readonly store: BusStore;
  private readonly clock: Clock;
  private readonly adapters = new Map<AgentKind, AgentAdapter>();
  private readonly retry: RetryPolicy;
  private readonly ttlMs: Record<TtlPolicy, number>;
  private readonly random: () => number;
  private readonly batchSize: number;
  private readonly maxInFlight: number;
  private readonly listeners = new Set<(changes: DeliveryChange[]) => void>();
  private readonly envelopes = new Map<string, Envelope>();
  private readonly sends: GroupCommitter<StoredEntry, boolean>;
  private readonly changes: GroupCommitter<Change, Delivery | Error | undefined>;
  private pumping: Promise<void> | undefined;
  private pumpAgain = false;
  /** deliveries may be due that no pump has claimed yet: new sends must queue behind them */
  private backlog = true;
  private inFlight = 0;
  private timer: unknown;
  /** when the timer (and the backstop alarm) will fire */
  private armedAt: number | undefined;
  private started = false;
  readonly metrics: BusMetrics = {
    sendCommits: 0,
    messagesCommitted: 0,
    startedOnSend: 0,
    claimCommits: 0,
    deliveriesClaimed: 0,
    changeCommits: 0,
    changesCommitted: 0,
  };

  constructor(private readonly options: BusOptions) {
    this.store = options.store;
    this.clock = options.clock;
    for (const adapter of options.adapters) this.adapters.set(adapter.kind, adapter);
    this.retry = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    this.ttlMs = { ...DEFAULT_TTL_MS, ...options.ttlMs };
    this.random = options.random ?? Math.random;
    this.batchSize = options.batchSize ?? 256;
    this.maxInFlight = options.maxInFlight ?? 1_024;
    this.sends = new GroupCommitter((entries) => this.commitSends(entries));
    this.changes = new GroupCommitter((changes) => this.commitChanges(changes));
  }

  /**
   * Picks up where the last bus over this store stopped: attempts it was in the middle of count as
   * failed — retried after a backoff (receivers dedupe), or failed for good when they were the last
   * allowed, so a message that crashes the worker cannot loop — then everything due is delivered.
   * Call once, before sending.
   */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    const now = this.clock.now();
    const orphans = await this.store.inState('sent');
    if (orphans.length) {
      const updated = await this.store.update(
        orphans.map((d) => [d.messageId, d.recipient]),
        (current) => (current?.state === 'sent' ? attemptFailed(current, now, INTERRUPTED, this.retry, this.random()) : undefined),
      );
      this.emit(updated.filter((d): d is Delivery => d !== undefined));
    }
    this.kick();
  }

  /** Validates and commits a message; resolves once it is durable. Throws ValidationError on bad input. */
  async send(input: unknown): Promise<SendReceipt> {
    const request = parseOrThrow(SendRequest, input, 'message');
    const now = this.clock.now();
    const id = request.id ?? newMessageId();
    const threadId = request.threadId ?? (request.inReplyTo ? await this.threadOf(request.inReplyTo) : id);
    const message: Envelope = {
      id,
      from: request.from,
      to: request.to,
      replyTo: request.replyTo ?? request.from,
      ...(request.inReplyTo ? { inReplyTo: request.inReplyTo } : {}),
      threadId,
      kind: request.kind,
      body: request.body,
      priority: request.priority,
      ttl: request.ttl,
      createdAt: request.createdAt ?? now,
      hops: request.hops,
      ackRequired: request.ackRequired,
    };
    const recipients = await this.expand(message);
    const deliveries = recipients.map((recipient) => this.newDelivery(message, recipient, now));
    const duplicate = !(await this.sends.submit({ message, deliveries }));
    if (duplicate) {
      // Say what was stored under this id, not what this request asked for.
      const stored = await this.status(id);
      if (stored) return { id, threadId: stored.message.threadId, recipients: stored.deliveries.map((d) => d.recipient), duplicate };
    }
    return { id, threadId, recipients, duplicate };
  }

  /**
   * Commits a batch of sends in one transaction. When nothing is waiting and there is room, the
   * deliveries are committed already `sent` and their attempts start right after the commit: no
   * claim transaction on the way (the fast path). Otherwise they wait for the pump, in priority order.
   * Resolves, per entry, whether it was new.
   */
  private async commitSends(entries: StoredEntry[]): Promise<boolean[]> {
    const count = entries.reduce((n, e) => n + e.deliveries.length, 0);
    const startNow = this.started && !this.backlog && this.inFlight + count <= this.maxInFlight;
    const now = this.clock.now();
    const toStore = startNow
      ? entries.map((e) => ({ ...e, deliveries: e.deliveries.map((d) => (isExpired(d, now) ? expire(d, now) : startAttempt(d, now, this.retry))) }))
      : entries;
    const stored = await this.store.insert(toStore);
    this.metrics.sendCommits++;
    this.metrics.messagesCommitted += entries.length;
    const fresh = toStore.filter((_, i) => stored[i]);
    for (const entry of fresh) this.remember(entry.message);
    // Start the attempts before telling anyone: nothing a listener does may keep them from running.
    const started = startNow ? fresh.flatMap((e) => e.deliveries).filter((d) => d.state === 'sent').sort(byUrgency) : [];
    this.metrics.startedOnSend += started.length;
    for (const delivery of started) void this.attempt(delivery);
    if (started.length) this.armEarlier(started[0].dueAt); // the attempts' lease
    else if (fresh.length && !startNow) this.kick();
    this.emit(entries.filter((_, i) => stored[i]).flatMap((e) => e.deliveries));
    if (startNow) this.emit(fresh.flatMap((e) => e.deliveries));
    return stored;
  }

  /** The receiver confirms a message. Repeated acks are harmless. */
  async ack(messageId: string, recipient: string): Promise<Delivery> {
    const now = this.clock.now();
    const result = await this.changes.submit({
      key: [messageId, recipient],
      apply: (current) => acknowledge(current, now),
    });
    if (result instanceof Error) throw result;
    return result ?? (await this.deliveryOf(messageId, recipient));
  }

  async status(messageId: string): Promise<MessageStatus | undefined> {
    const message = await this.store.message(messageId);
    if (!message) return undefined;
    return { message, deliveries: await this.store.deliveriesOf(messageId) };
  }

  list(query: ListQuery): Promise<StoredEntry[]> {
    return this.store.list(query);
  }

  counts() {
    return this.store.counts();
  }

  /** Calls `listener` with every batch of state changes; returns the unsubscribe function. */
  subscribe(listener: (changes: DeliveryChange[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Delivers whatever is due now. Called by timers, alarms and wake-ups; safe to call any time. */
  kick(): void {
    if (!this.started) return;
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = this.pump().finally(() => {
      this.pumping = undefined;
      if (this.pumpAgain) this.kick();
    });
  }

  /**
   * Resolves when nothing is running: no commit, no pump, and (unless `attempts` is false) no
   * adapter call. For tests and shutdown.
   */
  async settled({ attempts = true } = {}): Promise<void> {
    for (;;) {
      await this.sends.flushed();
      await this.changes.flushed();
      if (this.pumping) await this.pumping;
      else if (attempts && this.inFlight > 0) await new Promise((resolve) => setTimeout(resolve, 1));
      else return;
    }
  }

  private async pump(): Promise<void> {
    let nextDueAt: number | undefined;
    let claimedAny = false;
    do {
      this.pumpAgain = false;
      for (;;) {
        const now = this.clock.now();
        const limit = Math.min(this.batchSize, this.maxInFlight - this.inFlight);
        if (limit <= 0) {
          this.backlog = true; // an attempt finishing kicks the pump again
          break;
        }
        const result = await this.store.claimDue(now, limit, (d) => this.onDue(d, now));
        nextDueAt = result.nextDueAt;
        claimedAny = true;
        this.metrics.claimCommits++;
        this.metrics.deliveriesClaimed += result.claimed.length;
        for (const delivery of result.claimed) if (delivery.state === 'sent') void this.attempt(delivery);
        this.emit(result.claimed);
        // A short batch means nothing else is due now; what becomes due later arrives with a kick or a timer.
        this.backlog = result.claimed.length >= limit;
        if (this.backlog) continue;
        break;
      }
    } while (this.pumpAgain);
    // Without a claim, the next due time is unknown and the armed timers still stand.
    if (claimedAny) this.armTimer(nextDueAt);
  }

  /** What a due delivery turns into. */
  private onDue(delivery: Delivery, now: number): Delivery {
    if (isExpired(delivery, now)) return expire(delivery, now);
    switch (delivery.state) {
      case 'queued':
        return startAttempt(delivery, now, this.retry);
      case 'sent':
        return attemptFailed(delivery, now, `attempt timed out after ${this.retry.attemptTimeoutMs} ms`, this.retry, this.random());
      case 'delivered':
        return attemptFailed(delivery, now, `no ack within ${this.retry.ackTimeoutMs} ms`, this.retry, this.random());
      default:
        return { ...delivery, dueAt: undefined };
    }
  }

  private async attempt(delivery: Delivery): Promise<void> {
    this.inFlight++;
    const { messageId, recipient, attempts } = delivery;
    let outcome: DeliveryOutcome;
    let timer: unknown;
    try {
      // An adapter that never answers must not hold its slot: the attempt ends at its lease.
      const timeout = new Promise<DeliveryOutcome>((resolve) => {
        timer = this.clock.setTimer(
          () => resolve({ status: 'retry', reason: `attempt timed out after ${this.retry.attemptTimeoutMs} ms` }),
          this.retry.attemptTimeoutMs,
        );
      });
      outcome = await Promise.race([this.deliverOnce(delivery), timeout]);
    } catch (error) {
      outcome = { status: 'retry', reason: errorText(error) };
    } finally {
      this.clock.clearTimer(timer);
    }
    try {
      const written = await this.changes.submit({
        key: [messageId, recipient],
        // An outcome counts only for the attempt it belongs to: a timed-out attempt that answers
        // late must not overwrite the retry that replaced it.
        apply: (current) =>
          current.state === 'sent' && current.attempts === attempts ? this.applyOutcome(current, outcome) : undefined,
      });
      if (written && !(written instanceof Error)) this.armEarlier(written.dueAt);
    } finally {
      this.inFlight--;
      // Room for waiting work: claim it. Without a backlog there is nothing to claim.
      if (this.backlog) this.kick();
    }
  }

  private async deliverOnce(delivery: Delivery): Promise<DeliveryOutcome> {
    const address = parseAddress(delivery.recipient);
    if (address?.type !== 'agent') return { status: 'failed', reason: `${delivery.recipient} is not an agent address` };
    const adapter = this.adapters.get(address.kind);
    if (!adapter) return { status: 'retry', reason: `no adapter for ${address.kind} agents is connected` };
    const envelope = this.envelopes.get(delivery.messageId) ?? (await this.store.message(delivery.messageId));
    if (!envelope) return { status: 'failed', reason: 'the message is no longer stored' };
    return adapter.deliver({ envelope, recipient: delivery.recipient, attempt: delivery.attempts });
  }

  private applyOutcome(delivery: Delivery, outcome: DeliveryOutcome): Delivery {
    const now = this.clock.now();
    switch (outcome.status) {
      case 'delivered':
        return attemptSucceeded(delivery, now, this.retry);
      case 'retry':
        return attemptFailed(delivery, now, outcome.reason, this.retry, this.random());
      case 'failed':
        return attemptFailed(delivery, now, outcome.reason, this.retry, this.random(), true);
    }
  }

  /** Applies a batch of read-modify-write changes in one transaction; an error belongs to its own change only. */
  private async commitChanges(changes: Change[]): Promise<(Delivery | Error | undefined)[]> {
    const errors = new Map<number, Error>();
    const written = await this.store.update(
      changes.map((c) => c.key),
      (current, index) => {
        if (!current) {
          errors.set(index, new Error(`no message ${changes[index].key[0]} for ${changes[index].key[1]}`));
          return undefined;
        }
        try {
          return changes[index].apply(current);
        } catch (error) {
          errors.set(index, error instanceof Error ? error : new Error(String(error)));
          return undefined;
        }
      },
    );
    this.metrics.changeCommits++;
    this.metrics.changesCommitted += changes.length;
    this.emit(written.filter((d): d is Delivery => d !== undefined));
    return written.map((d, i) => errors.get(i) ?? d);
  }

  /**
   * Makes sure the timers fire by `at` without asking the store: a timer that fires for a deadline
   * that no longer matters costs one claim that finds nothing and re-arms from the store.
   */
  private armEarlier(at: number | undefined): void {
    if (at === undefined) return;
    if (this.armedAt === undefined || at < this.armedAt) this.armTimer(at);
  }

  private armTimer(next: number | undefined): void {
    if (this.timer !== undefined) this.clock.clearTimer(this.timer);
    this.timer = undefined;
    this.armedAt = next;
    if (next !== undefined) {
      this.timer = this.clock.setTimer(() => {
        this.timer = undefined;
        this.armedAt = undefined;
        this.backlog = true;
        this.kick();
      }, Math.max(0, next - this.clock.now()));
    }
    this.options.onNextDue?.(next);
  }

  private newDelivery(message: Envelope, recipient: string, now: number): Delivery {
    const once = message.ttl === 'immediate';
    const ttl = once ? this.retry.attemptTimeoutMs : this.ttlMs[message.ttl];
    return {
      messageId: message.id,
      recipient,
      state: 'queued',
      priority: priorityRank(message.priority),
      attempts: 0,
      ackRequired: message.ackRequired,
      dueAt: now,
      // TTL counts from creation (a relayed message may be older than its arrival), but never from
      // a creation time in the future: a sender's clock must not stretch the deadline.
      ...(Number.isFinite(ttl) ? { expiresAt: Math.min(message.createdAt, now) + ttl } : {}),
      once,
      history: [{ state: 'queued', at: now }],
    };
  }

  private async expand(message: Envelope): Promise<string[]> {
    const recipients = new Set<string>();
    for (const address of message.to) {
      const parsed = parseAddress(address);
      if (parsed?.type === 'agent') recipients.add(address);
      else for (const agent of (await this.options.directory?.expand(address)) ?? []) if (agent !== message.from) recipients.add(agent);
    }
    return [...recipients];
  }

  private async threadOf(messageId: string): Promise<string> {
    return (this.envelopes.get(messageId) ?? (await this.store.message(messageId)))?.threadId ?? messageId;
  }

  private async deliveryOf(messageId: string, recipient: string): Promise<Delivery> {
    const delivery = (await this.store.deliveriesOf(messageId)).find((d) => d.recipient === recipient);
    if (!delivery) throw new Error(`no message ${messageId} for ${recipient}`);
    return delivery;
  }

  private remember(message: Envelope): void {
    this.envelopes.set(message.id, message);
    if (this.envelopes.size > ENVELOPE_CACHE_SIZE) this.envelopes.delete(this.envelopes.keys().next().value!);
  }

  private emit(deliveries: Delivery[]): void {
    if (!deliveries.length || !this.listeners.size) return;
    const changes = deliveries.map((d) => {
      const last = d.history[d.history.length - 1];
      return { messageId: d.messageId, recipient: d.recipient, state: d.state, attempts: d.attempts, at: last.at, ...(last.note ? { note: last.note } : {}) };
    });
    // A listener is someone else's code (a page's port): its failure must not stop the bus.
    for (const listener of this.listeners) {
      try {
        listener(changes);
      } catch (error) {
        this.listeners.delete(listener);
        console.warn('Switchboard: dropped a change listener that threw', error);
      }
    }
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
