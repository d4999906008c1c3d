/**
 * The bus: accepts a message once it is committed, then delivers it to each recipient through the
 * adapter for the recipient's kind — in priority order, with retries, ack timeouts and TTL — and
 * records every step. Nothing lives only in memory: a fresh Bus over the same store continues
 * exactly where the last one stopped (`start()`), which is what a restarted service worker does.
 */
import { HUB_ADDRESS, parseAddress, type AgentKind } from '../protocol/address';
import {
  DEFAULT_TTL_MS,
  Envelope,
  newMessageId,
  parseOrThrow,
  priorityRank,
  SendRequest,
  type TtlPolicy,
} from '../protocol/envelope';
import { z } from 'zod';
import { GroupCommitter } from './group-commit';
import {
  acknowledge,
  attemptFailed,
  cancel,
  requeue,
  byUrgency,
  attemptSucceeded,
  attemptPending,
  confirmDelivered,
  DEFAULT_RETRY_POLICY,
  expire,
  INTERRUPTED,
  retentionOf,
  isExpired,
  type Delivery,
  type RetryPolicy,
} from './delivery';
import type { AgentAdapter, BusStore, Clock, DeliveryOutcome, Directory, ListQuery, StoredEntry } from './ports';
import { DestinationBook, type Notice } from './destination-book';
import { HoldRequest, type BreakerPolicy, type DestinationRecord } from './destinations';
import { Rule, route, type StoredRule } from './routing';

export interface BusOptions {
  store: BusStore;
  clock: Clock;
  adapters: AgentAdapter[];
  /** expands topics and broadcast; without one they reach nobody */
  directory?: Directory;
  retry?: Partial<RetryPolicy>;
  /** when a destination's circuit opens and how long it cools down */
  breaker?: Partial<BreakerPolicy>;
  /** delivery deadline per TTL policy, in ms (defaults: DEFAULT_TTL_MS) */
  ttlMs?: Partial<Record<TtlPolicy, number>>;
  /** how long archived messages are kept before they are purged, in ms (default 30 days) */
  archiveRetentionMs?: number;
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
  /** the routing rules that changed its recipients, in order */
  routedBy: string[];
}

export interface DeliveryChange {
  messageId: string;
  recipient: string;
  state: Delivery['state'];
  attempts: number;
  at: number;
  note?: string;
  /** a report of the agent's work on it (an answer being written), not a change of state; not stored */
  progress?: boolean;
}

export interface SweepResult {
  archived: number;
  purged: number;
}

/** The configurable part of TTL: `immediate` is one attempt and `permanent` never ends, by definition. */
export interface RetentionSettings {
  ttlMs: { short: number; medium: number; long: number };
  archiveRetentionMs: number;
}

const HOUR = 3_600_000;
const Duration = z.int().min(60_000, { error: 'at least a minute' }).max(3_650 * 24 * HOUR, { error: 'at most ten years' });
export const RetentionChange = z.strictObject({
  ttlMs: z.strictObject({ short: Duration.optional(), medium: Duration.optional(), long: Duration.optional() }).optional(),
  archiveRetentionMs: Duration.optional(),
});

export const DEFAULT_ARCHIVE_RETENTION_MS = 30 * 24 * HOUR;
/** A delivery to a busy agent looks again this late at the latest (its adapter wakes it sooner). */
export const BUSY_RECHECK_MS = 30_000;

/**
 * Sends waiting to commit, from this many on, make a burst: the attempts of the sends committed so
 * far wait until the burst is committed (or for at most MAX_HOLD_FOR_SENDS_MS), so that accepting
 * does not share IndexedDB with delivering. A steady stream rarely has more than one send waiting.
 */
export const BURST_SENDS = 16;
export const MAX_HOLD_FOR_SENDS_MS = 100;
/** Outcomes committed together, up to this many, are written without reading them first. */
export const MAX_UNREAD_CHANGES = 8;
const RETENTION_SETTING = 'retention';
const SWEEP_BATCH = 500;

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
  /** change batches written the careful way (read, then write) because a delivery had changed since the bus last wrote it */
  changeRereads: number;
}

