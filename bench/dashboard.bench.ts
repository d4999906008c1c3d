/**
 * The dashboard with 10,000 Claude Code events (`npm run bench:dashboard`; issue 7), against the
 * same page with no events, in the same browser and run, loads interleaved:
 *  - render: from the page's navigation start to the timeline showing every event (its summary
 *    says "10000 events in …", lanes drawn) and the next frame painted — fetching the events from
 *    the hub ('events', pages of 2,000), deriving lanes and filters, and Preact's render; the empty
 *    page to its "0 events" summary and the next frame;
 *  - in the DOM: the same, when the summary changed, before that frame is painted;
 *  - derive + render: from the page's last answer from the hub to the DOM: lanes, filters and
 *    Preact's render, the page's own work;
 *  - page scripts: navigation start to DOMContentLoaded (the bundle loaded and run, the first render
 *    done, before any answer from the hub), the floor both renders share;
 *  - fetch: the same 'events' pages asked for by a page alone, for the share of render that is the hub;
 *  - filter: choosing a tool in the Tool filter until the next frame, with 10,000 events;
 *  - new event: an event put into the store while the page is open, until its row shows (the
 *    timeline looks for new events every 500 ms; the event goes in at a different point of that
 *    cycle each round, so the figures average over it).
 * The events go straight into the hub's events database (same schema: src/storage/events-db.ts)
 * from an extension page, in one IndexedDB transaction: as the hub's HookEventStore would store
 * them, without 10,000 trips through the host. The empty page runs in a second browser of the same
 * run, started alike, whose store never held an event (see below). BENCH_ROUNDS rounds (default
 * 10), each one full and one empty load. Writes bench/results/dashboard-latest.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { v7 as uuidv7 } from 'uuid';
import type { Page } from 'playwright-core';
import { EXTENSION_DIR, launchExtension, type ExtensionBrowser } from '../test/support/extension-browser';
import { fmt, machineDescription, median, percentile } from './lib';
import { EVENTS_DB_NAME, type SessionRecord, type StoredHookEvent } from '../src/storage/events-db';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 10);
const EVENTS = Number(process.env.BENCH_EVENTS ?? 10_000);
const SESSIONS = 24;
const TOOLS = ['Bash', 'Read', 'Edit', 'Write', 'Grep', 'Glob', 'WebFetch', 'Task'];

/** `count` events of 24 sessions over the last 6 hours, shaped as Claude Code sends them. */
function makeEvents(count: number, now: number): { events: StoredHookEvent[]; sessions: SessionRecord[] } {
  const span = 6 * 3_600_000;
  const events: StoredHookEvent[] = [];
  const bySession = new Map<string, StoredHookEvent[]>();
  for (let i = 0; i < count; i++) {
    const at = now - span + Math.floor((i * span) / count);
    const sessionId = `0b5e${String(i % SESSIONS).padStart(4, '0')}-aaaa-4bbb-8ccc-${String(i % SESSIONS).padStart(12, '0')}`;
    const cycle = Math.floor(i / SESSIONS) % 6;
    const name = ['UserPromptSubmit', 'PreToolUse', 'PostToolUse', 'PreToolUse', 'PostToolUse', 'Stop'][cycle];
    const tool = TOOLS[(i * 7) % TOOLS.length];
    const cwd = `/home/dev/projects/project-${i % 5}`;
    const payload: Record<string, unknown> = {
      session_id: sessionId,
      transcript_path: `/home/dev/.claude/projects/-home-dev-projects-project-${i % 5}/${sessionId}.jsonl`,
      cwd,
      hook_event_name: name,
      permission_mode: 'default',
    };
    if (name === 'UserPromptSubmit') payload.prompt = `Refactor module ${i} so that its tests pass again and explain what changed`;
    if (name === 'PreToolUse' || name === 'PostToolUse') {
      payload.tool_name = tool;
      payload.tool_input = { command: `npm test -- --filter case-${i}`, description: `Run the tests of case ${i}` };
      payload.tool_use_id = `toolu_${i.toString(36).padStart(20, '0')}`;
    }
    if (name === 'PostToolUse') payload.tool_response = { stdout: `ok ${i}\n`.repeat(8), stderr: '', interrupted: false };
    const event: StoredHookEvent = { id: uuidv7({ msecs: at }), sessionId, name, receivedAt: at, storedAt: at, payload };
    events.push(event);
    bySession.set(sessionId, [...(bySession.get(sessionId) ?? []), event]);
  }
  const sessions = [...bySession].map(([sessionId, list]): SessionRecord => ({
    sessionId,
    address: `claude-code:local/${sessionId}`,
    project: list[0].payload.cwd as string,
    title: `Session ${sessionId.slice(4, 8)}: refactor and test`,
    model: 'claude-opus-4-5',
    state: 'idle',
    firstEventAt: list[0].receivedAt,
    lastEventAt: list[list.length - 1].receivedAt,
    lastEvent: list[list.length - 1].name,
    events: list.length,
  }));
  return { events, sessions };
}

