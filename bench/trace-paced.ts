/**
 * A browser-wide trace of one paced stream (`npm run bench:trace`): what the slowest deliveries
 * waited for. Sends 1,000 messages at 200/s (TRACE_RATE, TRACE_COUNT) on a copy of a filled profile
 * (TRACE_TEMPLATE, e.g. the BENCH_TEMPLATE of bench:large) or a fresh one, with Chromium tracing on
 * (IndexedDB, LevelDB, V8 and its garbage collector, the task scheduler). Prints, for the slowest
 * deliveries, their recorded steps and the long trace events that overlap them, by thread; writes
 * the whole trace to bench/results/paced-trace.json (open it in chrome://tracing or Perfetto).
 *
 * TRACE_OFF=1 runs the same stream untraced and then raw IndexedDB making a delivery's three
 * commits per message at the same rate, with each mix of strict and relaxed durability
 * (TRACE_REPEAT times each): how BENCHMARKS.md chose the durability. TRACE_BUS_REPEAT streams a
 * run; TRACE_BURST=1 sends a burst of 1,000 (and lets the store settle) before each stream.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { launchExtension, waitFor } from '../test/support/extension-browser';
import { endTrace, percentile, profileWithStore, rawPaced, settle } from './lib';

const TEMPLATE = process.env.TRACE_TEMPLATE;
const RATE = Number(process.env.TRACE_RATE ?? 200);
const COUNT = Number(process.env.TRACE_COUNT ?? 1_000);
const SLOW_MS = Number(process.env.TRACE_SLOW_MS ?? 20);
/** TRACE_OFF=1: the same stream and step figures without tracing (which slows everything down). */
const OFF = process.env.TRACE_OFF === '1';
const CATEGORIES = [
  'IndexedDB',
  'leveldb',
  'v8',
  'disabled-by-default-v8.gc',
  'toplevel',
  'ServiceWorker',
  'blink.user_timing',
  'devtools.timeline',
  'base',
  'mojom',
];

/** Events that only wrap others (a task, a message): left out of the per-delivery listing. */
const WRAPPERS = /ThreadController|RunTask|WorkerThread active|Receive mojo|SimpleWatcher|v8\.callFunction|FunctionCall|ThreadPool_RunTask/;

interface TraceEvent {
  name: string;
  cat: string;
  ph: string;
  ts: number;
  dur?: number;
  pid: number;
  tid: number;
  args?: Record<string, unknown>;
}

const b = await launchExtension({ profileDir: TEMPLATE ? await profileWithStore(TEMPLATE) : undefined });
try {
  await run();
} finally {
  await b.close();
}

async function run() {
  for (let r = 0; r < Number(process.env.TRACE_BUS_REPEAT ?? 1); r++) await stream();
}

