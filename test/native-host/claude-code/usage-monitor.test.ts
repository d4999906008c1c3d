import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UsageMonitor } from '../../../native-host/claude-code/usage-monitor';
import { DEFAULT_THRESHOLDS, type UsageAlert } from '../../../native-host/claude-code/usage';

const FIXTURE = resolve(import.meta.dirname, 'fixtures/transcripts/tool-use-sonnet-4-5.jsonl');
// The fixture's responses were recorded at 03:24 on this day: the block is active just after.
const NOW = Date.parse('2026-11-21T03:30:00Z');

describe('the usage monitor in the daemon', () => {
  let home: string;
  let transcript: string;
  let alerts: UsageAlert[];
  const open = (thresholds = DEFAULT_THRESHOLDS) => UsageMonitor.open({ home, now: () => NOW, thresholds, onAlert: (a) => alerts.push(a), log: () => {} });

  beforeEach(async () => {
    home = await mkdtemp(join(tmpdir(), 'sb-usage-'));
    transcript = join(home, 'session.jsonl');
    await copyFile(FIXTURE, transcript);
    alerts = [];
  });
  afterEach(async () => {
    await rm(home, { recursive: true, force: true });
  });

  it('reads the transcripts the hooks report, and keeps the records across a restart without counting them twice', async () => {
    const monitor = await open();
    monitor.track(transcript);
    await monitor.refresh();
    const first = monitor.report();
    expect(first.records).toBeGreaterThan(0);
    expect(first.snapshot.active?.tokens.total).toBeGreaterThan(0);
    await monitor.refresh(); // nothing new
    expect(monitor.report().records).toBe(first.records);

    const again = await open();
    again.track(transcript);
    await again.refresh();
    expect(again.report().records).toBe(first.records);
    expect(again.report().snapshot.active?.tokens.total).toBe(first.snapshot.active?.tokens.total);
  });

  it('raises an alert once per block and keeps it raised across a restart', async () => {
    const monitor = await open({ ...DEFAULT_THRESHOLDS, costPerBlockUsd: 0.000_001 });
    monitor.track(transcript);
    await monitor.refresh();
    expect(alerts.map((a) => a.kind)).toContain('cost');
    const raised = alerts.length;
    await monitor.refresh();
    expect(alerts).toHaveLength(raised);
    const again = await open({ ...DEFAULT_THRESHOLDS, costPerBlockUsd: 0.000_001 });
    again.track(transcript);
    await again.refresh();
    expect(alerts).toHaveLength(raised);
    expect(JSON.parse(await readFile(join(home, 'usage', 'alerts.json'), 'utf8')).raised.length).toBe(raised);
  });

  it("lets Claude Code's own rate-limit numbers win over the estimate", async () => {
    const monitor = await open();
    monitor.statusLine({ rate_limits: { five_hour: { used_percentage: 42, resets_at: Math.floor(NOW / 1000) + 3600 } } });
    expect(monitor.report().limits.fiveHour).toMatchObject({ source: 'statusLine', usedPercentage: 42 });
    monitor.statusLine('not a status line'); // ignored, the last reading stands
    expect(monitor.report().limits.fiveHour).toMatchObject({ usedPercentage: 42 });
  });
});
