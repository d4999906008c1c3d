/**
 * The bus benchmark, in a real Chromium with the built extension (`npm run bench`; method and
 * figures in BENCHMARKS.md). Each measurement gets a fresh profile holding 1,000 stored (delivered)
 * messages, left quiet for a second:
 *
 *  - burst: 1,000 sends at once from an extension page through the hub client (a long-lived port),
 *    and again through runtime.sendMessage, one call per message; accepted/s is
 *    1,000 ÷ the time until the last send resolved (committed), delivered/s ÷ the time until the
 *    last delivery was reported on the changes port;
 *  - paced: 1,000 sends at a steady offered rate through the hub client; send → delivered latency
 *    per message, measured in the page from just before send() to the change arriving on the
 *    changes port (two IPC hops more than the bus's own time), and the bus's own accepted →
 *    delivered time from each delivery's recorded history;
 *  - reference: the same message and delivery records, read back from the run, written with raw
 *    IndexedDB in the service worker in as many transactions as the bus used for the burst's sends
 *    (same batching, the hub's durability), in the same browser and run.
 *
 * Prints a Markdown table and writes bench/results/latest.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { launchExtension, waitFor, type ExtensionBrowser } from '../test/support/extension-browser';
import { burst, fmt, median, paced, percentile, rawReference, machineDescription } from './lib';
import type { HubStatus } from '../src/protocol/runtime';
import type { SendRequest } from '../src/protocol/envelope';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const STORED = 1_000;
const BURST = 1_000;
const PACED = 1_000;
const PACED_RATES = [200, 1_000]; // messages per second offered
const FROM = 'extension:local/bench';

const message = (i: number, tag: string): SendRequest => ({
  from: FROM,
  to: `test:local/${tag}-${i % 8}`,
  body: `${tag} message ${i}: ${'lorem ipsum '.repeat(8)}`,
  priority: (['high', 'normal', 'low'] as const)[i % 3],
});

const unfinished = (s: HubStatus) => s.deliveries.queued + s.deliveries.sent;

async function settle(b: ExtensionBrowser): Promise<HubStatus> {
  return waitFor(() => b.hubStatus(), (s) => unfinished(s) === 0, 120_000, 'deliveries to finish');
}

async function preload(b: ExtensionBrowser): Promise<void> {
  for (let i = 0; i < STORED; i += 100) {
    const chunk = Array.from({ length: 100 }, (_, j) => message(i + j, 'stored'));
    await b.page.evaluate((list) => Promise.all(list.map((m) => chrome.runtime.sendMessage({ type: 'send', message: m }))), chunk);
  }
  await settle(b);
}

async function main() {
  const machine = machineDescription();
  console.log(`machine: ${machine}`);
  const runs: Record<string, unknown>[] = [];

  /** A fresh profile holding STORED delivered messages, quiet again before measuring. */
  async function withStoredProfile<T>(measure: (b: ExtensionBrowser) => Promise<T>): Promise<T> {
    const b = await launchExtension();
    try {
      await preload(b);
      await new Promise((r) => setTimeout(r, 1_000));
      return await measure(b);
    } finally {
      await b.close();
    }
  }

  for (let run = 1; run <= RUNS; run++) {
    const viaClient = await withStoredProfile(async (b) => {
      const before = await b.hubStatus();
      const result = await burst(b, Array.from({ length: BURST }, (_, i) => message(i, `burst${run}`)), 'client');
      const after = await settle(b);
      const sendCommits = after.bus.sendCommits - before.bus.sendCommits;
      // Indexing for search waits for idle time; what it costs is measured here, forced by a search.
      const indexMs = await b.page.evaluate(async () => {
        const t = performance.now();
        await window.switchboard.search('zzzz-no-such-word');
        return performance.now() - t;
      });
      return { ...result, sendCommits, indexMs, reference: await rawReference(b, result.ids, sendCommits) };
    });
    // The same burst through runtime.sendMessage, one call per message, for comparison.
    const viaSendMessage = await withStoredProfile(async (b) => {
      const result = await burst(b, Array.from({ length: BURST }, (_, i) => message(i, `burstsm${run}`)), 'sendMessage');
      await settle(b);
      return result;
    });
    const latencies: Record<number, { endToEnd: number[]; inBus: number[]; sendToDelivered: number[] }> = {};
    for (const rate of PACED_RATES) {
      latencies[rate] = await withStoredProfile((b) => paced(b, Array.from({ length: PACED }, (_, i) => message(i, `paced${rate}`)), rate));
    }
    const row = {
      run,
      acceptedPerSec: (BURST / viaClient.acceptMs) * 1000,
      deliveredPerSec: (BURST / viaClient.deliverMs) * 1000,
      sendCommits: viaClient.sendCommits,
      messagesPerCommit: BURST / viaClient.sendCommits,
      rawPerSec: (BURST / viaClient.reference.ms) * 1000,
      indexMs: viaClient.indexMs,
      sendMessageAcceptedPerSec: (BURST / viaSendMessage.acceptMs) * 1000,
      sendMessageDeliveredPerSec: (BURST / viaSendMessage.deliverMs) * 1000,
      paced: Object.fromEntries(
        PACED_RATES.map((rate) => {
          const { endToEnd, inBus, sendToDelivered } = latencies[rate];
          return [
            rate,
            {
              p50: median(endToEnd),
              p99: percentile(endToEnd, 99),
              max: Math.max(...endToEnd),
              busP50: median(inBus),
              busP99: percentile(inBus, 99),
              sendP50: median(sendToDelivered),
              sendP99: percentile(sendToDelivered, 99),
            },
          ];
        }),
      ),
    };
    runs.push(row);
    console.log(JSON.stringify(row));
  }

  const col = (f: (r: any) => number) => median(runs.map(f));
  const accepted = col((r) => r.acceptedPerSec);
  const delivered = col((r) => r.deliveredPerSec);
  const raw = col((r) => r.rawPerSec);
  const lines = [
    `Machine: ${machine}. ${RUNS} runs; each measurement on a fresh profile holding ${fmt(STORED)} stored messages; medians of the runs.`,
    '',
    '| measure | bus | raw IndexedDB, same records and batching | bus ÷ raw |',
    '| --- | ---: | ---: | ---: |',
    `| burst of ${fmt(BURST)}: accepted (committed) / s | ${fmt(accepted)} | ${fmt(raw)} | ${fmt(accepted / raw, 2)} |`,
    `| burst of ${fmt(BURST)}: delivered / s | ${fmt(delivered)} | ${fmt(raw)} | ${fmt(delivered / raw, 2)} |`,
    `| same burst through runtime.sendMessage: accepted / s | ${fmt(col((r) => r.sendMessageAcceptedPerSec))} | ${fmt(raw)} | ${fmt(col((r) => r.sendMessageAcceptedPerSec) / raw, 2)} |`,
    `| same burst through runtime.sendMessage: delivered / s | ${fmt(col((r) => r.sendMessageDeliveredPerSec))} | ${fmt(raw)} | ${fmt(col((r) => r.sendMessageDeliveredPerSec) / raw, 2)} |`,
    `| indexing the burst's 1,000 messages for search (deferred until idle; forced here by a search) | ${fmt(col((r) => r.indexMs))} ms | | |`,
    `| messages per send transaction (group commit) | ${fmt(col((r) => r.messagesPerCommit), 1)} | same | |`,
    ...PACED_RATES.flatMap((rate) => [
      `| **paced ${fmt(rate)}/s: send() → delivery recorded, p50 / p99** | **${fmt(col((r) => r.paced[rate].sendP50))} / ${fmt(col((r) => r.paced[rate].sendP99))} ms** | | |`,
      `| paced ${fmt(rate)}/s: send → delivered p50, page to page | ${fmt(col((r) => r.paced[rate].p50), 1)} ms | | |`,
      `| paced ${fmt(rate)}/s: send → delivered p99, page to page | ${fmt(col((r) => r.paced[rate].p99), 1)} ms | | |`,
      `| paced ${fmt(rate)}/s: accepted → delivered p50 / p99, in the bus | ${fmt(col((r) => r.paced[rate].busP50))} / ${fmt(col((r) => r.paced[rate].busP99))} ms | | |`,
    ]),
  ];
  console.log(`\n${lines.join('\n')}`);
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/latest.json', JSON.stringify({ machine, date: new Date().toISOString(), runs }, null, 2));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
