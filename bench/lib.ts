/** What the benchmarks share: how a burst, a paced stream and the raw reference are measured. */
import { execFileSync } from 'node:child_process';
import { cp, readFile, readdir, rm } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import type { CDPSession } from 'playwright-core';
import { launchExtension, type ExtensionBrowser } from '../test/support/extension-browser';

/** The machine a benchmark ran on, for its report. */
export function machineDescription(): string {
  const chromium = execFileSync(process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', ['--version']).toString().trim();
  return `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, ${chromium}, Node ${process.version}`;
}
import type { SendRequest } from '../src/protocol/envelope';
import { COMMIT_DURABILITY, DB_NAME, SCHEMA_V3 } from '../src/storage/db';

/**
 * A new profile holding a copy of a filled template's IndexedDB store. The profile itself is made
 * by launching the current build once: a copied whole profile keeps Chromium's cached background
 * script of the build that made it (an unpacked extension whose version did not change is not
 * re-read), and one whose cache is deleted registers its worker again, which at times left the hub
 * unanswering. Only the store is copied.
 */
export async function profileWithStore(template: string): Promise<string> {
  const fresh = await launchExtension();
  await fresh.hubStatus();
  await fresh.close({ keepProfile: true });
  const stores = join(fresh.profileDir, 'Default', 'IndexedDB');
  await rm(stores, { recursive: true, force: true });
  await cp(join(template, 'Default', 'IndexedDB'), stores, { recursive: true });
  return fresh.profileDir;
}

/** CPU time (ms) used so far by every process of this browser: the ones started with its profile. */
async function browserCpuMs(profileDir: string): Promise<number> {
  let ticks = 0;
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8');
      if (!cmdline.includes(profileDir)) continue;
      const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1].split(' ');
      ticks += Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15 of stat)
    } catch {
      // the process ended while being read
    }
  }
  return ticks * 10; // USER_HZ is 100 on Linux
}

/**
 * Waits until the browser has been idle for `quietMs` (under 5 % of one core): the store's
 * background work (LevelDB writing out and compacting what was just stored, the hub's indexing)
 * is done. Returns how long that took; gives up after `maxMs` and says so.
 */
