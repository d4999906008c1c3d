/**
 * The settings editors' state: TTL policies and archive retention (the hub's RetentionChange,
 * src/bus/bus.ts), and the host's alert thresholds and webhooks (config.json claudeCode.alerts and
 * webhooks, checked here by the host's rules so a person sees a mistake before the host does).
 * Forms hold text; these turn it into settings or errors by field. Pure.
 */
import type { RetentionSettings } from '../../bus/bus';
import { TopicName } from '../../protocol/address';
import type { AlertThresholds, WebhookConfig } from './dashboard-hub';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const TEN_YEARS = 3_650 * DAY;

// ---------------------------------------------------------------------------------------------
// Retention

/** Short and medium in hours, long and the archive in days: the units people set them in. */
export interface RetentionForm {
  short: string;
  medium: string;
  long: string;
  archive: string;
}

export type RetentionField = keyof RetentionForm | 'form';

const UNITS: Record<keyof RetentionForm, { ms: number; name: string }> = {
  short: { ms: HOUR, name: 'hours' },
  medium: { ms: HOUR, name: 'hours' },
  long: { ms: DAY, name: 'days' },
  archive: { ms: DAY, name: 'days' },
};

const inUnit = (ms: number, unit: number) => String(Math.round((ms / unit) * 1_000) / 1_000);

export function retentionToForm(settings: RetentionSettings): RetentionForm {
  return {
    short: inUnit(settings.ttlMs.short, UNITS.short.ms),
    medium: inUnit(settings.ttlMs.medium, UNITS.medium.ms),
    long: inUnit(settings.ttlMs.long, UNITS.long.ms),
    archive: inUnit(settings.archiveRetentionMs, UNITS.archive.ms),
  };
}

export type RetentionChangeInput = { ttlMs: { short: number; medium: number; long: number }; archiveRetentionMs: number };

export function formToRetention(form: RetentionForm): { change?: RetentionChangeInput; errors: Partial<Record<RetentionField, string>> } {
  const errors: Partial<Record<RetentionField, string>> = {};
  const values = {} as Record<keyof RetentionForm, number>;
  for (const key of Object.keys(UNITS) as (keyof RetentionForm)[]) {
    const text = form[key].trim();
    const value = Number(text);
    const ms = Math.round(value * UNITS[key].ms);
    if (!text || !Number.isFinite(value)) errors[key] = `expected a number of ${UNITS[key].name}`;
    else if (ms < MINUTE) errors[key] = 'at least a minute';
    else if (ms > TEN_YEARS) errors[key] = 'at most ten years';
    else values[key] = ms;
  }
  if (!errors.short && !errors.medium && values.short > values.medium) errors.medium = 'should be at least as long as short';
  if (!errors.medium && !errors.long && values.medium > values.long) errors.long = 'should be at least as long as medium';
  if (Object.keys(errors).length) return { errors };
  return { change: { ttlMs: { short: values.short, medium: values.medium, long: values.long }, archiveRetentionMs: values.archive }, errors };
}

/** The hub's "invalid retention settings: ttlMs.short: at least a minute" by field. */
export function hubRetentionErrors(message: string): Partial<Record<RetentionField, string>> {
  const prefix = /^invalid retention settings: /;
  if (!prefix.test(message)) return { form: message };
  const errors: Partial<Record<RetentionField, string>> = {};
  for (const part of message.replace(prefix, '').split('; ')) {
    const [, path = '', text = part] = /^([\w.]+): (.*)$/s.exec(part) ?? [];
    const key = path.replace(/^ttlMs\./, '').replace(/^archiveRetentionMs$/, 'archive');
    const field: RetentionField = key in UNITS ? (key as keyof RetentionForm) : 'form';
    errors[field] = errors[field] ? `${errors[field]}; ${text}` : text;
  }
  return errors;
}

// ---------------------------------------------------------------------------------------------
// Alert thresholds

export type ThresholdsForm = Record<keyof AlertThresholds, string>;

