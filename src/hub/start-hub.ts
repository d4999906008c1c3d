/**
 * The hub in the service worker: opens the store, counts the start, restarts the bus where the last
 * worker left off, and answers the extension's own pages. Listeners are registered synchronously
 * on every start, as MV3 requires for the events that wake a stopped worker.
 */
import { browser, type Browser } from 'wxt/browser';
import { Bus } from '../bus/bus';
import type { StoredEntry } from '../bus/ports';
import { ValidationError, parseOrThrow } from '../protocol/envelope';
import { CHANGES_PORT, REQUESTS_PORT, HubRequest, type HubResponse, type HubStatus } from '../protocol/runtime';
import { DB_NAME, SINK_DB_NAME, SwitchboardDb, TestSinkDb } from '../storage/db';
import { DexieBusStore } from '../storage/bus-store';
import { countWorkerStart } from '../storage/meta';
import { TestSinkAdapter } from '../adapters/test-sink';
import { ExtensionInboxAdapter } from '../adapters/extension-inbox';
import { DexieDirectory } from '../storage/directory';
import { NativeHostAdapter } from '../adapters/native-host';
import { alarmBackstop, DUE_ALARM } from './alarm-backstop';
import { channelOf, serveChanges, serveChannel, serveRequests } from './page-ports';
import { HostUnavailableError, NativeLink } from './native-link';
import { EVENTS_DB_NAME, EventsDb } from '../storage/events-db';
import { DEFAULT_EVENT_RETENTION_MS, HookEventStore } from '../adapters/claude-code/event-store';
import { DirectoryFeed } from './directory-feed';
import { agentsView } from './agents-view';
import { holdFor, replacesHold, resumeRequest } from '../adapters/claude-code/rate-limits';
import type { HoldRequest } from '../bus/destinations';
import { ClaudeTabs, CLAUDE_ORIGIN } from '../adapters/claude-ai/tabs';
import { CLAUDE_TAB_PORT, RECONNECT_REQUEST } from '../protocol/claude-tab';

export const SWEEP_ALARM = 'switchboard/sweep';

