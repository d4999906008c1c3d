/**
 * The bus's book of destinations: breaker and hold per recipient address (src/bus/destinations.ts),
 * kept in memory — the bus is their only writer — and written through to the store in batches.
 * It decides what a due delivery does: go (an attempt), wait (parked until the destination may be
 * tried again, in its order), or go elsewhere (a graceful_degradation hold's fallback).
 */
import { GroupCommitter } from './group-commit';
import { startAttempt, type Delivery, type RetryPolicy } from './delivery';
import {
  DEFAULT_BREAKER_POLICY,
  failed,
  gate,
  hold,
  newDestination,
  release,
  succeeded,
  type BreakerPolicy,
  type DestinationRecord,
  type HoldRequest,
} from './destinations';

export interface DestinationStore {
  loadDestinations(): Promise<DestinationRecord[]>;
  saveDestinations(records: DestinationRecord[]): Promise<void>;
}

/** Someone to tell about a hold: the bus sends it as a `status` message. */
export interface Notice {
  to: string;
  text: string;
}

/** Re-checked this often while a hold has no end time, so nothing waits on a lost wake-up. */
export const PARK_MS = 60 * 60_000;

/** Whether `a` goes before `b` to the same destination: more urgent first, then older. */
function precedes(a: Pick<Delivery, 'priority' | 'messageId'>, b: Pick<Delivery, 'priority' | 'messageId'>): boolean {
  return a.priority < b.priority || (a.priority === b.priority && a.messageId < b.messageId);
}

export class DestinationBook {
  private readonly records = new Map<string, DestinationRecord>();
  /**
   * Per destination, the deliveries waiting for a retry. Nothing to that destination that comes
   * after one of them may go first: messages reach an agent in their order. Rebuilt from the store
   * on every start (`track`), so it survives the worker.
   */
  private readonly retrying = new Map<string, Map<string, Pick<Delivery, 'priority' | 'messageId' | 'dueAt'>>>();
  private readonly writes: GroupCommitter<DestinationRecord, undefined>;
  readonly policy: BreakerPolicy;

  constructor(
    private readonly store: DestinationStore,
    policy: Partial<BreakerPolicy> = {},
  ) {
    this.policy = { ...DEFAULT_BREAKER_POLICY, ...policy };
    this.writes = new GroupCommitter(async (records) => {
      const latest = new Map(records.map((r) => [r.address, r]));
      await this.store.saveDestinations([...latest.values()]);
      return records.map(() => undefined);
    });
  }

  async load(): Promise<void> {
    // A probe that was out when the last worker stopped is not out any more.
    for (const record of await this.store.loadDestinations()) this.records.set(record.address, { ...record, probing: false });
  }

  list(): DestinationRecord[] {
    return [...this.records.values()];
  }

  get(address: string): DestinationRecord {
    return this.records.get(address) ?? newDestination(address);
  }

  /** Resolves when every change so far is written. */
  flushed(): Promise<void> {
    return this.writes.flushed();
  }

  /**
   * What a delivery that is due (or new, on the fast path) does now: the delivery as it goes on,
   * plus, for a re-route, the new delivery to the fallback. `notices` are holds that just ended.
   */
  admit(delivery: Delivery, now: number, retry: RetryPolicy): { deliveries: Delivery[]; notices: Notice[] } {
    const ahead = this.waitingAhead(delivery);
    if (ahead) {
      // Woken when it finishes; at the latest, look again when it is next tried.
      const until = Math.max(now + 1, ahead.dueAt ?? now + PARK_MS);
      return { deliveries: [this.park(delivery, until, 'behind an earlier message to the same agent, which is being retried')], notices: [] };
    }
    const before = this.get(delivery.recipient);
    const decision = gate(before, now);
    const notices = this.noticesBetween(before, decision.record);
    this.put(decision.record, before);
    if (decision.open) return { deliveries: [startAttempt(delivery, now, retry)], notices };
    if ('reroute' in decision) {
      const rerouted: Delivery = {
        ...delivery,
        state: 'rerouted',
        dueAt: undefined,
        ...(delivery.retainFor !== undefined ? { retainUntil: now + delivery.retainFor } : {}),
        history: [...delivery.history, { state: 'rerouted', at: now, note: decision.reason }],
      };
      const fallback: Delivery = {
        ...delivery,
        recipient: decision.reroute,
        state: 'queued',
        attempts: 0,
        dueAt: now,
        lastError: undefined,
        history: [{ state: 'queued', at: now, note: `re-routed from ${delivery.recipient}: ${decision.reason}` }],
      };
      return { deliveries: [rerouted, fallback], notices };
    }
    return { deliveries: [this.park(delivery, decision.until ?? now + PARK_MS, decision.reason)], notices };
  }