export const THRESHOLD_FIELDS: { key: keyof AlertThresholds; label: string; unit: string; max?: number }[] = [
  { key: 'tokenPercent', label: 'Tokens, share of the estimated limit', unit: '%', max: 1000 },
  { key: 'sessionHours', label: 'Time since the block began', unit: 'hours', max: 5 },
  { key: 'costPerBlockUsd', label: 'Cost per 5-hour block', unit: 'USD' },
  { key: 'rateLimitPercent', label: "Claude Code's rate-limit use", unit: '%', max: 1000 },
];

export function thresholdsToForm(thresholds: AlertThresholds): ThresholdsForm {
  const form = {} as ThresholdsForm;
  for (const { key } of THRESHOLD_FIELDS) form[key] = thresholds[key] === null || thresholds[key] === undefined ? '' : String(thresholds[key]);
  return form;
}

/** Blank turns a threshold off (null), as in config.json. */
export function formToThresholds(form: ThresholdsForm): { thresholds?: AlertThresholds; errors: Partial<Record<keyof AlertThresholds, string>> } {
  const errors: Partial<Record<keyof AlertThresholds, string>> = {};
  const thresholds = {} as AlertThresholds;
  for (const { key, unit, max } of THRESHOLD_FIELDS) {
    const text = (form[key] ?? '').trim();
    if (!text) {
      thresholds[key] = null;
      continue;
    }
    const value = Number(text);
    if (!Number.isFinite(value) || value <= 0) errors[key] = `expected ${unit} above 0, or blank to turn it off`;
    else if (max !== undefined && value > max) errors[key] = `expected at most ${max} ${unit}, or blank to turn it off`;
    else thresholds[key] = value;
  }
  if (Object.keys(errors).length) return { errors };
  return { thresholds, errors };
}

// ---------------------------------------------------------------------------------------------
// Webhooks

export const WEBHOOK_FORMATS = ['slack', 'discord', 'json'] as const;
export const WEBHOOK_EVENTS = ['message-in', 'message-out', 'ack', 'hook', 'hub', 'delivery-failed', 'alert'] as const;

export interface WebhookForm {
  url: string;
  format: (typeof WEBHOOK_FORMATS)[number];
  events: string[];
  topic: string;
  secret: string;
}

export type WebhookField = keyof WebhookForm;

export const emptyWebhookForm = (): WebhookForm => ({ url: '', format: 'json', events: ['alert'], topic: '', secret: '' });

export function webhookToForm(hook: WebhookConfig): WebhookForm {
  return {
    url: hook.url,
    format: hook.format,
    events: [...hook.events],
    topic: hook.topic ?? '',
    secret: hook.secret ?? '',
  };
}

export function formToWebhook(form: WebhookForm): { webhook?: WebhookConfig; errors: Partial<Record<WebhookField, string>> } {
  const errors: Partial<Record<WebhookField, string>> = {};
  const url = form.url.trim();
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) errors.url = 'expected an http:// or https:// URL';
  if (!(WEBHOOK_FORMATS as readonly string[]).includes(form.format)) errors.format = `expected one of ${WEBHOOK_FORMATS.join(', ')}`;
  const events = form.events.filter((e) => (WEBHOOK_EVENTS as readonly string[]).includes(e));
  if (!events.length) errors.events = 'name at least one event type';
  else if (events.length !== form.events.length) errors.events = `expected only ${WEBHOOK_EVENTS.join(', ')}`;
  const topic = form.topic.trim().replace(/^topic:/, '');
  if (topic && !TopicName.safeParse(topic).success) errors.topic = 'expected a topic name (lower-case letters, digits, . _ / -)';
  if (Object.keys(errors).length) return { errors };
  const webhook: WebhookConfig = { url, format: form.format, events: events as WebhookConfig['events'] };
  if (topic) webhook.topic = topic;
  if (form.secret) webhook.secret = form.secret;
  return { webhook, errors };
}

// ---------------------------------------------------------------------------------------------
// The host's answers

/** One thing the host found wrong: where (`thresholds.tokenPercent`, `webhooks[0].url`) and what. */
export interface HostIssue {
  path: string;
  problem: string;
  /** as the host said it, for a form-wide error */
  text: string;
}