export async function settle(b: ExtensionBrowser, quietMs = 3_000, maxMs = 300_000): Promise<number> {
  const start = Date.now();
  const window: { at: number; cpu: number }[] = [];
  for (;;) {
    window.push({ at: Date.now(), cpu: await browserCpuMs(b.profileDir) });
    while (window.length > 1 && window[window.length - 1].at - window[1].at >= quietMs) window.shift();
    const first = window[0];
    const last = window[window.length - 1];
    if (last.at - first.at >= quietMs && last.cpu - first.cpu < (last.at - first.at) * 0.05) return Date.now() - start;
    if (Date.now() - start > maxMs) {
      console.warn(`the browser was still busy after ${maxMs} ms; measuring anyway`);
      return Date.now() - start;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

export type Transport = 'client' | 'sendMessage';

/** Sends all at once; times acceptance and delivery as seen by the page. */
export function burst(b: ExtensionBrowser, list: SendRequest[], transport: Transport) {
  return b.page.evaluate(async ({ messages, transport }) => {
    const send = (message: unknown) =>
      transport === 'client'
        ? window.switchboard.send(message as never)
        : chrome.runtime.sendMessage({ type: 'send', message }).then((r: { result: { id: string } }) => r.result);
    const delivered = new Map<string, number>();
    const port = chrome.runtime.connect({ name: 'switchboard/changes' });
    let expected = new Set<string>();
    let resolveDone!: () => void;
    const done = new Promise<void>((r) => (resolveDone = r));
    port.onMessage.addListener((m: { changes: { messageId: string; state: string }[] }) => {
      const now = performance.now();
      for (const c of m.changes) if (c.state === 'delivered' && !delivered.has(c.messageId)) delivered.set(c.messageId, now);
      if (expected.size && [...expected].every((id) => delivered.has(id))) resolveDone();
    });
    await new Promise((r) => setTimeout(r, 50));
    const start = performance.now();
    const results = await Promise.all(messages.map(send));
    const accepted = performance.now();
    expected = new Set(results.map((r) => r.id));
    if ([...expected].every((id) => delivered.has(id))) resolveDone();
    await done;
    port.disconnect();
    const last = Math.max(...[...expected].map((id) => delivered.get(id)!));
    return { acceptMs: accepted - start, deliverMs: last - start, ids: [...expected] };
  }, { messages: list, transport });
}

/**
 * Sends at a steady rate; returns each message's send → delivered latency in ms. With
 * `readBack: false` it does not read the messages' statuses afterwards (inBus and sendToDelivered
 * are empty), so the worker does nothing but the stream while it runs.
 */
export function paced(b: ExtensionBrowser, list: SendRequest[], ratePerSecond: number, { readBack = true } = {}) {
  return b.page.evaluate(
    async ({ messages, rate, readBack }) => {
      const send = (message: unknown) => window.switchboard.send(message as never);
      const sentAt = new Map<string, number>();
      const sentWall = new Map<string, number>();
      const deliveredAt = new Map<string, number>();
      const port = chrome.runtime.connect({ name: 'switchboard/changes' });
      port.onMessage.addListener((m: { changes: { messageId: string; state: string }[] }) => {
        const now = performance.now();
        for (const c of m.changes) if (c.state === 'delivered' && !deliveredAt.has(c.messageId)) deliveredAt.set(c.messageId, now);
      });
      await new Promise((r) => setTimeout(r, 50));
      const start = performance.now();
      const pending: Promise<void>[] = [];
      for (let i = 0; i < messages.length; i++) {
        const due = start + (i * 1000) / rate;
        const wait = due - performance.now();
        if (wait > 1) await new Promise((r) => setTimeout(r, wait));
        const t = performance.now();
        const wall = Date.now();
        pending.push(send(messages[i]).then((r) => void (sentAt.set(r.id, t), sentWall.set(r.id, wall))));
      }
      await Promise.all(pending);
      while ([...sentAt.keys()].some((id) => !deliveredAt.has(id))) await new Promise((r) => setTimeout(r, 20));
      port.disconnect();
      const endToEnd = [...sentAt].map(([id, t]) => deliveredAt.get(id)! - t);
      if (!readBack) return { endToEnd, inBus: [], sendToDelivered: [] };
      // The bus's own view: from the committed 'queued' step to 'delivered', as recorded (ms resolution).
      const statuses = await Promise.all([...sentAt.keys()].map((id) => window.switchboard.status(id)));
      const inBus = statuses.map(({ deliveries: [d] }) => d.history.find((h) => h.state === 'delivered')!.at - d.history[0].at);
      // From the page's send() to the delivery the worker recorded: wall-clock times (ms) on one machine.
      const sendToDelivered = statuses.map(({ message, deliveries: [d] }) => d.history.find((h) => h.state === 'delivered')!.at - sentWall.get(message.id)!);
      return { endToEnd, inBus, sendToDelivered };
    },
    { messages: list, rate: ratePerSecond, readBack },
  );
}

/** A Dexie store schema ('key, index, *multi, [a+b]') as IndexedDB index definitions. */
function indexesOf(schema: string): { name: string; keyPath: string | string[]; multiEntry: boolean }[] {
  return schema
    .split(',')
    .slice(1)
    .map((part) => part.trim())
    .map((part) => {
      const multiEntry = part.startsWith('*');
      const name = part.replace(/^[*&]/, '');
      const keyPath = name.startsWith('[') ? name.slice(1, -1).split('+') : name;
      return { name, keyPath, multiEntry };
    });
}

/**
 * Raw IndexedDB in the service worker: the same records, into stores with the same indexes as the
 * hub's schema, in the same number of transactions, with the hub's durability. The records are read
 * in the worker by key range (the burst's ids are time-ordered), so a reference costs seconds even
 * beside 100,000 stored messages and can be taken right after each burst, under the same load.
 */
export async function rawReference(b: ExtensionBrowser, ids: string[], transactions: number) {
  const worker = await b.worker();
  const indexes = { messages: indexesOf(SCHEMA_V3.messages), deliveries: indexesOf(SCHEMA_V3.deliveries) };
  return worker.evaluate(
    async ({ ids, transactions, indexes, hubDb, durability }) => {
      const request = <T>(r: IDBRequest<T>) =>
        new Promise<T>((resolve, reject) => {
          r.onsuccess = () => resolve(r.result);
          r.onerror = () => reject(r.error);
        });
      const sorted = [...ids].sort();
      const idSet = new Set(ids);
      const hub = await request(indexedDB.open(hubDb));
      const read = hub.transaction(['messages', 'deliveries'], 'readonly');
      const [storedMessages, storedDeliveries] = await Promise.all([
        request(read.objectStore('messages').getAll(IDBKeyRange.bound(sorted[0], sorted.at(-1)))),
        request(read.objectStore('deliveries').getAll(IDBKeyRange.bound([sorted[0], ''], [sorted.at(-1), '\uffff']))),
      ]);
      hub.close();
      const messages = (storedMessages as { id: string }[]).filter((m) => idSet.has(m.id));
      const deliveries = (storedDeliveries as { messageId: string }[]).filter((d) => idSet.has(d.messageId));

      const name = `bench-raw-${Date.now()}`;
      const open = indexedDB.open(name, 1);
      open.onupgradeneeded = () => {
        const m = open.result.createObjectStore('messages', { keyPath: 'id' });
        for (const i of indexes.messages) m.createIndex(i.name, i.keyPath, { multiEntry: i.multiEntry });
        const d = open.result.createObjectStore('deliveries', { keyPath: ['messageId', 'recipient'] });
        for (const i of indexes.deliveries) d.createIndex(i.name, i.keyPath, { multiEntry: i.multiEntry });
      };
      const db = await request(open);
      const perTx = Math.ceil(messages.length / transactions);
      const start = performance.now();
      for (let i = 0; i < messages.length; i += perTx) {
        await new Promise<void>((resolve, reject) => {
          const tx = db.transaction(['messages', 'deliveries'], 'readwrite', { durability });
          for (const m of messages.slice(i, i + perTx)) tx.objectStore('messages').add(m);
          for (const d of deliveries.slice(i, i + perTx)) tx.objectStore('deliveries').add(d);
          tx.oncomplete = () => resolve();
          tx.onerror = () => reject(tx.error);
        });
      }
      const ms = performance.now() - start;
      db.close();
      indexedDB.deleteDatabase(name);
      return { ms, perTx, messages: messages.length, deliveries: deliveries.length };
    },
    { ids, transactions, indexes, hubDb: DB_NAME, durability: COMMIT_DURABILITY },
  );
}

/**
 * The paced stream's reference: raw IndexedDB in the service worker doing, per message, the commits
 * a delivery through the test adapter needs, in the same order and one after another: the message
 * and its delivery record (as the bus accepts it), the receiver's receipt and effect (in a database
 * of its own), then the delivery record again, marked delivered. The records are copies of the last
 * message and delivery the hub stored, under new ids, into stores with the hub's indexes, beside the
 * hub's own databases (so under the same LevelDB and its compactions), with the hub's durability, at
 * the same offered rate. Returns each message's latency from its first request to its last commit.
 */
export async function rawPaced(
  b: ExtensionBrowser,
  count: number,
  rate: number,
  /** per commit: the accept, the receiver's, the outcome */
  durability: IDBTransactionDurability[] = [COMMIT_DURABILITY, COMMIT_DURABILITY, COMMIT_DURABILITY],
): Promise<number[]> {
  const worker = await b.worker();
  const indexes = { messages: indexesOf(SCHEMA_V3.messages), deliveries: indexesOf(SCHEMA_V3.deliveries) };
  return worker.evaluate(
    async ({ count, rate, indexes, hubDb, durability }) => {
      const request = <T>(r: IDBRequest<T>) =>
        new Promise<T>((resolve, reject) => {
          r.onsuccess = () => resolve(r.result);
          r.onerror = () => reject(r.error);
        });
      const committed = (tx: IDBTransaction) =>
        new Promise<void>((resolve, reject) => {
          tx.oncomplete = () => resolve();
          tx.onerror = () => reject(tx.error);
          tx.onabort = () => reject(tx.error);
        });
      const hub = await request(indexedDB.open(hubDb));
      const read = hub.transaction(['messages', 'deliveries'], 'readonly');
      const lastMessage = await request(read.objectStore('messages').openCursor(null, 'prev'));
      const message = lastMessage!.value as { id: string };
      const deliveryCursor = await request(read.objectStore('deliveries').openCursor(IDBKeyRange.bound([message.id, ''], [message.id, '\uffff'])));
      const delivery = deliveryCursor!.value as { messageId: string; recipient: string; state: string; history: { state: string; at: number }[] };
      hub.close();

      const stamp = Date.now();
      const open = (name: string, upgrade: (db: IDBDatabase) => void) => {
        const req = indexedDB.open(name, 1);
        req.onupgradeneeded = () => upgrade(req.result);
        return request(req);
      };
      const db = await open(`bench-raw-paced-${stamp}`, (d) => {
        const m = d.createObjectStore('messages', { keyPath: 'id' });
        for (const i of indexes.messages) m.createIndex(i.name, i.keyPath, { multiEntry: i.multiEntry });
        const s = d.createObjectStore('deliveries', { keyPath: ['messageId', 'recipient'] });
        for (const i of indexes.deliveries) s.createIndex(i.name, i.keyPath, { multiEntry: i.multiEntry });
      });
      const sink = await open(`bench-raw-sink-${stamp}`, (d) => {
        d.createObjectStore('receipts', { keyPath: ['recipient', 'messageId'] });
        d.createObjectStore('effects', { keyPath: 'seq', autoIncrement: true }).createIndex('messageId', 'messageId');
      });
      const one = async (i: number): Promise<number> => {
        const start = performance.now();
        const id = `${message.id}-raw-${String(i).padStart(5, '0')}`;
        const queued = { ...delivery, messageId: id, state: 'queued', history: [{ state: 'queued', at: Date.now() }] };
        const accept = db.transaction(['messages', 'deliveries'], 'readwrite', { durability: durability[0] });
        accept.objectStore('messages').add({ ...message, id });
        accept.objectStore('deliveries').put(queued);
        await committed(accept);
        const receive = sink.transaction(['receipts', 'effects'], 'readwrite', { durability: durability[1] });
        receive.objectStore('receipts').add({ recipient: delivery.recipient, messageId: id, at: Date.now(), duplicates: 0 });
        receive.objectStore('effects').add({ recipient: delivery.recipient, messageId: id, attempt: 1, at: Date.now() });
        await committed(receive);
        const outcome = db.transaction('deliveries', 'readwrite', { durability: durability[2] });
        outcome.objectStore('deliveries').put({ ...queued, state: 'delivered', history: [...queued.history, { state: 'delivered', at: Date.now() }] });
        await committed(outcome);
        return performance.now() - start;
      };
      const begin = performance.now();
      const pending: Promise<number>[] = [];
      for (let i = 0; i < count; i++) {
        const wait = begin + (i * 1000) / rate - performance.now();
        if (wait > 1) await new Promise((r) => setTimeout(r, wait));
        pending.push(one(i));
      }
      const latencies = await Promise.all(pending);
      db.close();
      sink.close();
      indexedDB.deleteDatabase(`bench-raw-paced-${stamp}`);
      indexedDB.deleteDatabase(`bench-raw-sink-${stamp}`);
      return latencies;
    },
    { count, rate, indexes, hubDb: DB_NAME, durability },
  );
}

export const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
};
export const median = (values: number[]) => percentile(values, 50);
export const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** Ends the trace started on `cdp` (Tracing.start with transferMode ReturnAsStream) and returns its JSON text. */
export async function endTrace(cdp: CDPSession): Promise<string> {
  const stream = await new Promise<string>((resolve) => {
    cdp.once('Tracing.tracingComplete', (event: { stream?: string }) => resolve(event.stream!));
    void cdp.send('Tracing.end');
  });
  let text = '';
  for (;;) {
    const chunk = (await cdp.send('IO.read', { handle: stream, size: 1 << 20 })) as { data: string; eof: boolean; base64Encoded?: boolean };
    text += chunk.base64Encoded ? Buffer.from(chunk.data, 'base64').toString() : chunk.data;
    if (chunk.eof) break;
  }
  await cdp.send('IO.close', { handle: stream });
  return text;
}
