import { appendFile, copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { UsageMonitor } from '../../../native-host/claude-code/usage-monitor';
import { DEFAULT_THRESHOLDS, type LimitHold, type UsageAlert } from '../../../native-host/claude-code/usage';
import { SESSION, assistantLine, rateLimitLine } from './fixtures/transcript-lines';

const FIXTURE = resolve(import.meta.dirname, 'fixtures/transcripts/tool-use-sonnet-4-5.jsonl');
// The fixture's responses were recorded at 03:24 on this day: the block is active just after.
const NOW = Date.parse('2026-11-21T03:30:00Z');

describe('the usage monitor in the daemon', () => {
  let home: string;
  let transcript: string;
  let alerts: UsageAlert[];
  let holds: LimitHold[];
  let logged: string[];
  let now: number;
  const open = (thresholds = DEFAULT_THRESHOLDS, pricesFile?: string) =>
    UsageMonitor.open({ home, now: () => now, thresholds, pricesFile, onAlert: (a) => alerts.push(a), onHold: (h) => holds.push(h), log: (line) => logged.push(line) });

  beforeEach(async () => {
    home = await mkdtemp(join(tmpdir(), 'sb-usage-'));
    transcript = join(home, 'session.jsonl');
    await copyFile(FIXTURE, transcript);
    alerts = [];
    holds = [];
    logged = [];
    now = NOW;
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

  it('reads again after a refresh that was asked for while another ran: a turn that ended meanwhile is counted', async () => {
    const monitor = await open();
    const running = monitor.refresh(); // the timer's, before any transcript is known
    monitor.track(transcript); // a Stop hook reports the turn's transcript...
    const asked = monitor.refresh(); // ...and asks while the first still runs
    await Promise.all([running, asked]);
    expect(monitor.report().records).toBeGreaterThan(0);
    // However many ask meanwhile, one more read follows.
    await Promise.all([monitor.refresh(), monitor.refresh(), monitor.refresh()]);
    expect(monitor.report().records).toBeGreaterThan(0);
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

  it('keeps every alert in a history, newest first, across a restart, and reports the thresholds in effect', async () => {
    const thresholds = { ...DEFAULT_THRESHOLDS, costPerBlockUsd: 0.000_001, sessionHours: null };
    const monitor = await open(thresholds);
    monitor.track(transcript);
    await monitor.refresh();
    const report = monitor.report();
    expect(report.thresholds).toEqual(thresholds);
    expect(report.history.map((a) => a.kind)).toEqual(['cost']);
    expect(report.history).toEqual(alerts);

    // The next block: the same alert again, on top.
    now = NOW + 6 * 3_600_000;
    await appendFile(transcript, assistantLine({ id: 'msg_next_block', at: now - 60_000, output: 5_000 }) + '\n');
    await monitor.refresh();
    const again = await open(thresholds);
    expect(again.report().history.map((a) => [a.kind, a.at])).toEqual([
      ['cost', now],
      ['cost', NOW],
    ]);
  });

  it('prices with the bundled table and says why when the price file is wrong, naming the file and field', async () => {
    const prices = join(home, 'my-prices.json');
    await writeFile(prices, JSON.stringify({ models: { 'claude-sonnet-4-5': { input: 'three', output: 15, cacheWrite5m: 3.75, cacheRead: 0.3 } } }));
    const monitor = await open(DEFAULT_THRESHOLDS, prices);
    monitor.track(transcript);
    await monitor.refresh();
    const report = monitor.report();
    expect(report.prices).toEqual({ file: prices, models: expect.any(Number), error: `${prices}: models.claude-sonnet-4-5.input: expected a price in USD per million tokens (a number ≥ 0)` });
    expect(report.snapshot.active!.costUsd).toBeGreaterThan(0);
    expect(logged.some((line) => line.includes(`${prices}: models.claude-sonnet-4-5.input`))).toBe(true);

    await writeFile(prices, JSON.stringify({ models: { 'claude-sonnet-4-5': { input: 300, output: 1500, cacheWrite5m: 375, cacheRead: 30 } } }));
    const dear = await open(DEFAULT_THRESHOLDS, prices);
    dear.track(transcript);
    await dear.refresh();
    expect(dear.report().prices).toEqual({ file: prices, models: expect.any(Number) });
    expect(dear.report().snapshot.active!.costUsd).toBeCloseTo(report.snapshot.active!.costUsd * 100, 6);
  });

  describe('rate limits', () => {
    let limited: string;
    beforeEach(async () => {
      limited = join(home, `${SESSION}.jsonl`);
      await writeFile(limited, [assistantLine({ id: 'msg_before', at: NOW - 120_000 }), rateLimitLine(NOW - 60_000, 'uuid-429')].join('\n') + '\n');
    });

    it('holds a session whose transcript shows a limit (no StopFailure seen), once, across a restart and a re-read', async () => {
      const monitor = await open();
      monitor.track(limited);
      await monitor.refresh();
      expect(holds).toEqual([{ sessionId: SESSION, strategy: 'exponential_backoff', reason: expect.stringMatching(/^Claude Code hit a rate limit: API Error: Request rejected \(429\)/) }]);
      expect(monitor.report().rateLimited).toEqual([expect.objectContaining({ sessionId: SESSION, held: { strategy: 'exponential_backoff', until: null, by: 'host' } })]);
      expect(alerts).toEqual([expect.objectContaining({ kind: 'rate-limited', severity: 'critical', text: expect.stringContaining(`Claude Code session ${SESSION} hit a rate limit`) })]);
      await monitor.refresh();

      const restarted = await open();
      restarted.track(limited);
      await restarted.refresh();
      // Even the whole file read again (its offsets lost) asks for nothing twice.
      await rm(join(home, 'usage', 'cursors.json'));
      const reread = await open();
      reread.track(limited);
      await reread.refresh();
      expect(holds).toHaveLength(1);
      expect(alerts).toHaveLength(1);
      expect(reread.report().rateLimited).toHaveLength(1);
    });

    it('pauses the session until the reset a full window of the status line gives, and stops when a response gets through', async () => {
      const monitor = await open();
      monitor.track(limited);
      await monitor.refresh();
      const resetsAt = Math.floor(NOW / 1000) + 1_800;
      monitor.statusLine({ session_id: SESSION, rate_limits: { five_hour: { used_percentage: 100, resets_at: resetsAt }, seven_day: { used_percentage: 40, resets_at: resetsAt + 86_400 } } });
      expect(holds.map((h) => [h.strategy, h.until])).toEqual([
        ['exponential_backoff', undefined],
        ['session_pause', resetsAt * 1000],
      ]);
      monitor.statusLine({ session_id: SESSION, rate_limits: { five_hour: { used_percentage: 100, resets_at: resetsAt } } });
      expect(holds).toHaveLength(2);

      now = NOW + 60_000;
      await appendFile(limited, assistantLine({ id: 'msg_after', at: now - 1_000 }) + '\n');
      await monitor.refresh();
      expect(monitor.report().rateLimited).toEqual([]);
    });

    it("pauses a subscriber's session until the reset time the real CLI wrote, and probes an API key's 429, which has none", async () => {
      const fixtures = resolve(import.meta.dirname, 'fixtures/transcripts');
      const subscriber = join(home, 'cd3c7ed2-b435-467c-a72d-13499c0f8403.jsonl');
      await copyFile(join(fixtures, 'rate-limit-subscriber-five-hour.jsonl'), subscriber);
      const apiKey = join(home, '183460bd-38a0-4d59-b43f-4c2dbacb9b9a.jsonl');
      await copyFile(join(fixtures, 'rate-limit-429.jsonl'), apiKey);
      now = Date.parse('2026-11-21T05:30:00Z'); // half a minute after the subscriber's 429
      const monitor = await open();
      monitor.track(subscriber);
      await monitor.refresh();
      expect(holds).toEqual([
        {
          sessionId: 'cd3c7ed2-b435-467c-a72d-13499c0f8403',
          strategy: 'session_pause',
          until: Date.parse('2026-11-21T07:46:34Z'),
          reason: "Claude Code hit a rate limit: You've hit your 5-hour limit · resets 7:46am (UTC); resets 2026-11-21T07:46:34.000Z",
        },
      ]);
      now = Date.parse('2026-11-21T03:22:00Z');
      const other = await UsageMonitor.open({ home: join(home, 'other'), now: () => now, onAlert: () => {}, onHold: (h) => holds.push(h), log: () => {} });
      other.track(apiKey);
      await other.refresh();
      expect(holds[1]).toMatchObject({ sessionId: '183460bd-38a0-4d59-b43f-4c2dbacb9b9a', strategy: 'exponential_backoff' });
    });

    it('notes the StopFailure the hub holds on itself, and pauses it when the status line knows the reset', async () => {
      const monitor = await open();
      monitor.hook({ session_id: 'other', hook_event_name: 'StopFailure', error: 'rate_limit', last_assistant_message: 'API Error: Request rejected (429)' }, NOW);
      expect(holds).toEqual([]);
      await vi.waitFor(() => expect(alerts.map((a) => a.kind)).toEqual(['rate-limited'])); // once it is in the history
      monitor.statusLine({ rate_limits: { five_hour: { used_percentage: 100, resets_at: Math.floor(NOW / 1000) + 600 } } });
      expect(holds).toEqual([expect.objectContaining({ sessionId: 'other', strategy: 'session_pause', until: NOW + 600_000 })]);
      monitor.hook({ session_id: 'other', hook_event_name: 'Stop' }, NOW + 1_000);
      expect(monitor.report().rateLimited).toEqual([]);
      await monitor.settled(); // usage/limits.json written before the folder goes
      expect(JSON.parse(await readFile(join(home, 'usage', 'limits.json'), 'utf8'))).toMatchObject({ version: 1, sessions: {} });
    });
  });
});