type DeliveryKey = [messageId: string, recipient: string];
/** `expected`: the delivery as this bus last wrote it, when the change is made from that (an attempt's outcome). */
type Change = { key: DeliveryKey; apply: (current: Delivery) => Delivery | undefined; expected?: Delivery };

const ENVELOPE_CACHE_SIZE = 4_096;

export class Bus {
  private readonly store: BusStore;
  private readonly clock: Clock;
  private readonly adapters = new Map<AgentKind, AgentAdapter>();
  private readonly retry: RetryPolicy;
  private ttlMs: Record<TtlPolicy, number>;
  private archiveRetentionMs: number;
  private sweeping: Promise<SweepResult> | undefined;
  private readonly random: () => number;
  private readonly batchSize: number;
  private readonly maxInFlight: number;
  private readonly listeners = new Set<(changes: DeliveryChange[]) => void>();
  private readonly envelopes = new Map<string, Envelope>();
  private readonly sends: GroupCommitter<StoredEntry, boolean>;
  private readonly changes: GroupCommitter<Change, Delivery | Error | undefined>;
  private pumping: Promise<void> | undefined;
  /** wake-ups of destinations freed by a finished retry, still running */
  private readonly waking = new Set<Promise<void>>();
  private pumpAgain = false;
  /** deliveries may be due that no pump has claimed yet: new sends must queue behind them */
  private backlog = true;
  private inFlight = 0;
  /** Attempts of committed sends, held while a burst's further sends wait to commit. */
  private startLater: Delivery[] = [];
  /** deliveries admitted to start by commits of sends still running */
  private admitting = 0;
  /** commits of sends still running whose deliveries will be queued for the pump */
  private queuing = 0;
  private heldSince = 0;
  private timer: unknown;
  /** when the timer (and the backstop alarm) will fire */
  private armedAt: number | undefined;
  private started = false;
  private readonly book: DestinationBook;
  private rules: StoredRule[] = [];
  readonly metrics: BusMetrics = {
    sendCommits: 0,
    messagesCommitted: 0,
    startedOnSend: 0,
    claimCommits: 0,
    deliveriesClaimed: 0,
    changeCommits: 0,
    changesCommitted: 0,
    changeRereads: 0,
  };

