/**
 * The popup (issue 7): status at a glance, onboarding for what is missing, every agent with its live
 * state, recent threads with unread counts, a thread's messages, and compose with each recipient's
 * state after sending. The shell renders at once; each view asks the hub only for what it shows
 * (20 threads from the newest 100 messages, never the whole store), and stays live (shared/live.ts).
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { browser } from 'wxt/browser';
import { hub } from '../../client/hub-client';
import { useNow } from '../shared/agent-state';
import { useHub, useHubChanges } from '../shared/live';
import { AgentsPanel } from './agents-panel';
import { ComposePanel } from './compose-panel';
import { POPUP_ADDRESS, groupThreads, onboardingSteps, progressKey, unreadDeliveries } from './derive';
import { Onboarding } from './onboarding';
import { StatusBar } from './status-bar';
import { ThreadView } from './thread-view';
import { ThreadsPanel } from './threads-panel';

export { POPUP_ADDRESS } from './derive';

/** Messages read to find the recent threads: enough for 20 threads, small enough to be quick. */
const RECENT_MESSAGES = 100;
const THREADS_SHOWN = 20;
/**
 * The popup's own newest messages (sent or received) in which unread ones are counted. Asking the
 * hub for 'delivered' deliveries instead reads every finished delivery's key: ~75 ms at 10,000
 * stored against ~10 ms for this (BENCHMARKS.md, "The popup").
 */
const UNREAD_LOOKED_AT = 100;

type View = { name: 'home' } | { name: 'compose'; to?: string } | { name: 'thread'; threadId: string };

/** The control that opened a view, found again when the person comes back (keyboard users keep their place). */
function opener(view: View): string {
  if (view.name === 'thread') return `button.thread[data-thread-id="${CSS.escape(view.threadId)}"]`;
  if (view.name === 'compose' && view.to) return `li.agent[data-address="${CSS.escape(view.to)}"] button`;
  return 'button.new-message';
}

export function Popup() {
  const [view, setViewState] = useState<View>({ name: 'home' });
  const home = view.name === 'home';
  const returnTo = useRef<string>();
  const setView = (next: View) => {
    if (next.name === 'home') returnTo.current = opener(view);
    setViewState(next);
  };
  useEffect(() => {
    if (!home || !returnTo.current) return;
    document.querySelector<HTMLElement>(returnTo.current)?.focus();
    returnTo.current = undefined;
  }, [home]);
  const now = useNow();

  const status = useHub(() => hub.hubStatus(), []);
  const tabs = useHub(() => hub.claudeTabs(), [], { enabled: home });
  const agents = useHub(() => hub.agents(), []);
  const recent = useHub(() => hub.list({ limit: RECENT_MESSAGES }), [], { enabled: home, tickMs: 5_000 });
  const unread = useHub(() => hub.list({ agent: POPUP_ADDRESS, limit: UNREAD_LOOKED_AT }), [], { tickMs: 5_000 });

  // What agents report while they work (an answer being written) is not stored: keep the latest here.
  const [progress, setProgress] = useState<ReadonlyMap<string, string>>(new Map());
  useHubChanges((changes) =>
    setProgress((before) => {
      const next = new Map(before);
      for (const change of changes) {
        const key = progressKey(change.messageId, change.recipient);
        if (change.progress && change.note) next.set(key, change.note);
        else next.delete(key);
      }
      return next;
    }),
  );

  const unreadCount = unread.data ? unreadDeliveries(unread.data).length : undefined;
  const threads = recent.data ? groupThreads(recent.data, unread.data ?? [], THREADS_SHOWN) : undefined;

  // Interactive: the status, the agents and the threads have answered (bench/popup.bench.ts).
  const ready = Boolean(status.data && agents.data && recent.data && unread.data);
  useEffect(() => {
    if (ready && !performance.getEntriesByName('popup-interactive').length) performance.mark('popup-interactive');
  }, [ready]);

  return (
    <main class="popup" data-view={view.name} data-ready={ready || undefined}>
      <header class="popup-head">
        <h1>Switchboard</h1>
        <StatusBar status={status.data} error={status.error} unread={unreadCount} />
      </header>
      {view.name === 'home' && (
        <>
          <Onboarding steps={onboardingSteps(status.data, tabs.data)} />
          <div class="toolbar">
            <button type="button" class="primary new-message" onClick={() => setView({ name: 'compose' })}>
              New message
            </button>
            {/* The full page: timeline, usage, holds, the message log, editors. */}
            <a class="open-dashboard" href={browser.runtime.getURL('/dashboard.html')} target="_blank" rel="noopener">
              Open the dashboard
            </a>
          </div>
          <AgentsPanel agents={agents.data} loading={agents.loading} now={now} onMessage={(to) => setView({ name: 'compose', to })} />
          <ThreadsPanel threads={threads} loading={recent.loading} agents={agents.data} now={now} onOpen={(threadId) => setView({ name: 'thread', threadId })} />
        </>
      )}
      {view.name === 'compose' && <ComposePanel agents={agents.data} initialTo={view.to} progress={progress} onBack={() => setView({ name: 'home' })} />}
      {view.name === 'thread' && (
        <ThreadView threadId={view.threadId} agents={agents.data} progress={progress} now={now} onBack={() => setView({ name: 'home' })} />
      )}
    </main>
  );
}