async function stream() {
  await b.hubStatus();
  if (process.env.TRACE_BURST === '1') {
    // A burst of 1,000 first (as bench:large does between its streams), then the store settles.
    const burst = Array.from({ length: 1_000 }, (_, i) => ({ from: 'extension:local/bench', to: `test:local/burst-${i % 8}`, body: `burst message ${i}` }));
    await b.page.evaluate((list) => Promise.all(list.map((m) => window.switchboard.send(m as never))), burst);
    await waitFor(() => b.hubStatus(), (s) => s.deliveries.queued + s.deliveries.sent === 0, 120_000, 'the burst');
  }
  console.log(`settled in ${await settle(b)} ms`);
  const cdp = await b.context.newCDPSession(b.page);
  if (!OFF) await cdp.send('Tracing.start', { traceConfig: { includedCategories: CATEGORIES, recordMode: 'recordContinuously' }, transferMode: 'ReturnAsStream' });
  // A mark whose trace timestamp and wall-clock time are both known lines the two clocks up.
  const syncWall = await b.page.evaluate(() => {
    const wall = Date.now();
    performance.mark(`sb-sync-${wall}`);
    return wall;
  });
  const messages = Array.from({ length: COUNT }, (_, i) => ({ from: 'extension:local/bench', to: `test:local/paced-${i % 8}`, body: `traced message ${i}` }));
  const steps = await b.page.evaluate(
    async ({ messages, rate }) => {
      const ids: string[] = [];
      const pending: Promise<void>[] = [];
      const start = performance.now();
      for (let i = 0; i < messages.length; i++) {
        const wait = start + (i * 1000) / rate - performance.now();
        if (wait > 1) await new Promise((r) => setTimeout(r, wait));
        const wall = Date.now();
        pending.push(window.switchboard.send(messages[i] as never).then((r) => void (ids[i] = `${r.id} ${wall}`)));
      }
      await Promise.all(pending);
      for (;;) {
        const statuses = await Promise.all(ids.map((entry) => window.switchboard.status(entry.split(' ')[0])));
        if (statuses.every((s) => s.deliveries[0]?.history.some((h) => h.state === 'delivered')))
          return statuses.map((s, i) => ({ sentWall: Number(ids[i].split(' ')[1]), history: s.deliveries[0].history.map((h) => ({ state: h.state, at: h.at })) }));
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    { messages, rate: RATE },
  );
  const latencies = steps.map((s) => s.history.find((h) => h.state === 'delivered')!.at - s.sentWall);
  console.log(`${COUNT} at ${RATE}/s: send → delivered recorded p50 ${percentile(latencies, 50)} ms, p99 ${percentile(latencies, 99)} ms, max ${Math.max(...latencies)} ms`);
  const phase = (from: (s: (typeof steps)[number]) => number, to: (s: (typeof steps)[number]) => number) => {
    const values = steps.map((s) => to(s) - from(s));
    return `p50 ${percentile(values, 50)} / p90 ${percentile(values, 90)} / p99 ${percentile(values, 99)} ms`;
  };
  const at = (state: string) => (s: (typeof steps)[number]) => s.history.find((h) => h.state === state)?.at ?? Number.NaN;
  console.log(`  send() → queued: ${phase((s) => s.sentWall, at('queued'))}`);
  console.log(`  queued → sent: ${phase(at('queued'), at('sent'))}`);
  console.log(`  sent → delivered: ${phase(at('sent'), at('delivered'))}`);
  if (OFF) {
    console.log(`settled again in ${await settle(b)} ms`);
    const variants: IDBTransactionDurability[][] = [
      ['strict', 'strict', 'strict'],
      ['strict', 'relaxed', 'relaxed'],
      ['relaxed', 'relaxed', 'relaxed'],
      ['strict', 'strict', 'relaxed'],
    ];
    const results = new Map<string, number[]>();
    for (let k = 0; k < Number(process.env.TRACE_REPEAT ?? 2); k++) for (const durability of variants) {
      await settle(b);
      const raw = await rawPaced(b, COUNT, RATE, durability);
      console.log(`raw IndexedDB, the same three commits per message, ${durability.join(' ')}: p50 ${percentile(raw, 50).toFixed(1)} ms, p99 ${percentile(raw, 99).toFixed(1)} ms`);
      results.set(durability.join(' '), [...(results.get(durability.join(' ')) ?? []), percentile(raw, 99)]);
    }
    for (const [name, p99s] of results) console.log(`${name}: p99 median ${percentile(p99s, 50).toFixed(1)} ms over ${p99s.length}: ${p99s.map((v) => v.toFixed(0)).join(' ')}`);
  }
  if (OFF) return cdp.detach();
  const text = await endTrace(cdp);
  await cdp.detach();
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/paced-trace.json', text);
  const parsed = JSON.parse(text) as TraceEvent[] | { traceEvents: TraceEvent[] };
  const events = Array.isArray(parsed) ? parsed : parsed.traceEvents;

  const threads = new Map<string, string>();
  const processes = new Map<number, string>();
  for (const e of events) {
    if (e.ph === 'M' && e.name === 'thread_name') threads.set(`${e.pid}:${e.tid}`, String(e.args?.name));
    if (e.ph === 'M' && e.name === 'process_name') processes.set(e.pid, String(e.args?.name));
  }
  const where = (e: TraceEvent) => `${processes.get(e.pid) ?? e.pid}/${threads.get(`${e.pid}:${e.tid}`) ?? e.tid}`;
  const sync = events.find((e) => e.name === `sb-sync-${syncWall}`);
  if (!sync) throw new Error('the clock mark is not in the trace');
  const toWall = (ts: number) => syncWall + (ts - sync.ts) / 1000;

  // Long events over the whole stream, by thread and name.
  const complete = events.filter((e) => e.ph === 'X' && (e.dur ?? 0) >= 2_000);
  const byKind = new Map<string, { n: number; ms: number; max: number }>();
  for (const e of complete) {
    const key = `${where(e)} · ${e.name}`;
    const k = byKind.get(key) ?? { n: 0, ms: 0, max: 0 };
    k.n++;
    k.ms += e.dur! / 1000;
    k.max = Math.max(k.max, e.dur! / 1000);
    byKind.set(key, k);
  }
  console.log('\nEvents of 2 ms or more during the stream (thread · name: count, total, longest):');
  for (const [key, k] of [...byKind].sort((x, y) => y[1].ms - x[1].ms).slice(0, 40)) console.log(`  ${key}: ${k.n}, ${k.ms.toFixed(0)} ms, ${k.max.toFixed(1)} ms`);

  const slow = steps.map((s, i) => ({ ...s, i, ms: latencies[i] })).filter((s) => s.ms >= SLOW_MS);
  console.log(`\n${slow.length} deliveries took ${SLOW_MS} ms or more. The overlapping events of 1 ms or more:`);
  for (const s of slow.slice(0, 30)) {
    const end = s.history.find((h) => h.state === 'delivered')!.at;
    console.log(`#${s.i} ${s.ms} ms: sent ${s.sentWall % 100_000} → ${s.history.map((h) => `${h.state} +${h.at - s.sentWall}`).join(' → ')}`);
    const overlapping = events.filter((e) => e.ph === 'X' && (e.dur ?? 0) >= 1_000 && !WRAPPERS.test(e.name) && toWall(e.ts) < end && toWall(e.ts + e.dur!) > s.sentWall);
    for (const e of overlapping.slice(0, 12)) console.log(`    +${(toWall(e.ts) - s.sentWall).toFixed(1)} ${(e.dur! / 1000).toFixed(1)} ms ${where(e)} · ${e.name}`);
  }
}
