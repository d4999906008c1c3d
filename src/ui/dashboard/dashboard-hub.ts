/**
 * What the dashboard asks the hub, typed in one place. Everything goes over the hub client's port;
 * the requests the client has no typed method for — 'sessions', 'events', 'usage', 'clear-data',
 * 'settings' and 'settings-put' — through its `request`. The settings are the native host's
 * (src/hub/native-link.ts `settings()`): without the host they fail with "needs the native host,
 * which is not connected"; a change the host refuses fails with its validation message
 * ("invalid settings: webhooks[0].url: …").
 */
import { hub, request } from '../../client/hub-client';
import type { HubRequest } from '../../protocol/runtime';
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

const ask = <T>(message: Record<string, unknown>) => request<T>(message as HubRequest);

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
