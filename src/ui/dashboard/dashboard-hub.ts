/**
 * What the dashboard asks the hub, typed in one place. The requests the hub client has go through
 * it (one long-lived port); those it has no method for — 'sessions', 'events', 'usage',
 * 'clear-data', 'settings' and 'settings-put' — go through runtime.sendMessage, which the hub
 * answers the same way. The settings are the native host's (src/hub/native-link.ts `settings()`):
 * without the host they fail with "needs the native host, which is not connected"; a change the
 * host refuses fails with its validation message ("invalid settings: webhooks[0].url: …").
 */
import { browser } from 'wxt/browser';
import { hub } from '../../client/hub-client';
import type { HubResponse } from '../../protocol/runtime';
import type { StoredHookEvent, SessionRecord } from '../../storage/events-db';
import type { UsageReport } from '../../../native-host/claude-code/usage-monitor';
import type { AlertThresholds } from '../../../native-host/claude-code/usage/alerts';
import type { WebhookConfig } from '../../../native-host/webhooks';

export type { UsageReport, AlertThresholds, WebhookConfig };

/** The host's settings the dashboard edits (config.json claudeCode.alerts and webhooks). */
export interface HostSettings {
  thresholds: AlertThresholds;
  webhooks: WebhookConfig[];
}

export interface EventsPage {
  /** at most this many (the hub's default when absent) */
  limit?: number;
  /** only events older than this one (its id: UUIDv7 ids are in the order the host took them) */
  before?: string;
}

async function ask<T>(request: Record<string, unknown>): Promise<T> {
  const response = (await browser.runtime.sendMessage(request)) as HubResponse<T> | undefined;
  if (!response) throw new Error('the Switchboard hub did not answer');
  if (!response.ok) throw new Error(response.error);
  return response.result;
}

export const dashboardHub = {
  ...hub,
  sessions: (limit?: number) => ask<SessionRecord[]>({ type: 'sessions', ...(limit ? { limit } : {}) }),
  /** recent hook events across every session, newest first */
  events: (page: EventsPage = {}) => ask<StoredHookEvent[]>({ type: 'events', ...page }),
  /** the native host's latest usage report and when it was made, or null when no host has sent one */
  usage: () => ask<{ at: number; report: UsageReport } | null>({ type: 'usage' }),
  clearData: () => ask<unknown>({ type: 'clear-data', confirm: 'delete everything' }),
  /** the host's settings in effect */
  settings: () => ask<HostSettings>({ type: 'settings' }),
  /** changes the parts given; answers the settings in effect after it */
  putSettings: (settings: Partial<HostSettings>) => ask<HostSettings>({ type: 'settings-put', ...settings }),
};

export type DashboardHub = typeof dashboardHub;
