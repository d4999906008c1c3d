/**
 * A real Chromium with the built extension loaded (ARCHITECTURE.md, "Browser"): Debian's chromium,
 * driven by playwright-core, headless, on a profile of its own that can be closed and reopened.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type BrowserContext, type Page, type Worker } from 'playwright-core';
import type { HubRequest, HubResponse, HubStatus } from '../../src/protocol/runtime';
import { DB_NAME, SINK_DB_NAME } from '../../src/storage/db';

export const EXTENSION_DIR = resolve(import.meta.dirname, '../../.output/chrome-mv3');
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export interface ExtensionBrowser {
  context: BrowserContext;
  extensionId: string;
  profileDir: string;
  /** an extension page (diagnostics) to talk to the hub from */
  page: Page;
  worker(): Promise<Worker>;
  request<T>(request: HubRequest): Promise<T>;
  hubStatus(): Promise<HubStatus>;
  /** Stops the service worker the way Chrome does when it is idle (CDP ServiceWorker.stopAllWorkers). */
  stopWorker(): Promise<void>;
  /** Reads a whole object store straight from IndexedDB, bypassing the hub; the test sink's stores are in its own database. */
  readStore<T>(store: string): Promise<T[]>;
  close(options?: { keepProfile?: boolean }): Promise<void>;
}

/**
 * `env`: added to Chromium's environment, which the native host it launches inherits.
 * `args`: appended to Chromium's arguments (e.g. `claudeSiteArgs(site)` from test/support/claude-site/server.ts).
 */
export async function launchExtension(options: { profileDir?: string; env?: Record<string, string>; args?: string[] } = {}): Promise<ExtensionBrowser> {
  const profileDir = options.profileDir ?? (await mkdtemp(join(tmpdir(), 'switchboard-profile-')));
  const context = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    ...(options.env ? { env: { ...process.env, ...options.env } as Record<string, string> } : {}),
    args: [
      `--disable-extensions-except=${EXTENSION_DIR}`,
      `--load-extension=${EXTENSION_DIR}`,
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      ...(options.args ?? []),
    ],
  });
  const worker = async () => context.serviceWorkers()[0] ?? (await context.waitForEvent('serviceworker'));
  const extensionId = new URL((await worker()).url()).host;
  const page = await context.newPage();
  await page.goto(`chrome-extension://${extensionId}/diagnostics.html`);

  const request = async <T>(req: HubRequest): Promise<T> => {
    const response = (await page.evaluate((r) => chrome.runtime.sendMessage(r), req)) as HubResponse<T>;
    if (!response.ok) throw new Error(response.error);
    return response.result;
  };

  return {
    context,
    extensionId,
    profileDir,
    page,
    worker,
    request,
    hubStatus: () => request<HubStatus>({ type: 'hub-status' }),
    async stopWorker() {
      const cdp = await context.newCDPSession(page);
      await cdp.send('ServiceWorker.enable');
      await cdp.send('ServiceWorker.stopAllWorkers');
      await cdp.detach();
    },
    readStore: <T>(store: string) =>
      page.evaluate(
        async ({ name, database }) => {
          // Never create the database by looking: one the hub has not made yet holds nothing.
          if (!(await indexedDB.databases()).some((d) => d.name === database)) return [] as T[];
          return new Promise<T[]>((resolve, reject) => {
            const open = indexedDB.open(database);
            open.onerror = () => reject(open.error);
            open.onsuccess = () => {
              const db = open.result;
              try {
                if (!db.objectStoreNames.contains(name)) return db.close(), resolve([]);
                const all = db.transaction(name, 'readonly').objectStore(name).getAll();
                all.onsuccess = () => (db.close(), resolve(all.result as T[]));
                all.onerror = () => (db.close(), reject(all.error));
              } catch (error) {
                db.close();
                reject(error);
              }
            };
          });
        },
        { name: store, database: store.startsWith('sink') ? SINK_DB_NAME : DB_NAME },
      ),
    async close({ keepProfile = false } = {}) {
      await context.close();
      if (!keepProfile) await rm(profileDir, { recursive: true, force: true });
    },
  };
}

export async function waitFor<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 60_000, what = 'condition'): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; last value: ${JSON.stringify(value).slice(0, 500)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