const ISSUE_PATH = /^([A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*|\[\d+\])*): ([\s\S]*)$/;
const SETTINGS_PREFIX = /^invalid settings: /;
/** native-host/config.ts ConfigError: one line an issue, `<file>: <path>: <problem>` */
const CONFIG_LINE = /^(.*config\.json): ([\s\S]*)$/;

/**
 * The host's refusal by field: native-host/settings.ts throws `invalid settings: <path>: <problem>;
 * …` for a bad change, and ConfigError lines (`…/config.json: <path>: <problem>`) when the file as it
 * would be is not a valid config. Undefined for anything else (the host is not connected, did not
 * answer, …): that is not about a field.
 */
export function hostSettingsIssues(message: string): HostIssue[] | undefined {
  if (SETTINGS_PREFIX.test(message)) {
    // Split only where the next part starts with a field path, so a problem's own "; " stays in it.
    return message
      .replace(SETTINGS_PREFIX, '')
      .split(/; (?=[A-Za-z_$][\w$.[\]]*: )/)
      .map((part) => {
        const [, path = '', problem = part] = ISSUE_PATH.exec(part) ?? [];
        return { path, problem, text: part };
      });
  }
  const lines = message.split('\n');
  if (!lines.every((line) => CONFIG_LINE.test(line))) return undefined;
  return lines.map((line) => {
    const rest = CONFIG_LINE.exec(line)![2];
    const [, path = '', problem = rest] = ISSUE_PATH.exec(rest) ?? [];
    return { path, problem, text: line };
  });
}

const join = (a: string | undefined, b: string) => (a ? `${a}; ${b}` : b);

/** A refused thresholds change, by field: anything about another part of the settings is the form's. */
export function thresholdErrors(message: string): Partial<Record<keyof AlertThresholds | 'form', string>> {
  const issues = hostSettingsIssues(message);
  if (!issues) return { form: message };
  const errors: Partial<Record<keyof AlertThresholds | 'form', string>> = {};
  for (const issue of issues) {
    const key = /^(?:thresholds|claudeCode\.alerts)\.(\w+)$/.exec(issue.path)?.[1];
    const field = THRESHOLD_FIELDS.find((f) => f.key === key)?.key;
    if (field) errors[field] = join(errors[field], issue.problem);
    else errors.form = join(errors.form, issue.text);
  }
  return errors;
}

const WEBHOOK_FIELDS: readonly WebhookField[] = ['url', 'format', 'events', 'topic', 'secret'];

/**
 * A refused webhooks change, for the editor of webhook `index` (the list is sent whole): its own
 * fields by name (`webhooks[2].events[0]` is its events), anything else the form's.
 */
export function webhookErrors(message: string, index: number): Partial<Record<WebhookField | 'form', string>> {
  const issues = hostSettingsIssues(message);
  if (!issues) return { form: message };
  const errors: Partial<Record<WebhookField | 'form', string>> = {};
  for (const issue of issues) {
    const match = /^webhooks\[(\d+)\]\.(\w+)/.exec(issue.path);
    const field = match && Number(match[1]) === index ? WEBHOOK_FIELDS.find((f) => f === match[2]) : undefined;
    if (field) errors[field] = join(errors[field], issue.problem);
    else errors.form = join(errors.form, issue.text);
  }
  return errors;
}

/**
 * Why the host settings cannot be edited, when reading them failed. "Needs the native host" only
 * when that is what the hub said (src/hub/native-link.ts: not connected); the host's own reasons
 * (it did not answer, config.json cannot be read) are said as they are.
 */
export function settingsUnavailable(error: string): string {
  if (/expected a request with type/.test(error)) return 'Thresholds and webhooks are kept by the native host; this version of the hub cannot reach them yet.';
  if (/^needs the native host\b/.test(error)) return `Thresholds and webhooks are kept by the native host: this ${error}.`;
  return `The native host could not give its thresholds and webhooks: ${error}`;
}
