/** What the benchmarks share: how a burst, a paced stream and the raw reference are measured. */
import { execFileSync } from 'node:child_process';
import { cp, rm } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { launchExtension, type ExtensionBrowser } from '../test/support/extension-browser';

/** The machine a benchmark ran on, for its report. */
export function machineDescription(): string {
  const chromium = execFileSync(process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', ['--version']).toString().trim();
  return `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, ${chromium}, Node ${process.version}`;
}
import type { SendRequest } from '../src/protocol/envelope';
import { DB_NAME, SCHEMA_V3 } from '../src/storage/db';

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

/** Sends at a steady rate; returns each message's send → delivered latency in ms. */
export function paced(b: ExtensionBrowser, list: SendRequest[], ratePerSecond: number) {
  return b.page.evaluate(
    async ({ messages, rate }) => {
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
      // The bus's own view: from the committed 'queued' step to 'delivered', as recorded (ms resolution).
      const statuses = await Promise.all([...sentAt.keys()].map((id) => window.switchboard.status(id)));
      const inBus = statuses.map(({ deliveries: [d] }) => d.history.find((h) => h.state === 'delivered')!.at - d.history[0].at);
      // From the page's send() to the delivery the worker recorded: wall-clock times (ms) on one machine.
      const sendToDelivered = statuses.map(({ message, deliveries: [d] }) => d.history.find((h) => h.state === 'delivered')!.at - sentWall.get(message.id)!);
      return { endToEnd: [...sentAt].map(([id, t]) => deliveredAt.get(id)! - t), inBus, sendToDelivered };
    },
    { messages: list, rate: ratePerSecond },
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
 * hub's schema, in the same number of transactions, with strict durability. The records are read
 * in the worker by key range (the burst's ids are time-ordered), so a reference costs seconds even
 * beside 100,000 stored messages and can be taken right after each burst, under the same load.
 */
export async function rawReference(b: ExtensionBrowser, ids: string[], transactions: number) {
  const worker = await b.worker();
  const indexes = { messages: indexesOf(SCHEMA_V3.messages), deliveries: indexesOf(SCHEMA_V3.deliveries) };
  return worker.evaluate(
    async ({ ids, transactions, indexes, hubDb }) => {
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
          const tx = db.transaction(['messages', 'deliveries'], 'readwrite', { durability: 'strict' });
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
    { ids, transactions, indexes, hubDb: DB_NAME },
  );
}

export const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
};
export const median = (values: number[]) => percentile(values, 50);
export const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