  constructor(private readonly options: BusOptions) {
    this.store = options.store;
    this.clock = options.clock;
    for (const adapter of options.adapters) this.adapters.set(adapter.kind, adapter);
    this.retry = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    this.ttlMs = { ...DEFAULT_TTL_MS, ...options.ttlMs };
    this.archiveRetentionMs = options.archiveRetentionMs ?? DEFAULT_ARCHIVE_RETENTION_MS;
    this.random = options.random ?? Math.random;
    this.batchSize = options.batchSize ?? 256;
    this.maxInFlight = options.maxInFlight ?? 1_024;
    this.book = new DestinationBook(options.store, options.breaker);
    // Two commits of sends at once: a burst's next batch is queued in IndexedDB while one commits.
    this.sends = new GroupCommitter((entries, turn) => this.commitSends(entries, turn), 2);
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
    await this.store.recover();
    await this.book.load();
    this.rules = await this.store.loadRules();
    const settings = await this.store.loadSetting<RetentionSettings>(RETENTION_SETTING);
    if (settings) this.applyRetention(settings);
    this.started = true;
    const now = this.clock.now();
    // Retries waiting from before: later messages to their destinations queue behind them.
    this.book.track((await this.store.inState('queued')).filter((d) => d.attempts > 0));
    // An attempt the last worker was making died with it; a pending one did not (the agent's side holds it).
    const orphans = (await this.store.inState('sent')).filter((d) => !d.pending);
    if (orphans.length) {
      const updated = await this.store.update(
        orphans.map((d) => [d.messageId, d.recipient]),
        (current) => (current?.state === 'sent' && !current.pending ? attemptFailed(current, now, INTERRUPTED, this.retry, this.random()) : undefined),
      );
      this.changed(updated.filter((d): d is Delivery => d !== undefined));
    }
    // A wake-up the last worker owed may have died with it: look at those queues afresh.
    for (const address of this.book.retryingDestinations()) await this.wake(address);
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
      ...(request.headers ? { headers: request.headers } : {}),
    };
    const routed = route(message, this.rules);
    const recipients = await this.expand(message.from, routed.recipients);
    const deliveries = recipients.map((recipient) => this.newDelivery(message, recipient, now));
    const retainFor = retentionOf(message.ttl, this.ttlMs);
    const keepUntil = deliveries.length === 0 && retainFor !== undefined ? { retainUntil: Math.min(message.createdAt, now) + retainFor } : {};
    const duplicate = !(await this.sends.submit({ message, deliveries, ...keepUntil }));
    if (duplicate) {
      // Say what was stored under this id, not what this request asked for.
      const stored = await this.status(id);
      if (stored) return { id, threadId: stored.message.threadId, recipients: stored.deliveries.map((d) => d.recipient), duplicate, routedBy: [] };
    }
    return { id, threadId, recipients, duplicate, routedBy: routed.applied };
  }

  /**
   * Commits a batch of sends in one transaction. When nothing is waiting and there is room, the
   * deliveries are committed already `sent` and their attempts start right after the commit: no
   * claim transaction on the way (the fast path). Otherwise they wait for the pump, in priority order.
   * Resolves, per entry, whether it was new.
   */
  private async commitSends(entries: StoredEntry[], turn: Promise<void>): Promise<boolean[]> {
    const count = entries.reduce((n, e) => n + e.deliveries.length, 0);
    // A commit still running that queues its deliveries is ahead of this one: none may overtake them.
    const startNow =
      this.started && !this.backlog && this.queuing === 0 && this.inFlight + this.startLater.length + this.admitting + count <= this.maxInFlight;
    const now = this.clock.now();
    const notices: Notice[] = [];
    const toStore = startNow ? entries.map((e) => ({ ...e, deliveries: this.admitNew(e.deliveries, now, notices) })) : entries;
    if (startNow) this.admitting += count;
    else this.queuing++;
    const inserted = this.store.insert(toStore).then(
      (stored) => ({ stored }),
      (error: unknown) => ({ error }),
    );
    // The commit before this one may still be finishing: what follows happens in commit order.
    await turn;
    const result = await inserted;
    if (startNow) this.admitting -= count;
    else this.queuing--;
    if ('error' in result) {
      this.startHeld(); // what earlier commits of the burst hold must not wait for one that failed
      throw result.error;
    }
    const { stored } = result;
    this.metrics.sendCommits++;
    this.metrics.messagesCommitted += entries.length;
    const fresh = toStore.filter((_, i) => stored[i]);
    for (const entry of fresh) this.remember(entry.message);
    // Start the attempts before telling anyone: nothing a listener does may keep them from running.
    const started = startNow ? fresh.flatMap((e) => e.deliveries).filter((d) => d.state === 'sent').sort(byUrgency) : [];
    this.metrics.startedOnSend += started.length;
    if (!this.startLater.length) this.heldSince = now;
    this.startLater.push(...started);
    // A burst's attempts wait for its sends: accepting comes first (BENCHMARKS.md, issue 3). A
    // lone send, or a burst's last commit, or attempts held too long, start them all.
    if (this.sends.pending - entries.length < BURST_SENDS || this.clock.now() - this.heldSince >= MAX_HOLD_FOR_SENDS_MS) this.startHeld();
    if (!startNow) {
      if (fresh.length) {
        // Queued now: sends that come later wait behind them until the pump has claimed them.
        this.backlog = true;
        this.kick();
      }
    } else {
      // What did not start: parked until its destination may be tried (the timer must cover it),
      // or re-routed to a fallback and due now (the pump takes it).
      const waiting = fresh.flatMap((e) => e.deliveries).filter((d) => d.state === 'queued');
      if (waiting.some((d) => d.dueAt !== undefined && d.dueAt <= now)) this.kick();
      const next = Math.min(...[...started, ...waiting].map((d) => d.dueAt ?? Number.POSITIVE_INFINITY));
      if (Number.isFinite(next)) this.armEarlier(next);
    }
    this.changed(entries.filter((_, i) => stored[i]).flatMap((e) => e.deliveries));
    if (startNow) this.changed(fresh.flatMap((e) => e.deliveries));
    this.notify(notices);
    return stored;
  }

  /** Starts the attempts held for a burst, most urgent first. */
  private startHeld(): void {
    const due = this.startLater.sort(byUrgency);
    this.startLater = [];
    for (const delivery of due) void this.attempt(delivery);
  }

  /** The fast path's decision for a new message's deliveries: attempt, wait, or re-route. */
  private admitNew(deliveries: Delivery[], now: number, notices: Notice[]): Delivery[] {
    const recipients = new Set(deliveries.map((d) => d.recipient));
    return deliveries.flatMap((d) => {
      if (isExpired(d, now)) return [expire(d, now)];
      const [self, ...added] = this.admit(d, now, notices);
      // A fallback that is already a recipient of this message gets it once.
      return [self, ...added.filter((a) => !recipients.has(a.recipient) && recipients.add(a.recipient))];
    });
  }

  /**
   * Whether a due delivery goes now: not while its agent is busy with another (an adapter that
   * takes one at a time says so), then as the destination book decides (order, holds, breaker).
   */
  private admit(delivery: Delivery, now: number, notices: Notice[]): Delivery[] {
    const adapter = this.adapterOf(delivery.recipient);
    const busy = adapter?.busy?.(delivery.recipient);
    if (busy) return [this.book.park(delivery, now + BUSY_RECHECK_MS, busy)];
    const admitted = this.book.admit(delivery, now, this.retry);
    notices.push(...admitted.notices);
    if (admitted.deliveries[0].state === 'sent') adapter?.reserve?.(delivery.recipient);
    return admitted.deliveries;
  }

  private adapterOf(recipient: string): AgentAdapter | undefined {
    const address = parseAddress(recipient);
    return address?.type === 'agent' ? this.adapters.get(address.kind) : undefined;
  }

  /**
   * The agent's side says the agent has the message now (it was `pending`). Repeats, and a
   * confirmation of a delivery already delivered or acked, change nothing.
   */
  async confirmDelivered(messageId: string, recipient: string): Promise<Delivery> {
    const now = this.clock.now();
    const result = await this.changes.submit({ key: [messageId, recipient], apply: (current) => confirmDelivered(current, now, this.retry) });
    if (result instanceof Error) throw result;
    if (result?.dueAt !== undefined) this.armEarlier(result.dueAt);
    return result ?? (await this.deliveryOf(messageId, recipient));
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

  /**
   * The person cancels a message: its unfinished deliveries (to `recipient`, or all) fail now.
   * Returns the message's deliveries after. Throws when there is no such message or recipient.
   */
  async cancel(messageId: string, recipient?: string): Promise<Delivery[]> {
    const deliveries = await this.deliveriesToChange(messageId, recipient);
    const now = this.clock.now();
    await this.store.update(
      deliveries.map((d) => [d.messageId, d.recipient]),
      (current) => (current ? cancel(current, now) : undefined),
    ).then((written) => this.changed(written.filter((d): d is Delivery => d !== undefined)));
    return this.store.deliveriesOf(messageId);
  }

  /** The person tries a failed or expired delivery again: queued afresh, all attempts and a new deadline. */
  async tryAgain(messageId: string, recipient: string): Promise<Delivery> {
    const [delivery] = await this.deliveriesToChange(messageId, recipient);
    const message = this.envelopes.get(messageId) ?? (await this.store.message(messageId));
    const now = this.clock.now();
    const ttl = message!.ttl === 'immediate' ? this.retry.attemptTimeoutMs : this.ttlMs[message!.ttl];
    const [written] = await this.store.update([[messageId, delivery.recipient]], (current) => (current ? requeue(current, now, ttl) : undefined));
    this.changed([written!]);
    this.backlog = true;
    this.kick();
    return written!;
  }

  /**
   * The person's clear-data: every message, delivery and archived message is deleted; rules, holds
   * and settings stay. Attempts in flight finish into nothing.
   */
  async clearMessages(): Promise<void> {
    await this.settled({ attempts: false });
    await this.store.clearMessages();
    this.envelopes.clear();
    this.book.forgetDeliveries();
    this.armTimer(undefined);
  }

  private async deliveriesToChange(messageId: string, recipient: string | undefined): Promise<Delivery[]> {
    const all = await this.store.deliveriesOf(messageId);
    if (!all.length) throw new Error(`no message ${messageId}`);
    const chosen = recipient === undefined ? all : all.filter((d) => d.recipient === recipient);
    if (!chosen.length) throw new Error(`${messageId} was not sent to ${recipient}; its recipients: ${all.map((d) => d.recipient).join(', ')}`);
    return chosen;
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

  /** Every destination the bus has a record of: breaker state, hold, recent events. */
  destinations(): DestinationRecord[] {
    return this.book.list();
  }

  /**
   * Holds a destination (HoldRequest: strategy, reason, until, fallback, notify). Its messages wait
   * in their order — or, under graceful_degradation, go to the fallback — until the hold ends.
   */
  async hold(input: unknown): Promise<DestinationRecord> {
    const request = parseOrThrow(HoldRequest, input, 'hold');
    const now = this.clock.now();
    const { record, notices } = this.book.hold(request, now);
    this.notify(notices);
    if (request.strategy === 'graceful_degradation') {
      const moved = await this.store.queuedFor(request.address, (d) =>
        this.book.admit(d, now, this.retry).deliveries,
      );
      this.changed([...moved.changed, ...moved.added]);
      this.kick();
    }
    if (request.until !== undefined) this.armEarlier(request.until);
    return record;
  }

  /** Ends a hold: the destination's waiting messages go now, in their order. */
  async release(address: string): Promise<DestinationRecord> {
    const { record, notices } = this.book.release(address, this.clock.now(), 'released');
    this.notify(notices);
    await this.wake(address);
    return record;
  }

  /**
   * The way to these destinations is open again (the native host reconnected): their waiting
   * messages are due now instead of at the end of their backoff. Holds and breakers still apply.
   */
  async reachable(addresses: string[]): Promise<void> {
    for (const address of addresses) await this.wake(address);
  }

  /** Makes a destination's waiting deliveries due now (the way to it is open again). */
  private async wake(address: string): Promise<void> {
    const now = this.clock.now();
    const { changed } = await this.store.queuedFor(address, (d) =>
      d.dueAt !== undefined && d.dueAt > now ? { ...d, dueAt: now } : undefined,
    );
    if (changed.length) {
      this.backlog = true;
      this.kick();
    }
  }

  /** Tells people about holds: a `status` message from the hub itself. */
  private notify(notices: Notice[]): void {
    for (const { to, text } of notices) {
      this.send({ from: HUB_ADDRESS, to, kind: 'status', body: text, ttl: 'long' }).catch((error) =>
        console.error('Switchboard: could not send a notice', error),
      );
    }
  }

  /** The routing rules, in the order they are evaluated. */
  listRules(): StoredRule[] {
    return [...this.rules];
  }

  /** Adds a rule at the end, or replaces the rule with the same id in its place. */
  async putRule(input: unknown): Promise<StoredRule> {
    const rule = parseOrThrow(Rule, input, 'rule');
    const existing = this.rules.find((r) => r.id === rule.id);
    const position = existing?.position ?? Math.max(0, ...this.rules.map((r) => r.position + 1));
    const stored: StoredRule = { ...rule, position };
    await this.saveRules([...this.rules.filter((r) => r.id !== rule.id), stored]);
    return stored;
  }

  async deleteRule(id: string): Promise<void> {
    if (!this.rules.some((r) => r.id === id)) throw new Error(`no rule ${id}`);
    await this.saveRules(this.rules.filter((r) => r.id !== id));
  }

  /** Puts the rules in this order; `ids` must name every rule once. */
  async reorderRules(ids: string[]): Promise<StoredRule[]> {
    const byId = new Map(this.rules.map((r) => [r.id, r]));
    if (ids.length !== byId.size || new Set(ids).size !== ids.length || !ids.every((id) => byId.has(id))) {
      throw new Error(`reorder needs every rule id once: ${[...byId.keys()].join(', ') || 'there are no rules'}`);
    }
    await this.saveRules(ids.map((id, position) => ({ ...byId.get(id)!, position })));
    return this.listRules();
  }

  private async saveRules(rules: StoredRule[]): Promise<void> {
    const ordered = [...rules].sort((a, b) => a.position - b.position);
    await this.store.saveRules(ordered);
    this.rules = ordered;
  }

  /**
   * Moves every message whose retention has passed into the archive, and purges archived messages
   * older than the archive retention. Runs on every start and on an hourly alarm; one at a time.
   */
  sweep(): Promise<SweepResult> {
    this.sweeping ??= (async () => {
      try {
        const now = this.clock.now();
        let archived = 0;
        for (let moved = SWEEP_BATCH; moved === SWEEP_BATCH; archived += moved) moved = await this.store.archiveDue(now, SWEEP_BATCH);
        let purged = 0;
        for (let gone = SWEEP_BATCH; gone === SWEEP_BATCH; purged += gone) gone = await this.store.purgeArchive(now - this.archiveRetentionMs, SWEEP_BATCH);
        return { archived, purged };
      } finally {
        this.sweeping = undefined;
      }
    })();
    return this.sweeping;
  }

  /** Archived messages as JSON-ready objects, oldest first. */
  exportArchive(since = 0, limit = 1_000) {
    return this.store.exportArchive(since, limit);
  }

  retention(): RetentionSettings {
    const { short, medium, long } = this.ttlMs;
    return { ttlMs: { short, medium, long }, archiveRetentionMs: this.archiveRetentionMs };
  }

  /** Changes how long each TTL policy lasts (for messages sent from now on) and how long the archive keeps. */
  async configureRetention(input: unknown): Promise<RetentionSettings> {
    const change = parseOrThrow(RetentionChange, input, 'retention settings');
    const next: RetentionSettings = {
      ttlMs: { ...this.retention().ttlMs, ...change.ttlMs },
      archiveRetentionMs: change.archiveRetentionMs ?? this.archiveRetentionMs,
    };
    await this.store.saveSetting(RETENTION_SETTING, next);
    this.applyRetention(next);
    return this.retention();
  }

  private applyRetention(settings: RetentionSettings): void {
    this.ttlMs = { ...this.ttlMs, ...settings.ttlMs };
    this.archiveRetentionMs = settings.archiveRetentionMs;
  }

  /** Messages holding every word of `query`, newest first (see DexieBusStore.search). */
  search(query: string, limit = 50): Promise<StoredEntry[]> {
    return this.store.search(query, limit);
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
      await this.book.flushed();
      if (this.waking.size) await Promise.all(this.waking);
      else if (this.pumping) await this.pumping;
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
        const notices: Notice[] = [];
        const result = await this.store.claimDue(now, limit, (d) => this.onDue(d, now, notices));
        nextDueAt = result.nextDueAt;
        claimedAny = true;
        this.metrics.claimCommits++;
        this.metrics.deliveriesClaimed += result.claimed.length;
        for (const delivery of result.claimed) if (delivery.state === 'sent') void this.attempt(delivery);
        this.changed([...result.claimed, ...result.added]);
        this.notify(notices);
        if (result.added.length) this.pumpAgain = true; // re-routed work is due now
        // A short batch means nothing else is due now; what becomes due later arrives with a kick or a timer.
        this.backlog = result.claimed.length >= limit;
        if (this.backlog) continue;
        break;
      }
    } while (this.pumpAgain);
    // Without a claim, the next due time is unknown and the armed timers still stand.
    if (claimedAny) this.armTimer(nextDueAt);
  }

  /** What a due delivery turns into (with, for a re-route, the new delivery to the fallback). */
  private onDue(delivery: Delivery, now: number, notices: Notice[]): Delivery | Delivery[] {
    if (isExpired(delivery, now)) return expire(delivery, now);
    switch (delivery.state) {
      case 'queued':
        return this.admit(delivery, now, notices);
      case 'sent':
        // A pending delivery's check: ask the agent's side again, without using up an attempt.
        if (delivery.pending) return attemptFailed(delivery, now, 'no word yet from the agent\'s side; asking again', { ...this.retry, maxAttempts: Number.POSITIVE_INFINITY, maxDelayMs: 0 }, this.random());
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
        expected: delivery,
        // An outcome counts only for the attempt it belongs to: a timed-out attempt that answers
        // late must not overwrite the retry that replaced it.
        apply: (current) =>
          current.state === 'sent' && current.attempts === attempts ? this.applyOutcome(current, outcome) : undefined,
      });
      if (written && !(written instanceof Error)) this.armEarlier(written.dueAt);
      // A pending outcome is a success for the breaker: the agent's side took the message.
      const succeeded = outcome.status === 'delivered' || outcome.status === 'pending';
      const { wake, notices } = this.book.outcome(recipient, succeeded, this.clock.now(), 'reason' in outcome ? outcome.reason : '');
      this.notify(notices);
      if (wake) await this.wake(recipient);
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
      case 'pending':
        return attemptPending(delivery, now, outcome.note, this.retry);
      case 'retry': {
        // While its destination is probed back to health, a message waits without using up attempts.
        const policy = this.book.countsAgainstAttempts(delivery.recipient) ? this.retry : { ...this.retry, maxAttempts: Number.POSITIVE_INFINITY };
        return attemptFailed(delivery, now, outcome.reason, policy, this.random());
      }
      case 'failed':
        return attemptFailed(delivery, now, outcome.reason, this.retry, this.random(), true);
    }
  }

  /** Applies a batch of read-modify-write changes in one transaction; an error belongs to its own change only. */
  private async commitChanges(changes: Change[]): Promise<(Delivery | Error | undefined)[]> {
    const replaced = await this.replaceExpected(changes);
    if (replaced) {
      this.metrics.changeCommits++;
      this.metrics.changesCommitted += changes.length;
      this.changed(replaced);
      return replaced;
    }
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
    this.changed(written.filter((d): d is Delivery => d !== undefined));
    return written.map((d, i) => errors.get(i) ?? d);
  }

  /**
   * When every change of a small batch is made from the delivery as this bus last wrote it
   * (attempts' outcomes, nearly always), writes the results without reading first; undefined, with nothing written,
   * when a delivery has changed since (a late outcome of a timed-out attempt) or a change cannot
   * be applied to what it expected: then the changes go the careful way.
   */
  private async replaceExpected(changes: Change[]): Promise<Delivery[] | undefined> {
    // A burst's batches are large: for those, one range read before the writes (DexieBusStore.update)
    // costs IndexedDB less than a read beside each write, and its round trip is shared by many.
    if (changes.length > MAX_UNREAD_CHANGES) return undefined;
    if (!changes.every((c) => c.expected) || new Set(changes.map((c) => c.key.join('\u0000'))).size < changes.length) return undefined;
    const replacements: { before: Delivery; after: Delivery }[] = [];
    for (const { expected, apply } of changes) {
      let after: Delivery | undefined;
      try {
        after = apply(expected!);
      } catch {
        return undefined;
      }
      if (!after) return undefined;
      replacements.push({ before: expected!, after });
    }
    if (await this.store.replaceIfUnchanged(replacements)) return replacements.map((r) => r.after);
    this.metrics.changeRereads++;
    return undefined;
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
      ...(retentionOf(message.ttl, this.ttlMs) !== undefined ? { retainFor: retentionOf(message.ttl, this.ttlMs) } : {}),
    };
  }

  private async expand(from: string, to: string[]): Promise<string[]> {
    const recipients = new Set<string>();
    for (const address of to) {
      const parsed = parseAddress(address);
      if (parsed?.type === 'agent') recipients.add(address);
      else for (const agent of (await this.options.directory?.expand(address)) ?? []) if (agent !== from) recipients.add(agent);
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

  /**
   * Tells listeners how an agent's work on a message goes (a claude.ai answer being written), so
   * the sender can watch it; nothing is stored.
   */
  progress(change: Omit<DeliveryChange, 'at' | 'progress'>): void {
    this.tell([{ ...change, at: this.clock.now(), progress: true }]);
  }

  /**
   * Every committed change passes here: the destination book follows retries (what they free may
   * go now), then subscribers hear of it.
   */
  private changed(deliveries: Delivery[]): void {
    if (!deliveries.length) return;
    for (const address of this.book.track(deliveries)) {
      const waking = this.wake(address).catch((error) => console.error('Switchboard: could not wake', address, error));
      this.waking.add(waking);
      void waking.finally(() => this.waking.delete(waking));
    }
    if (!this.listeners.size) return;
    this.tell(
      deliveries.map((d) => {
        const last = d.history[d.history.length - 1];
        return { messageId: d.messageId, recipient: d.recipient, state: d.state, attempts: d.attempts, at: last.at, ...(last.note ? { note: last.note } : {}) };
      }),
    );
  }

  private tell(changes: DeliveryChange[]): void {
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
