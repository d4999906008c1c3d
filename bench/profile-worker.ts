/**
 * CPU profile of the hub's service worker during a burst (`npm run bench:profile`): prints self time
 * by function and writes bench/results/worker.cpuprofile (open it in Chrome DevTools → Performance).
 * This is how BENCHMARKS.md knows the worker mostly waits on IndexedDB rather than computing.
 *
 * With PROFILE_MODE=alloc it samples the worker's allocations instead, during a paced stream of
 * 1,000 at 200/s (every object, including those the collector has freed since): prints bytes
 * allocated by function and writes bench/results/worker.heapprofile (DevTools → Memory). That is
 * what makes the worker's garbage collections, which BENCHMARKS.md finds under the paced tail.
 *
 * Playwright cannot open a CDP session on a service worker directly, so this attaches through the
 * page's session (Target.attachToTarget, not flattened) and talks to the worker with
 * Target.sendMessageToTarget.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { launchExtension, waitFor } from '../test/support/extension-browser';
import { paced, percentile, profileWithStore } from './lib';

const BURST = Number(process.env.PROFILE_BURST ?? 2_000);
/** A filled profile to profile on (a copy of it), e.g. the BENCH_TEMPLATE of bench:large: the 100,000-message store. */
const TEMPLATE = process.env.PROFILE_TEMPLATE;
const MODE = process.env.PROFILE_MODE ?? 'cpu';
if (MODE !== 'cpu' && MODE !== 'alloc') throw new Error(`PROFILE_MODE is "cpu" or "alloc", not "${MODE}"`);

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface HeapNode {
  callFrame: ProfileNode['callFrame'];
  selfSize: number;
  children: HeapNode[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const frameName = ({ functionName, url, lineNumber }: ProfileNode['callFrame']) => `${functionName || '(anonymous)'} ${url.split('/').pop()}:${lineNumber}`;

const b = await launchExtension({ profileDir: TEMPLATE ? await profileWithStore(TEMPLATE) : undefined });
try {
  const cdp = await b.context.newCDPSession(b.page);
  const { targetInfos } = (await cdp.send('Target.getTargets')) as { targetInfos: { targetId: string; type: string }[] };
  const worker = targetInfos.find((t) => t.type === 'service_worker');
  if (!worker) throw new Error('no service worker target');
  const { sessionId } = (await cdp.send('Target.attachToTarget', { targetId: worker.targetId, flatten: false })) as { sessionId: string };
  let nextId = 0;
  const waiting = new Map<number, (result: unknown) => void>();
  cdp.on('Target.receivedMessageFromTarget', (event: { message: string }) => {
    const message = JSON.parse(event.message) as { id?: number; result?: unknown; error?: unknown };
    if (message.id !== undefined) waiting.get(message.id)?.(message.result ?? message.error);
    if (message.id !== undefined) waiting.delete(message.id);
  });
  const send = <T>(method: string, params: object = {}) =>
    new Promise<T>((resolve) => {
      const id = ++nextId;
      waiting.set(id, resolve as (result: unknown) => void);
      void cdp.send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id, method, params }) });
    });

  const burst = (count: number, tag: string) =>
    b.page.evaluate(
      (messages) => Promise.all(messages.map((m) => window.switchboard.send(m as never))),
      Array.from({ length: count }, (_, i) => ({ from: 'extension:local/bench', to: `test:local/${tag}-${i % 8}`, body: `message ${i}` })),
    );
  await burst(1_000, 'warm');
  await waitFor(() => b.hubStatus(), (s) => s.deliveries.queued + s.deliveries.sent === 0, 60_000, 'warm-up');

  if (MODE === 'alloc') await allocations();
  else await cpu();

  async function cpu(): Promise<void> {
    await send('Profiler.enable');
    await send('Profiler.setSamplingInterval', { interval: 100 });
    await send('Profiler.start');
    const started = Date.now();
    await burst(BURST, 'burst');
    await waitFor(() => b.hubStatus(), (s) => s.deliveries.queued + s.deliveries.sent === 0, 60_000, 'the burst');
    const elapsed = Date.now() - started;
    const { profile } = await send<{ profile: Profile }>('Profiler.stop');

    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    const self = new Map<string, number>();
    profile.samples.forEach((id, i) => {
      const key = frameName(byId.get(id)!.callFrame);
      self.set(key, (self.get(key) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
    });
    const total = [...self.values()].reduce((a, v) => a + v, 0);
    console.log(`${BURST} messages sent and delivered in ${elapsed} ms; ${total.toFixed(0)} ms sampled. Self time:`);
    for (const [name, ms] of [...self].sort((x, y) => y[1] - x[1]).slice(0, 20)) {
      console.log(`${ms.toFixed(1).padStart(8)} ms  ${((ms / total) * 100).toFixed(1).padStart(5)} %  ${name}`);
    }
    mkdirSync('bench/results', { recursive: true });
    writeFileSync('bench/results/worker.cpuprofile', JSON.stringify(profile));
  }

  async function allocations(): Promise<void> {
    const list = Array.from({ length: 1_000 }, (_, i) => ({ from: 'extension:local/bench', to: `test:local/paced-${i % 8}`, body: `paced message ${i}` }));
    await paced(b, list, 200); // the paced path warm before it is sampled
    await send('HeapProfiler.enable');
    await send('HeapProfiler.collectGarbage');
    await send('HeapProfiler.startSampling', { samplingInterval: 1024, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
    const { endToEnd } = await paced(b, list, 200, { readBack: false });
    const { profile } = await send<{ profile: { head: HeapNode } }>('HeapProfiler.stopSampling');

    const self = new Map<string, number>();
    const visit = (node: HeapNode) => {
      const key = frameName(node.callFrame);
      self.set(key, (self.get(key) ?? 0) + node.selfSize);
      node.children.forEach(visit);
    };
    visit(profile.head);
    const total = [...self.values()].reduce((a, v) => a + v, 0);
    console.log(`1,000 messages at 200/s, p99 ${percentile(endToEnd, 99).toFixed(1)} ms; ${(total / 1e6).toFixed(1)} MB allocated in the worker's JS heap. By function:`);
    for (const [name, bytes] of [...self].sort((x, y) => y[1] - x[1]).slice(0, 30)) {
      console.log(`${(bytes / 1e3).toFixed(0).padStart(8)} kB  ${((bytes / total) * 100).toFixed(1).padStart(5)} %  ${name}`);
    }
    mkdirSync('bench/results', { recursive: true });
    writeFileSync('bench/results/worker.heapprofile', JSON.stringify(profile));
  }
} finally {
  await b.close();
}
