// Scratch: CPU profile of the service worker during a burst. Not part of the benchmark.
import { writeFileSync } from 'node:fs';
import { launchExtension } from '../test/support/extension-browser';
const b = await launchExtension();
const cdp = await b.context.newCDPSession(b.page);
const { targetInfos } = (await cdp.send('Target.getTargets')) as any;
const sw = targetInfos.find((t: any) => t.type === 'service_worker');
const { sessionId } = (await cdp.send('Target.attachToTarget', { targetId: sw.targetId, flatten: false })) as any;
let id = 0;
const waiting = new Map<number, (v: any) => void>();
cdp.on('Target.receivedMessageFromTarget', (e: any) => { const m = JSON.parse(e.message); if (m.id && waiting.has(m.id)) { waiting.get(m.id)!(m.result ?? m.error); waiting.delete(m.id); } });
const send = (method: string, params: object = {}) => new Promise<any>((r) => { const i = ++id; waiting.set(i, r); void cdp.send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id: i, method, params }) }); });
await send('Profiler.enable');
await send('Profiler.setSamplingInterval', { interval: 100 });
const mk = (n: number, tag: string) => Array.from({ length: n }, (_, i) => ({ from: 'extension:local/x', to: `test:local/${tag}-${i % 8}`, body: `message ${i} ${'lorem ipsum '.repeat(8)}` }));
await b.page.evaluate((m) => Promise.all(m.map((x) => window.switchboard.send(x as never))), mk(1000, 'warm'));
await new Promise((r) => setTimeout(r, 1500));
await send('Profiler.start');
const t = Date.now();
await b.page.evaluate((m) => Promise.all(m.map((x) => window.switchboard.send(x as never))), mk(2000, 'burst'));
for (;;) { const s: any = await b.page.evaluate(() => window.switchboard.hubStatus()); if (s.deliveries.queued + s.deliveries.sent === 0) break; await new Promise((r) => setTimeout(r, 20)); }
console.log('burst ms', Date.now() - t);
const { profile } = await send('Profiler.stop');
writeFileSync('/tmp/sw.cpuprofile', JSON.stringify(profile));
// self time by function
const self = new Map<string, number>();
const dt = profile.timeDeltas as number[];
const byId = new Map(profile.nodes.map((n: any) => [n.id, n]));
profile.samples.forEach((sid: number, i: number) => { const n: any = byId.get(sid); const k = `${n.callFrame.functionName || '(anon)'} ${n.callFrame.url.split('/').pop()}:${n.callFrame.lineNumber}`; self.set(k, (self.get(k) ?? 0) + (dt[i] ?? 0)); });
const total = [...self.values()].reduce((a, b) => a + b, 0);
console.log('total sampled ms', (total / 1000).toFixed(0));
for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log((v / 1000).toFixed(1).padStart(7), k);
await b.close();
