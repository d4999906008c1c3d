import { describe, expect, it } from 'vitest';
import {
  emptyWebhookForm,
  formToRetention,
  formToThresholds,
  formToWebhook,
  hubRetentionErrors,
  retentionToForm,
  settingsUnavailable,
  thresholdsToForm,
  webhookToForm,
} from '../../../src/ui/dashboard/derive-settings';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

describe('retention', () => {
  const settings = { ttlMs: { short: HOUR, medium: 24 * HOUR, long: 7 * DAY }, archiveRetentionMs: 30 * DAY };
  it('shows hours and days, and turns them back into milliseconds', () => {
    expect(retentionToForm(settings)).toEqual({ short: '1', medium: '24', long: '7', archive: '30' });
    expect(formToRetention(retentionToForm(settings))).toEqual({ change: settings, errors: {} });
    expect(formToRetention({ short: '0.5', medium: '2', long: '1.5', archive: '90' }).change).toEqual({
      ttlMs: { short: HOUR / 2, medium: 2 * HOUR, long: 1.5 * DAY },
      archiveRetentionMs: 90 * DAY,
    });
  });

  it('names what is wrong with each field', () => {
    expect(formToRetention({ short: '', medium: 'soon', long: '0.0001', archive: '4000' }).errors).toEqual({
      short: 'expected a number of hours',
      medium: 'expected a number of hours',
      long: 'at least a minute',
      archive: 'at most ten years',
    });
    expect(formToRetention({ short: '48', medium: '24', long: '1', archive: '1' }).errors).toEqual({ medium: 'should be at least as long as short' });
  });

  it('puts the hub’s errors next to their field', () => {
    expect(hubRetentionErrors('invalid retention settings: ttlMs.short: at least a minute; archiveRetentionMs: at most ten years')).toEqual({
      short: 'at least a minute',
      archive: 'at most ten years',
    });
    expect(hubRetentionErrors('the hub stopped')).toEqual({ form: 'the hub stopped' });
  });
});

describe('alert thresholds', () => {
  it('turns a blank field into off (null) and back', () => {
    const thresholds = { tokenPercent: 80, sessionHours: 4.5, costPerBlockUsd: null, rateLimitPercent: 90 };
    expect(thresholdsToForm(thresholds)).toEqual({ tokenPercent: '80', sessionHours: '4.5', costPerBlockUsd: '', rateLimitPercent: '90' });
    expect(formToThresholds(thresholdsToForm(thresholds))).toEqual({ thresholds, errors: {} });
  });

  it('refuses what the host would refuse, saying why', () => {
    expect(formToThresholds({ tokenPercent: '0', sessionHours: '6', costPerBlockUsd: 'lots', rateLimitPercent: '2000' }).errors).toEqual({
      tokenPercent: 'expected % above 0, or blank to turn it off',
      sessionHours: 'expected at most 5 hours, or blank to turn it off',
      costPerBlockUsd: 'expected USD above 0, or blank to turn it off',
      rateLimitPercent: 'expected at most 1000 %, or blank to turn it off',
    });
  });
});

describe('webhooks', () => {
  it('makes a webhook, the topic without its prefix, empty fields left out', () => {
    expect(formToWebhook({ url: ' https://hooks.example/x ', format: 'slack', events: ['alert', 'hub'], topic: 'topic:builds', secret: '' })).toEqual({
      webhook: { url: 'https://hooks.example/x', format: 'slack', events: ['alert', 'hub'], topic: 'builds' },
      errors: {},
    });
    const hook = { url: 'http://127.0.0.1:9/h', format: 'json' as const, events: ['alert' as const], secret: 's3' };
    expect(formToWebhook(webhookToForm(hook)).webhook).toEqual(hook);
  });

  it('names each field that is wrong', () => {
    expect(formToWebhook({ ...emptyWebhookForm(), url: 'ftp://x', events: [], topic: 'Bad Topic' }).errors).toEqual({
      url: 'expected an http:// or https:// URL',
      events: 'name at least one event type',
      topic: 'expected a topic name (lower-case letters, digits, . _ / -)',
    });
    expect(formToWebhook({ ...emptyWebhookForm(), url: 'not a url', events: ['alert', 'party'] }).errors).toEqual({
      url: 'expected an http:// or https:// URL',
      events: 'expected only message-in, message-out, ack, hook, hub, delivery-failed, alert',
    });
    expect(formToWebhook({ ...emptyWebhookForm(), url: 'https://x', format: 'teams' as never }).errors).toEqual({ format: 'expected one of slack, discord, json' });
  });

  it('says the host is needed when the settings cannot be had', () => {
    expect(settingsUnavailable('invalid request: type: expected a request with type send')).toMatch(/this version of the hub cannot reach them yet/);
    expect(settingsUnavailable('the native host is not connected')).toBe('This needs the native host: the native host is not connected');
    expect(settingsUnavailable('timeout')).toBe('This needs the native host, which could not answer: timeout');
  });
});