/** Replaces every stored event and session, in one transaction of the hub's own database. */
function fillStore(b: ExtensionBrowser, data: { events: StoredHookEvent[]; sessions: SessionRecord[] }) {
  return b.page.evaluate(
    ({ name, events, sessions }) =>
      new Promise<number>((resolve, reject) => {
        const open = indexedDB.open(name);
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const db = open.result;
          const started = performance.now();
          const tx = db.transaction(['hookEvents', 'sessions'], 'readwrite', { durability: 'strict' });
          const store = tx.objectStore('hookEvents');
          const sessionStore = tx.objectStore('sessions');
          store.clear();
          sessionStore.clear();
          for (const e of events) store.put(e);
          for (const s of sessions) sessionStore.put(s);
          tx.oncomplete = () => (db.close(), resolve(performance.now() - started));
          tx.onerror = () => (db.close(), reject(tx.error));
        };
      }),
    { name: EVENTS_DB_NAME, ...data },
  );
}

/**
 * Loads the dashboard's timeline and resolves with ms from navigation start to the frame after
 * its summary first says `expected` events. The watch is installed before the page's own scripts.
 */
async function timeRender(b: ExtensionBrowser, expected: number): Promise<{ page: Page; ms: number; domMs: number; scriptsMs: number; ownMs: number }> {
  const page = await b.context.newPage();
  await page.setViewportSize({ width: 1280, height: 860 });
  await page.addInitScript((count: number) => {
    // When the page's last answer from the hub came: what follows until the DOM is the page's own work.
    const send = chrome.runtime.sendMessage.bind(chrome.runtime) as (message: unknown) => Promise<unknown>;
    (chrome.runtime as { sendMessage: unknown }).sendMessage = (message: unknown) =>
      send(message).then((answer) => (((window as unknown as { __answered: number }).__answered = performance.now()), answer));
    const want = new RegExp(`^${count} events? in `);
    const watch = new MutationObserver(() => {
      const summary = document.getElementById('timeline-summary');
      if (!summary || !want.test(summary.textContent ?? '')) return;
      watch.disconnect();
      (window as unknown as { __inDom: number }).__inDom = performance.now();
      // Painted: the frame after the change, and the task after that frame.
      requestAnimationFrame(() => setTimeout(() => ((window as unknown as { __rendered: number }).__rendered = performance.now())));
    });
    watch.observe(document, { childList: true, subtree: true, characterData: true });
  }, expected);
  await page.goto(`chrome-extension://${b.extensionId}/dashboard.html#timeline`);
  await page.waitForFunction(() => (window as unknown as { __rendered?: number }).__rendered !== undefined, null, { timeout: 60_000, polling: 20 });
  const { ms, domMs, scriptsMs, ownMs } = await page.evaluate(() => ({
    ownMs: (window as unknown as { __inDom: number }).__inDom - (window as unknown as { __answered: number }).__answered,
    ms: (window as unknown as { __rendered: number }).__rendered,
    domMs: (window as unknown as { __inDom: number }).__inDom,
    // The page's module scripts have run (its first render included) once DOMContentLoaded is over.
    scriptsMs: (performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming).domContentLoadedEventEnd,
  }));
  return { page, ms, domMs, scriptsMs, ownMs };
}