const systemClock = {
  now: () => Date.now(),
  setTimer: (callback: () => void, delayMs: number) => setTimeout(callback, delayMs),
  clearTimer: (handle: unknown) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** Starts the hub; resolves with the running bus (callers in the worker need not wait for it). */
export function startHub({ dbName = DB_NAME, sinkDbName = SINK_DB_NAME, eventsDbName = EVENTS_DB_NAME } = {}): Promise<Bus> {
  const startedAt = Date.now();
  const ready = boot(new SwitchboardDb(dbName), new TestSinkDb(sinkDbName), new EventsDb(eventsDbName));
  ready.catch((error) => console.error('Switchboard hub failed to start', error));
  /** A request from one of the extension's pages, however it came (one call, the port, the channel). */
  const answerPage = (request: unknown) => ready.then((hub) => answer(hub, request, startedAt));

  browser.runtime.onMessage.addListener((request: unknown, sender: Browser.runtime.MessageSender) => {
    if (!isOwnPage(sender)) return undefined;
    return answerPage(request);
  });

  browser.runtime.onConnect.addListener((port) => {
    if (port.name === CLAUDE_TAB_PORT && isClaudeTab(port.sender)) {
      serveClaudeTab(ready.then(({ claudeTabs }) => claudeTabs), port);
      return;
    }
    if (!isOwnPage(port.sender)) return;
    if (port.name === CHANGES_PORT) serveChanges(port, ready.then(({ bus }) => bus));
    else if (port.name === REQUESTS_PORT) serveRequests(port, answerPage);
  });
  // A page's channel (CHANNEL_HELLO): only a page of this extension can post to its service worker.
  const worker = (globalThis as { ServiceWorkerGlobalScope?: abstract new () => unknown }).ServiceWorkerGlobalScope;
  if (worker && globalThis instanceof worker) {
    globalThis.addEventListener('message', (event: MessageEvent) => {
      const channel = channelOf(event, globalThis.location.origin);
      if (channel) serveChannel(channel, answerPage);
    });
  }

  browser.alarms.onAlarm.addListener((alarm) => {
    if (alarm.name === DUE_ALARM) void ready.then(({ bus }) => bus.kick());
    if (alarm.name === SWEEP_ALARM) {
      void ready.then(({ bus, hookEvents }) => Promise.all([bus.sweep(), hookEvents.prune(Date.now() - DEFAULT_EVENT_RETENTION_MS)]));
    }
  });
  // On first install, show the extension's page: Chromium blocks extension pages given as startup
  // URLs on its command line, and a person who loaded it by hand wants to see that it runs.
  browser.runtime.onInstalled.addListener(({ reason }) => {
    if (reason === 'install') void browser.tabs.create({ url: browser.runtime.getURL('/diagnostics.html') });
  });
  // Waking for any reason runs the "what is due" query in boot(); onStartup only has to wake us.
  browser.runtime.onStartup.addListener(() => void ready.then(({ bus }) => bus.kick()));
  return ready.then(({ bus }) => bus);
}

async function boot(db: SwitchboardDb, sinkDb: TestSinkDb, eventsDb: EventsDb) {
  const workerStarts = await countWorkerStart(db);
  const directory = new DexieDirectory(db);
  let usage: UsageSnapshot | undefined;
  const lastUsage = async (): Promise<UsageSnapshot | null> =>
    usage ?? ((await browser.storage.local.get(USAGE_KEY))[USAGE_KEY] as UsageSnapshot | undefined) ?? null;
  const hookEvents = new HookEventStore(eventsDb, () => native.status().host?.device ?? 'local');
  const native = new NativeLink({
    connect: (name) => browser.runtime.connectNative(name),
    lastError: () => browser.runtime.lastError?.message,
    sink: {
      send: (message) => bus.send(message),
      ack: (messageId, recipient) => bus.ack(messageId, recipient),
      noteAgent: (address) => directory.noteAgent(address),
      confirmDelivered: (messageId, recipient) => bus.confirmDelivered(messageId, recipient),
      hookEvent: async (event) => {
        const session = await hookEvents.record(event);
        if (!session) return; // a resent event
        // A new session is an agent: broadcast reaches it, and the popup can address it.
        if (session.events === 1) await directory.noteAgent(session.address);
        const hold = holdFor(event, session.address);
        if (hold) await holdAgent(hold, `hook event ${event.id}`);
        feed.changed();
      },
      hold: async (request) => {
        await holdAgent(request, 'the native host');
        feed.changed();
      },
      usage: (snapshot) => {
        usage = snapshot;
        // Kept for the dashboard while the host is away; a snapshot, so a lost write costs nothing.
        void browser.storage.local.set({ [USAGE_KEY]: snapshot }).catch(() => {});
      },
      reachable: () => {
        void bus.reachable(bus.destinations().map((d) => d.address).filter((a) => a.startsWith('api:') || a.startsWith('claude-code:')));
        // The host has just connected: it knows nothing of the hub's agents and holds yet.
        void feed.connected();
      },
    },
    log: console.warn,
  });
  /**
   * A rate-limit hold, from a hook event or the host (a transcript line, a full status line); a pause
   * that still runs is not replaced by a backoff. A Claude Code session that a new limit interrupted
   * also gets a message to carry on, first in its held queue: the hold's probe, which wakes it when
   * the limit has passed. One per limit, not one per report of it: a hold already there has its own.
   */
  const holdAgent = async (request: HoldRequest, cause: string) => {
    const current = bus.destinations().find((d) => d.address === request.address)?.hold;
    if (replacesHold(current, request, systemClock.now())) await bus.hold(request);
    if (!current && request.address.startsWith('claude-code:')) await bus.send(resumeRequest(request.address, cause));
  };
  const claudeTabs: ClaudeTabs = new ClaudeTabs({
    send: (request) => bus.send(request),
    ack: (messageId, recipient) => bus.ack(messageId, recipient),
    hold: (request) => bus.hold(request),
    release: (address) => bus.release(address),
    destinations: () => bus.destinations(),
    reachable: (addresses) => bus.reachable(addresses),
    progress: (change) => bus.progress(change),
    noteAgent: (address) => directory.noteAgent(address),
    openTab: async (url) => {
      const tab = await browser.tabs.create({ url, active: false });
      if (tab.id === undefined) throw new Error(`could not open ${url}`);
      return tab.id;
    },
    aliases: {
      load: async () => ((await browser.storage.local.get(CLAUDE_ALIASES))[CLAUDE_ALIASES] as Record<string, string> | undefined) ?? {},
      save: (aliases) => browser.storage.local.set({ [CLAUDE_ALIASES]: aliases }),
    },
    now: Date.now,
    log: console.warn,
  });
  const bus: Bus = new Bus({
    store: new DexieBusStore(db),
    clock: systemClock,
    directory,
    adapters: [
      new ExtensionInboxAdapter(),
      new TestSinkAdapter(sinkDb, (messageId, recipient) => bus.ack(messageId, recipient)),
      new NativeHostAdapter(native),
      new NativeHostAdapter(native, 'claude-code'),
      claudeTabs,
    ],
    onNextDue: alarmBackstop(),
  });
  /** What the hub knows of agents: the host's directory feed and the pages' `agents` list read the same. */
  const known = {
    agents: () => db.agents.limit(5_000).toArray(),
    sessions: () => hookEvents.sessions(1_000),
    destinations: () => bus.destinations(),
  };
  const feed = new DirectoryFeed(
    { ...known, now: Date.now },
    { publish: (frame) => native.publish(frame), log: console.warn },
  );
  await bus.start();
  native.start();
  feed.start();
  // claude.ai tabs opened before this worker started: their content scripts connect when asked.
  void askClaudeTabsToConnect();
  // Retention: archive what has run out now, and every hour while the browser runs.
  void bus.sweep().catch((error) => console.error('Switchboard: sweep failed', error));
  void browser.alarms.get(SWEEP_ALARM).then(async (alarm) => {
    if (!alarm) await browser.alarms.create(SWEEP_ALARM, { periodInMinutes: 60 });
  });
  return { bus, directory, workerStarts, native, hookEvents, claudeTabs, feed, lastUsage, known };
}

const CLAUDE_ALIASES = 'claude-ai/aliases';
const USAGE_KEY = 'usage/latest';

/** The native host's latest usage report (Claude Code tokens, cost, limits) and when it was made. */
export interface UsageSnapshot {
  at: number;
  report: Record<string, unknown>;
}

/** A content script of this extension in a claude.ai tab. */
function isClaudeTab(sender: Browser.runtime.MessageSender | undefined): boolean {
  return sender?.id === browser.runtime.id && sender.tab?.id !== undefined && (sender.url?.startsWith(`${CLAUDE_ORIGIN}/`) ?? false);
}

/**
 * A claude.ai tab's port. Its listeners are added at once: a tab that reconnects to wake a stopped
 * worker says what it has (a finished answer) in its first messages, before the hub is ready.
 */
function serveClaudeTab(tabs: Promise<ClaudeTabs>, port: Browser.runtime.Port): void {
  const tabId = port.sender!.tab!.id!;
  const link = tabs.then((t) => t.connect(tabId, { postMessage: (command) => port.postMessage(command) }));
  port.onMessage.addListener((report: unknown) => void link.then((l) => l.report(report)));
  port.onDisconnect.addListener(() => void link.then((l) => l.disconnected()));
}

async function askClaudeTabsToConnect(): Promise<void> {
  try {
    for (const tab of await browser.tabs.query({ url: `${CLAUDE_ORIGIN}/*` })) {
      if (tab.id !== undefined) void browser.tabs.sendMessage(tab.id, { type: RECONNECT_REQUEST }).catch(() => {});
    }
  } catch (error) {
    console.warn('Switchboard: could not look for claude.ai tabs', error);
  }
}

type Hub = Awaited<ReturnType<typeof boot>>;

/** Lists carry attachments by name, type and size; `status` has their data. Keeps a list's answer small. */
function withoutAttachmentData(entry: StoredEntry): StoredEntry {
  const attachments = entry.message.body.attachments;
  if (!attachments?.length) return entry;
  const body = { ...entry.message.body, attachments: attachments.map((a) => ({ ...a, data: '' })) };
  return { ...entry, message: { ...entry.message, body } };
}

/** Only the extension's own pages talk to the hub this way; content scripts get their own channel. */
function isOwnPage(sender: Browser.runtime.MessageSender | undefined): boolean {
  return sender?.id === browser.runtime.id && (sender.url?.startsWith(browser.runtime.getURL('/')) ?? false);
}

async function answer(hub: Hub, input: unknown, startedAt: number): Promise<HubResponse> {
  try {
    return { ok: true, result: await dispatch(hub, parseOrThrow(HubRequest, input, 'request'), startedAt) };
  } catch (error) {
    if (!(error instanceof ValidationError) && !(error instanceof HostUnavailableError)) console.error('Switchboard request failed', error);
    return { ok: false, error: error instanceof Error ? error.message : String(error) };
  }
}

/** What a request asks for; throws (with a message for the page) when it cannot be done. */
async function dispatch({ bus, directory, workerStarts, native, hookEvents, claudeTabs, feed, lastUsage, known }: Hub, request: HubRequest, startedAt: number): Promise<unknown> {
  switch (request.type) {
    case 'send': {
      const receipt = await bus.send(request.message);
      // The sender is valid now: remember it, so broadcast reaches it.
      await directory.noteAgent((request.message as { from: string }).from);
      return receipt;
    }
    case 'status': {
      const status = await bus.status(request.id);
      if (!status) throw new Error(`no message ${request.id}`);
      return status;
    }
    case 'list': {
      const { type: _, ...query } = request;
      return (await bus.list(query)).map(withoutAttachmentData);
    }
    case 'ack':
      return bus.ack(request.id, request.recipient);
    case 'hub-status':
      return {
        extensionId: browser.runtime.id,
        workerStarts,
        startedAt,
        deliveries: await bus.counts(),
        bus: { ...bus.metrics },
        nativeHost: native.status(),
      } satisfies HubStatus;
    case 'subscribe':
      await directory.subscribe(request.agent, request.topic);
      return { topics: await directory.topicsOf(request.agent) };
    case 'unsubscribe':
      await directory.unsubscribe(request.agent, request.topic);
      return { topics: await directory.topicsOf(request.agent) };
    case 'search':
      return (await bus.search(request.query, request.limit)).map(withoutAttachmentData);
    case 'rules':
      return bus.listRules();
    case 'rule-put':
      return bus.putRule(request.rule);
    case 'rule-delete':
      await bus.deleteRule(request.id);
      return bus.listRules();
    case 'rules-reorder':
      return bus.reorderRules(request.ids);
    case 'destinations':
      return bus.destinations();
    case 'hold':
      return bus.hold(request.hold);
    case 'release':
      return bus.release(request.address);
    case 'retention':
      return bus.retention();
    case 'retention-put':
      return bus.configureRetention(request.settings);
    case 'archive-export':
      return bus.exportArchive(request.since, request.limit);
    case 'sweep':
      return bus.sweep();
    case 'sessions':
      return hookEvents.sessions(request.limit);
    case 'session-events':
      return hookEvents.events(request.sessionId, request.limit);
    case 'claude-tabs':
      return claudeTabs.agents();
    case 'cancel':
      return bus.cancel(request.id, request.recipient);
    case 'retry':
      return bus.tryAgain(request.id, request.recipient);
    case 'events':
      return hookEvents.recent(request.limit, request.before);
    case 'clear-data':
      await Promise.all([bus.clearMessages(), hookEvents.clear()]);
      feed.changed();
      return { cleared: true };
    case 'usage':
      return lastUsage();
    case 'settings':
      return native.settings();
    case 'settings-put': {
      const { type: _, ...change } = request;
      return native.settings(change);
    }
    case 'agents':
      return agentsView(
        { agents: await known.agents(), claudeTabs: claudeTabs.agents(), sessions: await known.sessions(), destinations: known.destinations() },
        Date.now(),
      );
  }
}
