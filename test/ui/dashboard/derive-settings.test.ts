import { describe, expect, it } from 'vitest';
import {
  emptyWebhookForm,
  formToRetention,
  formToThresholds,
  formToWebhook,
  hostSettingsIssues,
  hubRetentionErrors,
  retentionToForm,
  settingsUnavailable,
  thresholdErrors,
  thresholdsToForm,
  webhookErrors,
  webhookToForm,
} from '../../../src/ui/dashboard/derive-settings';
import { SettingsChange } from '../../../native-host/settings';
import { parseConfig } from '../../../native-host/config';
import { parseOrThrow } from '../../../src/protocol/envelope';

/** What the host says when it refuses `change` (native-host/settings.ts checks it this way first). */
function refusal(change: unknown): string {
  try {
    parseOrThrow(SettingsChange, change, 'settings');
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('the host would take this change');
}

/** What it says when config.json as it would be is not a valid config (native-host/config.ts ConfigError). */
function configRefusal(config: unknown, file = '/home/someone/.switchboard/config.json'): string {
  try {
    parseConfig(JSON.stringify(config), file);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('the host would take this config');
}

const HOOK = { url: 'http://127.0.0.1:9/hook', format: 'json', events: ['alert'] };

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

});

describe("the host's refusals, by field", () => {
  it('reads the paths the host names, a problem with its own colon kept whole', () => {
    const message = refusal({ thresholds: { tokenPercent: 0, costPerBlockUsd: -1 }, webhooks: [HOOK, { ...HOOK, url: 'ftp://x', events: ['party'] }] });
    expect(hostSettingsIssues(message)).toEqual([
      { path: 'thresholds.tokenPercent', problem: 'expected the share of the estimated limit: a percentage above 0, or null to turn it off', text: expect.stringMatching(/^thresholds\.tokenPercent: /) },
      { path: 'thresholds.costPerBlockUsd', problem: 'expected US dollars above 0, or null to turn it off', text: expect.any(String) },
      { path: 'webhooks[1].url', problem: 'expected an http:// or https:// URL', text: 'webhooks[1].url: expected an http:// or https:// URL' },
      { path: 'webhooks[1].events[0]', problem: expect.stringMatching(/^expected one of message-in, /), text: expect.any(String) },
    ]);
    expect(hostSettingsIssues('needs the native host, which is not connected')).toBeUndefined();
    expect(hostSettingsIssues('the native host did not answer in time')).toBeUndefined();
  });

  it('puts a refused threshold beside its field', () => {
    expect(thresholdErrors(refusal({ thresholds: { costPerBlockUsd: 0, sessionHours: 6 } }))).toEqual({
      sessionHours: 'expected hours from more than 0 to 5, or null to turn it off',
      costPerBlockUsd: 'expected US dollars above 0, or null to turn it off',
    });
    expect(thresholdErrors(refusal({ thresholds: { tokenPercent: 'lots' } }))).toEqual({ tokenPercent: expect.stringMatching(/^expected the share of the estimated limit/) });
    // An unknown threshold, or the whole list, is the form's.
    expect(thresholdErrors(refusal({ thresholds: { colour: 1 } }))).toEqual({ form: expect.stringMatching(/^thresholds: /) });
  });

  it("puts a refused webhook's problems beside its own fields, and another's on the form", () => {
    const message = refusal({ webhooks: [{ ...HOOK, url: 'ftp://x' }, { ...HOOK, format: 'teams', events: [] }] });
    expect(webhookErrors(message, 0)).toEqual({ url: 'expected an http:// or https:// URL', form: expect.stringMatching(/^webhooks\[1\]\.format: .*; webhooks\[1\]\.events: name at least one event type$/) });
    expect(webhookErrors(message, 1)).toEqual({
      format: 'expected one of slack, discord, json',
      events: 'name at least one event type',
      form: 'webhooks[0].url: expected an http:// or https:// URL',
    });
    expect(webhookErrors(refusal({ webhooks: [{ ...HOOK, events: ['alert', 'party'] }] }), 0)).toEqual({ events: expect.stringMatching(/^expected one of /) });
    expect(webhookErrors(refusal({ webhooks: [{ ...HOOK, secret: '' }] }), 0)).toEqual({ secret: 'is empty: leave it out for unsigned requests' });
    expect(webhookErrors(refusal({ webhooks: Array.from({ length: 51 }, () => HOOK) }), 50)).toEqual({ form: 'webhooks: at most 50 webhooks' });
  });

  it('reads a config.json the host would not write the same way, naming the file for what is not the form’s', () => {
    const file = '/home/someone/.switchboard/config.json';
    const message = configRefusal({ api: { port: 'eighty' }, claudeCode: { alerts: { rateLimitPercent: 0 } }, webhooks: [{ ...HOOK, url: 'ftp://x' }] }, file);
    expect(message.split('\n').length).toBeGreaterThanOrEqual(3);
    expect(thresholdErrors(message)).toEqual({
      rateLimitPercent: expect.stringMatching(/^expected the share of the rate limit/),
      form: expect.stringMatching(/^\/home\/someone\/\.switchboard\/config\.json: api\.port: .*; \/home\/someone\/\.switchboard\/config\.json: webhooks\[0\]\.url: /),
    });
    expect(webhookErrors(message, 0)).toMatchObject({ url: expect.stringMatching(/^expected an http:\/\/ or https:\/\/ URL/) });
    expect(thresholdErrors(`${file}: not valid JSON, so it is left as it is: Unexpected end of JSON input`)).toEqual({
      form: `${file}: not valid JSON, so it is left as it is: Unexpected end of JSON input`,
    });
  });

  it("keeps what is not about a field on the form, as the hub said it", () => {
    expect(thresholdErrors('needs the native host, which is not connected')).toEqual({ form: 'needs the native host, which is not connected' });
    expect(webhookErrors('the native host did not answer in time', 0)).toEqual({ form: 'the native host did not answer in time' });
  });

  it('says the native host is needed only when that is why the settings cannot be had', () => {
    expect(settingsUnavailable('invalid request: type: expected a request with type send')).toMatch(/this version of the hub cannot reach them yet/);
    expect(settingsUnavailable('needs the native host, which is not connected (Specified native messaging host not found.)')).toBe(
      'Thresholds and webhooks are kept by the native host: this needs the native host, which is not connected (Specified native messaging host not found.).',
    );
    expect(settingsUnavailable('the native host did not answer in time')).toBe('The native host could not give its thresholds and webhooks: the native host did not answer in time');
    expect(settingsUnavailable('this host keeps no settings')).not.toMatch(/needs the native host/);
  });
});
