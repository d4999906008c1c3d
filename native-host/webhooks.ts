/**
 * Outbound webhooks (issue 4): Slack, Discord or generic JSON notifications for chosen host
 * events — alerts, failed deliveries, messages to a topic — HMAC-SHA256 signed, retried with
 * backoff, and failures kept and visible (in memory, in a JSON-lines file, in /api/status).
 *
 * Signing: `X-Switchboard-Timestamp: <unix seconds>` and, when the hook has a secret,
 * `X-Switchboard-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>`. Binding the
 * timestamp lets a receiver refuse replays of an old request; each attempt is signed afresh.
 * `X-Switchboard-Delivery` stays the same across the attempts of one notification, so a receiver
 * that got an attempt whose answer was lost can drop the retry.
 *
 * Retries: on network errors, timeouts, 5xx and 429, with exponential backoff and jitter; a
 * Retry-After (seconds or a date) is honoured up to `retry.maxMs`. Other 4xx answers mean the
 * request itself is wrong: no retry.
 */
import { createHmac, randomUUID } from 'node:crypto';
import { appendFile } from 'node:fs/promises';
import { z } from 'zod';
import type { HostCore, HostEvent } from './ports';
import { parseOrThrow } from '../src/protocol/envelope';
import { TopicName } from '../src/protocol/address';

export const HOST_EVENT_TYPES = ['message-in', 'message-out', 'ack', 'hook', 'hub', 'delivery-failed', 'alert'] as const satisfies readonly HostEvent['type'][];
// Fails to compile when ports.ts gains an event type this list lacks.
const everyEventListed: [Exclude<HostEvent['type'], (typeof HOST_EVENT_TYPES)[number]>] extends [never] ? true : false = true;
void everyEventListed;

export const WEBHOOK_FORMATS = ['slack', 'discord', 'json'] as const;

/** One webhook, as written in the host's configuration file. */
export const WebhookConfig = z.strictObject({
  url: z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' }),
  /** slack: `{text}`; discord: `{content}`; json: the HostEvent itself */
  format: z.enum(WEBHOOK_FORMATS, { error: `expected one of ${WEBHOOK_FORMATS.join(', ')}` }),
  /** which host events to send */
  events: z
    .array(z.enum(HOST_EVENT_TYPES, { error: `expected one of ${HOST_EVENT_TYPES.join(', ')}` }))
    .min(1, { error: 'name at least one event type' }),
  /**
   * Only messages to this topic (`builds` or `topic:builds`): a `message-in` event passes only when
   * addressed to it, and `message-out`/`ack` events, which carry no topic, are not sent. Other
   * event types pass as `events` says.
   */
  topic: z
    .string()
    .transform((topic) => topic.replace(/^topic:/, ''))
    .pipe(TopicName)
    .optional(),
  /** signs each request (see above); without it requests carry no signature */
  secret: z.string().min(1, { error: 'is empty: leave it out for unsigned requests' }).optional(),
});
export type WebhookConfig = z.input<typeof WebhookConfig>;

export interface WebhookFailure {
  /** the hook's index in the configuration */
  hook: number;
  /** the hook's URL origin only: Slack and Discord URLs carry their secret in the path */
  target: string;
  event: HostEvent;
  attempts: number;
  /** the last answer or error */
  error: string;
  /** when it was given up on (ms since epoch) */
  at: number;
}

export interface WebhooksOptions {
  hooks: WebhookConfig[];
  /** default the global fetch */
  fetch?: typeof fetch;
  /** default Date.now */
  now?: () => number;
  /** default 5 attempts, 500 ms doubling to at most 30 s */
  retry?: { attempts: number; baseMs: number; maxMs: number };
  /** each request's time limit; default 10_000 ms */
  timeoutMs?: number;
  /** called once per notification given up on, e.g. HostMetrics.webhookFailure */
  onFailure?: (failure: WebhookFailure) => void;
  /** failures are appended here as JSON lines, when given */
  failuresFile?: string;
  /** failures kept in memory, newest last; default 100 */
  maxFailures?: number;
  /** default: no logging */
  log?: (line: string) => void;
}

const DEFAULT_RETRY = { attempts: 5, baseMs: 500, maxMs: 30_000 };
/** Notifications in flight (incl. waiting to retry) beyond which new ones fail at once, not pile up. */
const MAX_PENDING = 1_000;
const DISCORD_MAX_CHARS = 2_000;
const SLACK_MAX_CHARS = 3_000;

