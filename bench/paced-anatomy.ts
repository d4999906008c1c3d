/**
 * What a paced stream's tail is made of (`npm run bench:anatomy`): on a copy of a filled profile
 * (ANATOMY_TEMPLATE, e.g. the BENCH_TEMPLATE of bench:large) or a fresh one, ANATOMY_ROUNDS rounds
 * (default 4) of 1,000 messages at 200/s through the bus, each followed by raw IndexedDB making a
 * delivery's three commits per message at the same rate (rawPaced). For every stream it prints:
 *  - its p99 (page to page for the bus; in the worker for raw IndexedDB);
 *  - the service worker's garbage collections, from a trace of V8's GC categories only: how many,
 *    the longest pause, and that pause's thread time (CPU) against its wall time;
 *  - the CPU each of the browser's threads used during the stream, from /proc, grouped by process
 *    and thread name.
 * This is how BENCHMARKS.md knows where the tail at 100,000 messages comes from.
 */
import { readFile, readdir } from 'node:fs/promises';
import { launchExtension, waitFor, type ExtensionBrowser } from '../test/support/extension-browser';
import { endTrace, paced, percentile, profileWithStore, rawPaced, settle } from './lib';

const TEMPLATE = process.env.ANATOMY_TEMPLATE;
const ROUNDS = Number(process.env.ANATOMY_ROUNDS ?? 4);
const COUNT = 1_000;
const RATE = 200;

interface TraceEvent {
  name: string;
  ph: string;
  pid: number;
  tid: number;
  dur?: number;
  tdur?: number;
  args?: Record<string, unknown>;
}

/** CPU time (ms) by "process type / thread name" for every process started with this profile. */
async function cpuByThread(profileDir: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8');
      if (!cmdline.includes(profileDir)) continue;
      const type = /--type=([a-z-]+)/.exec(cmdline)?.[1] ?? 'browser';
      const kind = cmdline.includes('--extension-process') ? 'extension renderer' : type;
      for (const tid of await readdir(`/proc/${pid}/task`)) {
        const stat = await readFile(`/proc/${pid}/task/${tid}/stat`, 'utf8');
        const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')).replace(/\d+$/, '');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        const key = `${kind} / ${name}`;
        out.set(key, (out.get(key) ?? 0) + (Number(fields[11]) + Number(fields[12])) * 10); // utime + stime, USER_HZ 100
      }
    } catch {
      // the process or thread ended while being read
    }
  }
  return out;
}

/** Runs `stream` with GC tracing and CPU accounting around it; prints what it found. */
async function dissect(b: ExtensionBrowser, label: string, stream: () => Promise<number>): Promise<void> {
  await settle(b);
  const cdp = await b.context.newCDPSession(b.page);
  await cdp.send('Tracing.start', { traceConfig: { includedCategories: ['disabled-by-default-v8.gc', 'v8'], recordMode: 'recordContinuously' }, transferMode: 'ReturnAsStream' });
  const cpuBefore = await cpuByThread(b.profileDir);
  const started = Date.now();
  const p99 = await stream();
  const wall = Date.now() - started;
  const cpuAfter = await cpuByThread(b.profileDir);
  const parsed = JSON.parse(await endTrace(cdp)) as TraceEvent[] | { traceEvents: TraceEvent[] };
  await cdp.detach();
  const events = Array.isArray(parsed) ? parsed : parsed.traceEvents;
  const threads = new Map(events.filter((e) => e.ph === 'M' && e.name === 'thread_name').map((e) => [`${e.pid}:${e.tid}`, String(e.args?.name)]));
  const majors = events.filter((e) => e.ph === 'X' && e.name === 'MajorGC' && threads.get(`${e.pid}:${e.tid}`) === 'ServiceWorker thread');
  const longest = majors.reduce<TraceEvent | undefined>((max, e) => ((e.dur ?? 0) > (max?.dur ?? 0) ? e : max), undefined);
  const gc = longest ? `longest ${((longest.dur ?? 0) / 1000).toFixed(0)} ms wall, ${((longest.tdur ?? 0) / 1000).toFixed(0)} ms CPU` : 'none';
  const used = [...cpuAfter].map(([k, v]) => [k, v - (cpuBefore.get(k) ?? 0)] as const).filter(([, v]) => v >= 50).sort((x, y) => y[1] - x[1]);
  const total = used.reduce((sum, [, v]) => sum + v, 0);
  console.log(`${label}: p99 ${p99.toFixed(1)} ms · worker major GCs ${majors.length} (${gc}) · CPU ${(total / wall).toFixed(2)} cores over ${wall} ms`);
  console.log(`    ${used.map(([k, v]) => `${k} ${v}`).join(' · ')}`);
}

const b = await launchExtension({ profileDir: TEMPLATE ? await profileWithStore(TEMPLATE) : undefined });
try {
  // The worker's code and the store's caches warm up before anything is measured.
  const warm = Array.from({ length: 1_000 }, (_, i) => ({ from: 'extension:local/bench', to: `test:local/warm-${i % 8}`, body: `warm-up message ${i}` }));
  await b.page.evaluate((list) => Promise.all(list.map((m) => window.switchboard.send(m as never))), warm);
  await waitFor(() => b.hubStatus(), (s) => s.deliveries.queued + s.deliveries.sent === 0, 120_000, 'the warm-up');
  for (let round = 1; round <= ROUNDS; round++) {
    const list = Array.from({ length: COUNT }, (_, i) => ({ from: 'extension:local/bench', to: `test:local/paced-${i % 8}`, body: `paced message ${i} of round ${round}` }));
    await dissect(b, `round ${round}, the bus`, async () => percentile((await paced(b, list, RATE)).endToEnd, 99));
    await dissect(b, `round ${round}, raw IndexedDB`, async () => percentile(await rawPaced(b, COUNT, RATE), 99));
  }
} finally {
  await b.close();
}
