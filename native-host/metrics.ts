/**
 * The host daemon's Prometheus metrics (issue 4: "messages in/out by kind, delivery latency
 * histogram, queue depth, journal size, hook events by type"), served by the local API at
 * `GET /metrics`.
 *
 * Each HostMetrics owns its own prom-client Registry, never the global one, so two daemons in one
 * test process (or a test and the daemon) never mix their numbers.
 *
 * Who records what:
 * - `attach(core)` derives messages in/out from the core's events and reads the gauges from
 *   `core.status()` at each scrape: one source of truth, whatever part of the host a message came
 *   through. The local API attaches it to its core; attaching the same core again counts nothing twice.
 * - the core calls `hookEvent(type)` for each Claude Code hook event and
 *   `observeDelivery('api_to_hub', seconds)` when the hub commits a message the API accepted;
 * - the API calls `observeDelivery('api_to_journal', …)` when a send is journaled and
 *   `observeDelivery('hub_to_client', …)` when it pushes a message to a WebSocket client;
 * - webhooks report `webhookFailure()` through their `onFailure` option.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { HostCore, HostStatus } from './ports';

export const METRICS_PREFIX = 'switchboard_';

/** The hops delivery latency is measured over; the histogram's `hop` label. */
export type DeliveryHop = 'api_to_journal' | 'api_to_hub' | 'hub_to_client';

/** Seconds: local hops take well under a millisecond to a few seconds when the hub is waking. */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export interface HostMetricsOptions {
  /** also export Node's process metrics (memory, CPU, event loop lag) under the same prefix; default true */
  processMetrics?: boolean;
}

export class HostMetrics {
  /** this daemon's registry; `render()` reads it */
  readonly registry = new Registry();

  private readonly messagesIn: Counter<'kind'>;
  private readonly messagesOut: Counter<'kind'>;
  private readonly hookEvents: Counter<'type'>;
  private readonly webhookFailures: Counter;
  private readonly deliveryLatency: Histogram<'hop'>;
  private readonly statusSources = new Set<() => HostStatus>();
  private readonly attachedCores = new Map<HostCore, { holders: number; detach: () => void }>();
  private wsClientCount = 0;

  constructor(options: HostMetricsOptions = {}) {
    const registers = [this.registry];
    this.messagesIn = new Counter({
      name: `${METRICS_PREFIX}messages_in_total`,
      help: 'Messages the host accepted from outside (API, Claude Code, desktop), by Switchboard kind',
      labelNames: ['kind'],
      registers,
    });
    this.messagesOut = new Counter({
      name: `${METRICS_PREFIX}messages_out_total`,
      help: 'Messages the host handed to one of its agents, by Switchboard kind',
      labelNames: ['kind'],
      registers,
    });
    this.hookEvents = new Counter({
      name: `${METRICS_PREFIX}hook_events_total`,
      help: 'Claude Code hook events received, by hook event name',
      labelNames: ['type'],
      registers,
    });
    this.webhookFailures = new Counter({
      name: `${METRICS_PREFIX}webhook_failures_total`,
      help: 'Webhook notifications given up on after their last attempt',
      registers,
    });
    this.deliveryLatency = new Histogram({
      name: `${METRICS_PREFIX}delivery_latency_seconds`,
      help: 'Time a message took over one hop: api_to_journal, api_to_hub (committed), hub_to_client',
      labelNames: ['hop'],
      buckets: LATENCY_BUCKETS,
      registers,
    });

    // Gauges are read at scrape time, so they are never stale and cost nothing between scrapes.
    const metrics = this;
    const fromStatus = (name: string, help: string, read: (status: HostStatus) => number) =>
      new Gauge({
        name: `${METRICS_PREFIX}${name}`,
        help,
        registers,
        collect() {
          const status = metrics.latestStatus();
          if (status) this.set(read(status));
        },
      });
    fromStatus('queue_depth', 'Journal records waiting for the hub to commit them', (status) => status.journal.records);
    fromStatus('journal_bytes', 'Size of the inbound journal on disk, in bytes', (status) => status.journal.bytes);
    fromStatus('inbox_messages', "Messages held in the host's inboxes for its agents", (status) => status.inbox.messages);
    new Gauge({
      name: `${METRICS_PREFIX}ws_clients`,
      help: 'WebSocket clients connected to the local API',
      registers,
      collect() {
        this.set(metrics.wsClientCount);
      },
    });

    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: METRICS_PREFIX });
  }

  /** Counts a message accepted from outside. `attach(core)` calls it for each `message-in` event. */
  messageIn(kind: string): void {
    this.messagesIn.inc({ kind });
  }

  /** Counts a message handed to an agent. `attach(core)` calls it for each `message-out` event. */
  messageOut(kind: string): void {
    this.messagesOut.inc({ kind });
  }

  /** Counts one Claude Code hook event (its `hook_event_name`, e.g. `PostToolUse`). Called by the core. */
  hookEvent(type: string): void {
    this.hookEvents.inc({ type });
  }

  /** Counts a webhook notification given up on. Pass as (or call from) Webhooks' `onFailure`. */
  webhookFailure(): void {
    this.webhookFailures.inc();
  }

  /** Records how long a message took over one hop, in seconds. */
  observeDelivery(hop: DeliveryHop, seconds: number): void {
    if (Number.isFinite(seconds) && seconds >= 0) this.deliveryLatency.observe({ hop }, seconds);
  }

  /** The number of WebSocket clients connected now. The local API sets it as clients come and go. */
  setWsClients(count: number): void {
    this.wsClientCount = count;
  }

  /**
   * Counts the core's message events and reads queue depth, journal size and inbox size from its
   * status at each scrape, until the returned function is called. The local API and the daemon may
   * both attach the same core: it is counted once, and stays attached until every holder has
   * called its function.
   */
  attach(core: HostCore): () => void {
    let attached = this.attachedCores.get(core);
    if (!attached) {
      const status = () => core.status();
      this.statusSources.add(status);
      const stopEvents = core.onEvent((event) => {
        if (event.type === 'message-in') this.messageIn(event.kind);
        else if (event.type === 'message-out') this.messageOut(event.kind);
      });
      attached = {
        holders: 0,
        detach: () => {
          stopEvents();
          this.statusSources.delete(status);
          this.attachedCores.delete(core);
        },
      };
      this.attachedCores.set(core, attached);
    }
    attached.holders += 1;
    const holder = attached;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      holder.holders -= 1;
      if (holder.holders === 0) holder.detach();
    };
  }

  /** The Prometheus text exposition of every metric. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  /** The Content-Type to serve `render()` with. */
  get contentType(): string {
    return this.registry.contentType;
  }

  private latestStatus(): HostStatus | undefined {
    // One core per daemon; with none attached the status gauges are left unset.
    for (const read of this.statusSources) return read();
    return undefined;
  }
}