  /** Waits until `until` — but not past the delivery's own deadline: it must expire on time. */
  park(delivery: Delivery, until: number, reason: string): Delivery {
    const dueAt = Math.min(until, delivery.expiresAt ?? Number.POSITIVE_INFINITY);
    const note = `waiting: ${reason}`;
    const last = delivery.history.at(-1);
    const history = last?.note === note ? delivery.history : [...delivery.history, { state: 'queued' as const, at: last?.at ?? dueAt, note }];
    return { ...delivery, dueAt, history };
  }

  /** The earliest message being retried that must reach this delivery's destination first, if any. */
  private waitingAhead(delivery: Delivery): Pick<Delivery, 'priority' | 'messageId' | 'dueAt'> | undefined {
    let first: Pick<Delivery, 'priority' | 'messageId' | 'dueAt'> | undefined;
    for (const other of this.retrying.get(delivery.recipient)?.values() ?? []) {
      if (other.messageId !== delivery.messageId && precedes(other, delivery) && (!first || precedes(other, first))) first = other;
    }
    return first;
  }

  /** Every message was deleted: no retry holds up any destination now. */
  forgetDeliveries(): void {
    this.retrying.clear();
  }

  /** Destinations with retries waiting: after a restart their queues are looked at afresh. */
  retryingDestinations(): string[] {
    return [...this.retrying.keys()];
  }

  /**
   * Follows deliveries as they change: one that went back to the queue after an attempt is being
   * retried; one that finished no longer holds up its destination. Returns the destinations whose
   * waiting deliveries may go now.
   */
  track(deliveries: Delivery[]): string[] {
    const freed = new Set<string>();
    for (const d of deliveries) {
      const waiting = this.retrying.get(d.recipient);
      const entry = { priority: d.priority, messageId: d.messageId, dueAt: d.dueAt };
      if (d.state === 'queued' && d.attempts > 0) {
        if (waiting) waiting.set(d.messageId, entry);
        else this.retrying.set(d.recipient, new Map([[d.messageId, entry]]));
      } else if (d.state === 'sent' && waiting?.has(d.messageId)) {
        waiting.set(d.messageId, entry); // its retry is out: due again at the end of its lease
      } else if (d.state !== 'queued' && d.state !== 'sent' && waiting?.delete(d.messageId)) {
        // It reached the agent, or gave up: what waited behind it may go.
        if (!waiting.size) this.retrying.delete(d.recipient);
        freed.add(d.recipient);
      }
    }
    return [...freed];
  }

  /** Records an attempt's result; says whether parked deliveries should be woken (the way is open again). */
  outcome(address: string, ok: boolean, now: number, error = ''): { wake: boolean; notices: Notice[] } {
    const before = this.get(address);
    const after = ok ? succeeded(before, now) : failed(before, now, error, this.policy);
    this.put(after, before);
    const reopened = (before.breaker !== 'closed' && after.breaker === 'closed') || (before.hold !== undefined && after.hold === undefined);
    return { wake: reopened, notices: this.noticesBetween(before, after) };
  }

  hold(request: HoldRequest, now: number): { record: DestinationRecord; notices: Notice[] } {
    const before = this.get(request.address);
    const after = hold(before, request, now, this.policy);
    this.put(after, before);
    return { record: after, notices: this.noticesBetween(before, after) };
  }

  release(address: string, now: number, why: string): { record: DestinationRecord; notices: Notice[] } {
    const before = this.get(address);
    const after = release(before, now, why);
    this.put(after, before);
    return { record: after, notices: this.noticesBetween(before, after) };
  }

  /** Whether a failed attempt to this address may count against its message's attempts. */
  countsAgainstAttempts(address: string): boolean {
    return this.get(address).hold?.strategy !== 'exponential_backoff';
  }

  private put(after: DestinationRecord, before: DestinationRecord): void {
    if (after === before) return;
    this.records.set(after.address, after);
    void this.writes.submit(after).catch((error) => console.error('Switchboard: could not save a destination', error));
  }

  private noticesBetween(before: DestinationRecord, after: DestinationRecord): Notice[] {
    const notify = after.hold?.notify ?? before.hold?.notify;
    if (!notify || before.hold === after.hold) return [];
    if (!before.hold && after.hold) {
      const until = after.hold.until ? ` until ${new Date(after.hold.until).toISOString()}` : '';
      const where = after.hold.fallback ? `; its messages go to ${after.hold.fallback}` : '';
      return [{ to: notify, text: `${after.address} is held (${after.hold.strategy}): ${after.hold.reason}${until}${where}.` }];
    }
    if (before.hold && !after.hold) return [{ to: notify, text: `${after.address} is no longer held: ${after.history.at(-1)?.note ?? 'released'}. Its messages resume.` }];
    return [];
  }
}