type Attempt = { ok: true } | { ok: false; retry: boolean; error: string; retryAfterMs?: number };

class Stopped extends Error {}

export class Webhooks {
  private hooks: z.output<typeof WebhookConfig>[];
  private readonly fetch: typeof fetch;
  private readonly now: () => number;
  private readonly retry: { attempts: number; baseMs: number; maxMs: number };
  private readonly kept: WebhookFailure[] = [];
  private readonly pending = new Set<Promise<void>>();
  private readonly stopping = new AbortController();
  private fileWrites: Promise<void> = Promise.resolve();

  constructor(private readonly options: WebhooksOptions) {
    this.hooks = parseOrThrow(z.array(WebhookConfig), options.hooks, 'webhooks');
    this.fetch = options.fetch ?? globalThis.fetch;
    this.now = options.now ?? Date.now;
    this.retry = options.retry ?? DEFAULT_RETRY;
  }

  /** Replaces the hooks (the dashboard changed them); notifications on their way finish as they were. */
  setHooks(hooks: unknown): void {
    this.hooks = parseOrThrow(z.array(WebhookConfig), hooks, 'webhooks');
  }

  /** Sends the core's events to the hooks that chose them, until the returned function is called. */
  attach(core: HostCore): () => void {
    return core.onEvent((event) => this.notify(event));
  }

  /** Sends one event to every hook that chose it; resolves when each has been delivered or given up on. */
  notify(event: HostEvent): Promise<void> {
    const deliveries = this.hooks.flatMap((hook, index) => (wants(hook, event) ? [this.track(index, hook, event)] : []));
    return Promise.all(deliveries).then(() => {});
  }

  /** Notifications given up on, oldest first (at most `maxFailures`). */
  failures(): WebhookFailure[] {
    return [...this.kept];
  }

