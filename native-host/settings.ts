/**
 * The host's settings the dashboard edits (issue 7): the usage alerts' thresholds (config.json
 * `claudeCode.alerts`) and the webhooks. A change is checked whole — the file as it would be after it
 * must be a valid config — before anything is written; the file is then replaced in one rename,
 * everything else in it kept as it was.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { z } from 'zod';
import { parseOrThrow } from '../src/protocol/envelope';
import { ConfigError, parseConfig, paths, type HostConfig } from './config';
import { AlertThresholds } from './claude-code/usage/alerts';
import { WebhookConfig } from './webhooks';

export interface HostSettings {
  thresholds: z.output<typeof AlertThresholds>;
  webhooks: z.output<typeof WebhookConfig>[];
}

export const SettingsChange = z.strictObject({
  thresholds: AlertThresholds.optional(),
  webhooks: z.array(WebhookConfig, { error: 'expected a list of webhooks' }).max(50, { error: 'at most 50 webhooks' }).optional(),
});
export type SettingsChange = z.input<typeof SettingsChange>;

export function settingsOf(config: HostConfig): HostSettings {
  return { thresholds: config.claudeCode.alerts, webhooks: config.webhooks };
}

/**
 * Applies `change` to config.json in `home`. Throws ValidationError for a bad change, ConfigError
 * when the file as it is cannot be read as JSON (it is then left alone), and writes nothing then.
 */
export async function changeSettings(home: string, change: unknown): Promise<{ config: HostConfig; settings: HostSettings }> {
  const wanted = parseOrThrow(SettingsChange, change, 'settings');
  const file = paths(home).config;
  let text: string;
  try {
    text = (await readFile(file, 'utf8')).replace(/^\uFEFF/, '');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new ConfigError(file, [{ field: '', problem: `cannot read: ${(error as Error).message}` }]);
    text = '{}';
  }
  let data: Record<string, unknown>;
  try {
    const parsed = JSON.parse(text) as unknown;
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not a JSON object');
    data = parsed as Record<string, unknown>;
  } catch (error) {
    throw new ConfigError(file, [{ field: '', problem: `not valid JSON, so it is left as it is: ${(error as Error).message}` }]);
  }
  // The person's own words are kept where they wrote them: only the two settings change.
  const next: Record<string, unknown> = { ...data };
  if (wanted.thresholds !== undefined) next.claudeCode = { ...((data.claudeCode as object | undefined) ?? {}), alerts: wanted.thresholds };
  if (wanted.webhooks !== undefined) next.webhooks = wanted.webhooks;
  const nextText = `${JSON.stringify(next, null, 2)}\n`;
  const config = parseConfig(nextText, file); // the whole file, as it would be
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, nextText, { mode: 0o600 });
  await rename(temporary, file);
  return { config, settings: settingsOf(config) };
}

