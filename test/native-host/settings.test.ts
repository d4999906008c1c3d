import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { changeSettings, settingsOf } from '../../native-host/settings';
import { loadConfig } from '../../native-host/config';
import { ValidationError } from '../../src/protocol/envelope';

let home: string;
const file = () => join(home, 'config.json');

beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'sb-settings-'));
});
afterEach(() => rm(home, { recursive: true, force: true }));

describe("the dashboard's settings in config.json", () => {
  it('changes the thresholds and webhooks, keeping everything else in the file as it was', async () => {
    await writeFile(file(), JSON.stringify({ api: { port: 4123 }, claudeCode: { resumeExited: true, alerts: { costPerBlockUsd: 10 } } }));
    const { settings } = await changeSettings(home, {
      thresholds: { tokenPercent: 70, sessionHours: null },
      webhooks: [{ url: 'https://hooks.example.test/x', format: 'json', events: ['alert'] }],
    });
    expect(settings.thresholds).toMatchObject({ tokenPercent: 70, sessionHours: null });
    expect(settings.webhooks).toEqual([expect.objectContaining({ url: 'https://hooks.example.test/x', format: 'json', events: ['alert'] })]);
    const config = loadConfig(home);
    expect(config.api.port).toBe(4123);
    expect(config.claudeCode.resumeExited).toBe(true);
    expect(settingsOf(config)).toEqual(settings);

    // Only the webhooks: the thresholds stay.
    const again = await changeSettings(home, { webhooks: [] });
    expect(again.settings).toEqual({ thresholds: settings.thresholds, webhooks: [] });
  });

  it('creates config.json when there is none', async () => {
    await changeSettings(home, { thresholds: { tokenPercent: 90 } });
    expect(JSON.parse(await readFile(file(), 'utf8'))).toEqual({ claudeCode: { alerts: expect.objectContaining({ tokenPercent: 90 }) } });
  });

  it('refuses a bad change with what is wrong, and writes nothing', async () => {
    const before = JSON.stringify({ api: { port: 4123 } });
    await writeFile(file(), before);
    await expect(changeSettings(home, { thresholds: { tokenPercent: 0 } })).rejects.toThrow(ValidationError);
    await expect(changeSettings(home, { webhooks: [{ url: 'ftp://nope', format: 'json', events: ['alert'] }] })).rejects.toThrow(/expected an http:\/\/ or https:\/\/ URL/);
    await expect(changeSettings(home, { colour: 'blue' })).rejects.toThrow(/colour/);
    expect(await readFile(file(), 'utf8')).toBe(before);
  });

  it('leaves a config.json that is not valid JSON alone', async () => {
    await writeFile(file(), '{ "api": ');
    await expect(changeSettings(home, { webhooks: [] })).rejects.toThrow(/not valid JSON, so it is left as it is/);
    expect(await readFile(file(), 'utf8')).toBe('{ "api": ');
  });
});