  /** Resolves when no notification is in flight and every failure is written to `failuresFile`. */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
    await this.fileWrites;
  }

  /** Stops waiting retries (each is kept as a failure) and resolves when all is settled. */
  async close(): Promise<void> {
    this.stopping.abort();
    await this.idle();
  }

  private track(index: number, hook: z.output<typeof WebhookConfig>, event: HostEvent): Promise<void> {
    if (this.pending.size >= MAX_PENDING || this.stopping.signal.aborted) {
      this.fail(index, hook, event, 0, this.stopping.signal.aborted ? 'webhooks are stopped' : `more than ${MAX_PENDING} notifications pending`);
      return Promise.resolve();
    }
    const delivery = this.deliver(index, hook, event).finally(() => this.pending.delete(delivery));
    this.pending.add(delivery);
    return delivery;
  }

  private async deliver(index: number, hook: z.output<typeof WebhookConfig>, event: HostEvent): Promise<void> {
    const body = JSON.stringify(render(hook.format, event));
    const deliveryId = randomUUID();
    let last: Attempt = { ok: false, retry: false, error: 'not attempted' };
    let attempt = 0;
    try {
      while (attempt < this.retry.attempts) {
        if (attempt > 0) await this.sleep(this.delay(attempt, last));
        attempt += 1;
        last = await this.attempt(hook, event, body, deliveryId);
        if (last.ok || !last.retry) break;
      }
    } catch (error) {
      if (!(error instanceof Stopped)) throw error;
      last = { ok: false, retry: false, error: `stopped before delivery: ${last.ok ? '' : last.error}` };
    }
    if (!last.ok) this.fail(index, hook, event, attempt, last.error);
  }

  private async attempt(hook: z.output<typeof WebhookConfig>, event: HostEvent, body: string, deliveryId: string): Promise<Attempt> {
    const timestamp = String(Math.floor(this.now() / 1000));
    const headers: Record<string, string> = {
      'Content-Type': 'application/json',
      'User-Agent': 'switchboard-host',
      'X-Switchboard-Event': event.type,
      'X-Switchboard-Delivery': deliveryId,
      'X-Switchboard-Timestamp': timestamp,
    };
    if (hook.secret) headers['X-Switchboard-Signature'] = signature(hook.secret, timestamp, body);
    try {
      const signal = AbortSignal.any([AbortSignal.timeout(this.options.timeoutMs ?? 10_000), this.stopping.signal]);
      const response = await this.fetch(hook.url, { method: 'POST', headers, body, signal });
      // Read the answer to the end so the connection can be reused; its text helps explain a failure.
      const answer = (await response.text().catch(() => '')).slice(0, 200);
      if (response.ok) return { ok: true };
      const error = `HTTP ${response.status}${answer ? `: ${answer}` : ''}`;
      const retry = response.status === 429 || response.status >= 500;
      return { ok: false, retry, error, retryAfterMs: retryAfterMs(response.headers.get('retry-after'), this.now()) };
    } catch (error) {
      return { ok: false, retry: true, error: (error as Error).message };
    }
  }

  private delay(attempt: number, last: Attempt): number {
    if (!last.ok && last.retryAfterMs !== undefined) return Math.min(this.retry.maxMs, last.retryAfterMs);
    const backoff = Math.min(this.retry.maxMs, this.retry.baseMs * 2 ** (attempt - 1));
    // Half fixed, half random: hooks that failed together do not all come back at the same instant.
    return backoff / 2 + Math.random() * (backoff / 2);
  }

  private sleep(ms: number): Promise<void> {
    const signal = this.stopping.signal;
    if (signal.aborted) return Promise.reject(new Stopped());
    return new Promise((resolve, reject) => {
      // A retry waiting must not keep a stopping daemon alive; close() records it as a failure.
      const timer = setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      timer.unref();
      const onAbort = () => {
        clearTimeout(timer);
        reject(new Stopped());
      };
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  private fail(index: number, hook: z.output<typeof WebhookConfig>, event: HostEvent, attempts: number, error: string): void {
    const failure: WebhookFailure = { hook: index, target: new URL(hook.url).origin, event, attempts, error, at: this.now() };
    this.kept.push(failure);
    if (this.kept.length > (this.options.maxFailures ?? 100)) this.kept.shift();
    this.options.log?.(`webhooks: gave up on ${event.type} to hook ${index} (${failure.target}) after ${attempts} attempts: ${error}`);
    this.options.onFailure?.(failure);
    const file = this.options.failuresFile;
    if (file) {
      // One append at a time, so lines never interleave.
      this.fileWrites = this.fileWrites
        .then(() => appendFile(file, `${JSON.stringify(failure)}\n`, { mode: 0o600 }))
        .catch((writeError: Error) => this.options.log?.(`webhooks: could not write ${file}: ${writeError.message}`));
    }
  }
}

/** `sha256=<hex>` over `timestamp + "." + body`, for X-Switchboard-Signature. */
export function signature(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

function wants(hook: z.output<typeof WebhookConfig>, event: HostEvent): boolean {
  if (!hook.events.includes(event.type)) return false;
  if (hook.topic === undefined) return true;
  if (event.type === 'message-in') return event.to.includes(`topic:${hook.topic}`);
  return event.type !== 'message-out' && event.type !== 'ack';
}

function retryAfterMs(header: string | null, now: number): number | undefined {
  if (header === null) return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1000;
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function render(format: z.output<typeof WebhookConfig>['format'], event: HostEvent): unknown {
  if (format === 'json') return event;
  const text = `Switchboard: ${describe(event)}`;
  if (format === 'slack') return { text: escapeSlack(truncate(text, SLACK_MAX_CHARS)) };
  // Text from agents is untrusted: it must not ping @everyone in someone's Discord.
  return { content: truncate(text, DISCORD_MAX_CHARS), allowed_mentions: { parse: [] } };
}

function describe(event: HostEvent): string {
  switch (event.type) {
    case 'message-in':
      return `${event.kind} message ${event.messageId} from ${event.from} to ${event.to.join(', ')}`;
    case 'message-out':
      return `${event.kind} message ${event.messageId} handed to ${event.recipient}`;
    case 'ack':
      return `${event.recipient} acked message ${event.messageId}`;
    case 'hook':
      return `Claude Code session ${event.sessionId}: ${event.event}`;
    case 'hub':
      return event.connected ? 'the hub connected' : 'the hub disconnected';
    case 'delivery-failed':
      return `delivery of message ${event.messageId} to ${event.recipient} failed: ${event.reason}`;
    case 'alert':
      return `${event.severity} alert: ${event.text}`;
  }
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** Slack reads `<…>` as links and mentions (`<!channel>`): escape them so text stays text. */
function escapeSlack(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
