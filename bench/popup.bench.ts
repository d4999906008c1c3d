/**
 * The popup with 10,000 stored messages and a stopped worker (`npm run bench:popup`; issue 7:
 * "first render under 150 ms with 10,000 stored messages, measured with the worker stopped"),
 * against the same popup on an empty profile, in the same run, opens interleaved.
 *
 * Two browsers with the built extension: one whose hub stores 10,000 messages (20 API clients
 * writing in threads of 5 to test sinks, every 10th to the popup, so it has unread mail and
 * threads to show), one with nothing. Each round, for each profile: stop the service worker (CDP
 * ServiceWorker.stopAllWorkers), open popup.html in a new page, and read from the page:
 *  - first render: navigation start → `popup-first-render` (entrypoints/popup/main.tsx, right after
 *    Preact rendered the shell into the DOM), and first contentful paint;
 *  - interactive: navigation start → `popup-interactive` (src/ui/popup/popup.tsx: the hub status,
 *    the agents, the newest 100 messages grouped into threads and the unread mail have all answered
 *    and been rendered) — the worker's cold start, its database opening and the queries included.
 * Each open checks the worker really was stopped (its start count went up by one). And, for the
 * floor the hub sets: the worker's cold start alone — after another stop, a 'claude-tabs' request
 * (answered from memory once the hub is up) from an extension page, sent to answered.
 * BENCH_ROUNDS rounds (default 10). Writes bench/results/popup-latest.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { launchExtension, waitFor, type ExtensionBrowser } from '../test/support/extension-browser';
import { fmt, machineDescription, median, percentile } from './lib';
import type { SendRequest } from '../src/protocol/envelope';
import type { HubStatus } from '../src/protocol/runtime';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 10);
const STORED = Number(process.env.BENCH_STORED ?? 10_000);
const CLIENTS = 20;
const POPUP = 'extension:local/popup';

function messageOf(i: number): SendRequest {
  const thread = Math.floor(i / 5);
  return {
    from: `api:local/client-${thread % CLIENTS}`,
    to: i % 10 === 0 ? POPUP : `test:local/sink-${i % 8}`,
    threadId: `bench-thread-${thread}`,
    body: `Message ${i} of thread ${thread}: **status** of build ${i % 97}, with \`code\` and a [link](https://example.com/${i}).`,
  };
}

async function fill(b: ExtensionBrowser): Promise<number> {
  const started = Date.now();
  for (let i = 0; i < STORED; i += 1_000) {
    const chunk = Array.from({ length: Math.min(1_000, STORED - i) }, (_, j) => messageOf(i + j));
    await b.page.evaluate((list) => Promise.all(list.map((m) => window.switchboard.send(m as never))), chunk);
  }
  await waitFor(() => b.hubStatus(), (s) => s.deliveries.queued + s.deliveries.sent === 0, 300_000, 'every message delivered');
  return Date.now() - started;
}

interface Open {
  firstRenderMs: number;
  fcpMs: number;
  interactiveMs: number;
  /** the worker started for this open: it was stopped before */
  cold: boolean;
  threads: number;
  agents: number;
}

async function openCold(b: ExtensionBrowser): Promise<Open> {
  const before = (await b.hubStatus()).workerStarts;
  await b.stopWorker();
  // Let the stop settle: the worker's ports close and Chrome marks it stopped.
  await new Promise((r) => setTimeout(r, 500));
  const page = await b.context.newPage();
  await page.setViewportSize({ width: 400, height: 600 });
  await page.goto(`chrome-extension://${b.extensionId}/popup.html`);
  await page.waitForSelector('main[data-ready]', { timeout: 60_000 });
  const measured = await page.evaluate(async () => {
    const mark = (name: string) => performance.getEntriesByName(name)[0]?.startTime ?? NaN;
    const fcp = performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? NaN;
    const status = (await chrome.runtime.sendMessage({ type: 'hub-status' })) as { ok: true; result: HubStatus };
    return {
      firstRenderMs: mark('popup-first-render'),
      fcpMs: fcp,
      interactiveMs: mark('popup-interactive'),
      workerStarts: status.result.workerStarts,
      threads: document.querySelectorAll('button.thread').length,
      agents: document.querySelectorAll('li.agent').length,
    };
  });
  await page.close();
  const { workerStarts, ...rest } = measured;
  return { ...rest, cold: workerStarts === before + 1 };
}