/** The 'events' pages the timeline asks for, asked by a page alone: the hub's share. */
function timeFetch(b: ExtensionBrowser): Promise<number> {
  return b.page.evaluate(async () => {
    const started = performance.now();
    let before: string | undefined;
    for (;;) {
      const answer = (await chrome.runtime.sendMessage({ type: 'events', limit: 2_000, ...(before ? { before } : {}) })) as { result: { id: string }[] };
      if (answer.result.length < 2_000) break;
      before = answer.result[answer.result.length - 1].id;
    }
    return performance.now() - started;
  });
}

/** Choosing a tool in the Tool filter, until the frame after. */
function timeFilter(page: Page, tool: string): Promise<number> {
  return page.evaluate(
    (value) =>
      new Promise<number>((resolve) => {
        const select = document.getElementById('filter-tool') as HTMLSelectElement;
        const started = performance.now();
        select.value = value;
        select.dispatchEvent(new Event('change', { bubbles: true }));
        requestAnimationFrame(() => setTimeout(() => resolve(performance.now() - started)));
      }),
    tool,
  );
}

/** One more event, put into the store while the page is open, until its row is in the page. */

/**
 * Puts an event in, or takes one out of, the hub's event store straight from the diagnostics page,
 * as the hub would; resolves with when the commit completed (ms since the epoch, sub-ms).
 */
function writeHookEvents(b: ExtensionBrowser, change: { put: unknown } | { delete: string }): Promise<number> {
  return b.page.evaluate(
    ({ name, change }) =>
      new Promise<number>((resolve, reject) => {
        const open = indexedDB.open(name);
        open.onsuccess = () => {
          const db = open.result;
          const tx = db.transaction('hookEvents', 'readwrite');
          if ('put' in change) tx.objectStore('hookEvents').put(change.put);
          else tx.objectStore('hookEvents').delete(change.delete);
          tx.oncomplete = () => (db.close(), resolve(performance.timeOrigin + performance.now()));
          tx.onerror = () => reject(tx.error);
        };
      }),
    { name: EVENTS_DB_NAME, change },
  );
}
async function timeNewEvent(b: ExtensionBrowser, page: Page, at: number, delayMs: number): Promise<number> {
  const sessionId = `new-${at}`;
  const event: StoredHookEvent = {
    id: uuidv7({ msecs: at }),
    sessionId,
    name: 'PreToolUse',
    receivedAt: at,
    payload: { session_id: sessionId, hook_event_name: 'PreToolUse', tool_name: 'NewTool', cwd: '/home/dev/new' },
  };
  await page.evaluate((id) => {
    const watch = new MutationObserver(() => {
      if (!document.querySelector(`[data-event-id="${id}"]`)) return;
      watch.disconnect();
      (window as unknown as { __shown: number }).__shown = performance.timeOrigin + performance.now();
    });
    watch.observe(document, { childList: true, subtree: true });
  }, event.id);
  // At a different point of the page's 500 ms look each round: what a person sees on average.
  await new Promise((r) => setTimeout(r, delayMs));
  const committed = await writeHookEvents(b, { put: event });
  await page.waitForFunction(() => (window as unknown as { __shown?: number }).__shown !== undefined, null, { timeout: 10_000, polling: 20 });
  const shown = await page.evaluate(() => (window as unknown as { __shown: number }).__shown);
  // Taken out again, so every load of the page finds the same store.
  await writeHookEvents(b, { delete: event.id });
  return shown - committed;
}

// A copy of the build: another build into .output while this runs (a test elsewhere) would take the
// pages away under it. Chromium takes the last of repeated switches, so these replace the default ones.
const copy = await mkdtemp(join(tmpdir(), 'switchboard-bench-extension-'));
await cp(EXTENSION_DIR, copy, { recursive: true });
const args = [`--disable-extensions-except=${copy}`, `--load-extension=${copy}`];
const browser = await launchExtension({ args });
/**
 * The empty baseline has a browser of its own, whose store never held an event: a store just
 * emptied of 10,000 events answers slowly for a second or two (measured: ~100 ms, then ~28 ms, for
 * a read that takes 2 ms in a store never filled), which would flatter the ratio.
 */