/** A request that reads no database, to a stopped worker: its start and the hub's, alone. */
async function coldStart(b: ExtensionBrowser): Promise<number> {
  await b.stopWorker();
  await new Promise((r) => setTimeout(r, 500));
  return b.page.evaluate(async () => {
    const started = performance.now();
    await chrome.runtime.sendMessage({ type: 'claude-tabs' });
    return performance.now() - started;
  });
}

type Stat = { p50: number; p90: number; max: number };
const stat = (values: number[]): Stat => ({ p50: median(values), p90: percentile(values, 90), max: Math.max(...values) });

async function main() {
  const full = await launchExtension();
  const empty = await launchExtension();
  try {
    await Promise.all([full.hubStatus(), empty.hubStatus()]);
    console.log(`filling ${fmt(STORED)} messages…`);
    const fillMs = await fill(full);
    console.log(`filled in ${fmt(fillMs / 1000, 1)} s`);

    const opens: Record<'full' | 'empty', Open[]> = { full: [], empty: [] };
    const starts: Record<'full' | 'empty', number[]> = { full: [], empty: [] };
    // One warm-up open each (Chromium's first extension page load compiles the bundle's code).
    await openCold(full);
    await openCold(empty);
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, b] of round % 2 ? ([['empty', empty], ['full', full]] as const) : ([['full', full], ['empty', empty]] as const)) {
        const open = await openCold(b);
        if (!open.cold) throw new Error(`${name}: the worker was not stopped before round ${round}`);
        opens[name].push(open);
        starts[name].push(await coldStart(b));
      }
      process.stdout.write('.');
    }
    console.log();

    const summary = (list: Open[], coldStarts: number[]) => ({
      workerStart: stat(coldStarts),
      firstRender: stat(list.map((o) => o.firstRenderMs)),
      fcp: stat(list.map((o) => o.fcpMs)),
      interactive: stat(list.map((o) => o.interactiveMs)),
      threads: list[0].threads,
      agents: list[0].agents,
    });
    const result = { date: new Date().toISOString(), machine: machineDescription(), stored: STORED, rounds: ROUNDS, fillMs, full: summary(opens.full, starts.full), empty: summary(opens.empty, starts.empty), opens, starts };
    mkdirSync('bench/results', { recursive: true });
    writeFileSync('bench/results/popup-latest.json', JSON.stringify(result, null, 2));

    const row = (label: string, key: 'firstRender' | 'fcp' | 'interactive' | 'workerStart') => {
      const f = result.full[key];
      const e = result.empty[key];
      return `| ${label} | ${fmt(f.p50, 1)} / ${fmt(f.p90, 1)} | ${fmt(e.p50, 1)} / ${fmt(e.p90, 1)} | ${fmt(f.p50 / e.p50, 2)} / ${fmt(f.p90 / e.p90, 2)} |`;
    };
    console.log(`\n${result.machine}; ${fmt(STORED)} messages (${result.full.threads} threads and ${result.full.agents} agents shown), ${ROUNDS} cold opens each\n`);
    console.log('| from navigation start | 10,000 messages p50 / p90 ms | empty p50 / p90 ms | ratio p50 / p90 |');
    console.log('| --- | --- | --- | --- |');
    console.log(row('first render (shell in the DOM)', 'firstRender'));
    console.log(row('first contentful paint', 'fcp'));
    console.log(row('interactive (status, agents, threads, unread)', 'interactive'));
    console.log(row("floor: the worker's cold start alone (request sent → answered)", 'workerStart'));
  } finally {
    await full.close();
    await empty.close();
  }
}

await main();