const emptyBrowser = await launchExtension({ args });
try {
  // The hub opens its events database on its first request that reads it.
  await browser.request({ type: 'sessions' });
  await emptyBrowser.request({ type: 'sessions' });
  const now = Date.now();
  const fillMs = await fillStore(browser, makeEvents(EVENTS, now));

  const results = {
    full: [] as number[],
    empty: [] as number[],
    domFull: [] as number[],
    domEmpty: [] as number[],
    ownFull: [] as number[],
    ownEmpty: [] as number[],
    scriptsFull: [] as number[],
    scriptsEmpty: [] as number[],
    fetch: [] as number[],
    filter: [] as number[],
    newEvent: [] as number[],
    newEventEmpty: [] as number[],
  };
  // One unmeasured load of each first: the page's scripts and the hubs warm.
  await (await timeRender(browser, EVENTS)).page.close();
  await (await timeRender(emptyBrowser, 0)).page.close();
  for (let round = 0; round < ROUNDS; round++) {
    const loaded = await timeRender(browser, EVENTS);
    results.full.push(loaded.ms);
    results.scriptsFull.push(loaded.scriptsMs);
    results.domFull.push(loaded.domMs);
    results.ownFull.push(loaded.ownMs);
    results.filter.push(await timeFilter(loaded.page, TOOLS[round % TOOLS.length]));
    await timeFilter(loaded.page, '');
    results.newEvent.push(await timeNewEvent(browser, loaded.page, now + 1_000 + round, (round * 173) % 500));
    await loaded.page.close();
    results.fetch.push(await timeFetch(browser));

    const bare = await timeRender(emptyBrowser, 0);
    results.empty.push(bare.ms);
    results.scriptsEmpty.push(bare.scriptsMs);
    results.domEmpty.push(bare.domMs);
    results.ownEmpty.push(bare.ownMs);
    results.newEventEmpty.push(await timeNewEvent(emptyBrowser, bare.page, now + 2_000 + round, (round * 173) % 500));
    await bare.page.close();
    console.log(`round ${round + 1}: ${fmt(loaded.ms)} ms with ${EVENTS} events, ${fmt(bare.ms)} ms empty`);
  }

  const row = (name: string, values: number[]) => `| ${name} | ${fmt(median(values), 1)} | ${fmt(percentile(values, 90), 1)} | ${fmt(Math.min(...values), 1)} | ${fmt(Math.max(...values), 1)} |`;
  const summary = {
    machine: machineDescription(),
    at: new Date().toISOString(),
    events: EVENTS,
    sessions: SESSIONS,
    rounds: ROUNDS,
    fillMs,
    ratio: median(results.full) / median(results.empty),
    domRatio: median(results.domFull) / median(results.domEmpty),
    results,
  };
  console.log(`\n${summary.machine}; ${EVENTS} events in ${SESSIONS} sessions, ${ROUNDS} rounds\n`);
  console.log('| measure | p50 ms | p90 ms | min | max |\n| --- | --- | --- | --- | --- |');
  console.log(row(`render, ${EVENTS} events`, results.full));
  console.log(row('render, no events', results.empty));
  console.log(row(`in the DOM (not yet painted), ${EVENTS}`, results.domFull));
  console.log(row('in the DOM (not yet painted), empty', results.domEmpty));
  console.log(row(`last answer → in the DOM (derive + render), ${EVENTS}`, results.ownFull));
  console.log(row('last answer → in the DOM (derive + render), empty', results.ownEmpty));
  console.log(row(`page scripts run (DOMContentLoaded), ${EVENTS}`, results.scriptsFull));
  console.log(row('page scripts run (DOMContentLoaded), empty', results.scriptsEmpty));
  console.log(row(`'events' pages alone, ${EVENTS}`, results.fetch));
  console.log(row(`filter by tool, ${EVENTS}`, results.filter));
  console.log(row(`new event shown, ${EVENTS}`, results.newEvent));
  console.log(row('new event shown, empty', results.newEventEmpty));
  console.log(`\nfilling the store with ${EVENTS} events (one transaction): ${fmt(fillMs)} ms`);
  console.log(`\nrender ratio (p50, ${EVENTS} ÷ empty): ${fmt(summary.ratio, 2)} painted, ${fmt(summary.domRatio, 2)} in the DOM`);
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/dashboard-latest.json', JSON.stringify(summary, null, 2));
} finally {
  await browser.close();
  await emptyBrowser.close();
  await rm(copy, { recursive: true, force: true });
}
