/**
 * The full-page dashboard (issue 7): a header with the hub's and the host's status, a navigation
 * of its views, and the chosen view. The view is in the URL's hash (`#messages`), so a view can be
 * linked to, reloaded and reached with Back; only the chosen view is mounted and loads data.
 */
import type { FunctionComponent } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { useHub } from '../shared/live';
import { hub } from '../../client/hub-client';
import { TimelineView } from './timeline-view';
import { UsageView } from './usage-view';
import { HoldsView } from './holds-view';
import { MessagesView } from './messages-view';
import { RulesView } from './rules-view';
import { SettingsView } from './settings-view';
import { DataView } from './data-view';

export const VIEWS: { id: string; title: string; view: FunctionComponent }[] = [
  { id: 'timeline', title: 'Timeline', view: TimelineView },
  { id: 'usage', title: 'Usage and cost', view: UsageView },
  { id: 'holds', title: 'Alerts and holds', view: HoldsView },
  { id: 'messages', title: 'Messages', view: MessagesView },
  { id: 'rules', title: 'Routing rules', view: RulesView },
  { id: 'settings', title: 'Settings', view: SettingsView },
  { id: 'data', title: 'Export and clear', view: DataView },
];

const viewFromHash = () => {
  const id = location.hash.slice(1);
  return VIEWS.some((v) => v.id === id) ? id : VIEWS[0].id;
};

function HubStatusLine() {
  const live = useHub(() => hub.hubStatus(), [], { tickMs: 5_000 });
  const host = live.data?.nativeHost;
  return (
    <p class="hub-status" aria-live="polite">
      {live.error ? (
        <span class="error">The hub does not answer: {live.error}</span>
      ) : !live.data ? (
        'Connecting to the hub…'
      ) : host?.connected ? (
        <>
          <span aria-hidden="true">● </span>Hub running · native host connected{host.host ? ` (${host.host.device}, ${host.host.version})` : ''}
        </>
      ) : (
        <>
          <span aria-hidden="true">○ </span>Hub running · native host not connected{host?.lastError ? `: ${host.lastError}` : ''} — install it with{' '}
          <code>switchboard host install</code>
        </>
      )}
    </p>
  );
}

export function Dashboard() {
  const [current, setCurrent] = useState(viewFromHash);
  const main = useRef<HTMLElement>(null);
  const first = useRef(true);
  useEffect(() => {
    const changed = () => setCurrent(viewFromHash());
    addEventListener('hashchange', changed);
    return () => removeEventListener('hashchange', changed);
  }, []);
  useEffect(() => {
    const title = VIEWS.find((v) => v.id === current)!.title;
    document.title = `${title} · Switchboard`;
    // After a choice in the navigation, the keyboard and screen reader go to the new view's content.
    if (first.current) first.current = false;
    else main.current?.focus();
  }, [current]);
  const View = VIEWS.find((v) => v.id === current)!.view;

  return (
    <div class="dashboard">
      <a class="skip-link" href="#content" onClick={(e) => (e.preventDefault(), main.current?.focus())}>
        Skip to the content
      </a>
      <header class="dashboard-header">
        <h1>Switchboard</h1>
        <HubStatusLine />
      </header>
      <nav class="dashboard-nav" aria-label="Dashboard views">
        <ul>
          {VIEWS.map((v) => (
            <li key={v.id}>
              <a href={`#${v.id}`} aria-current={v.id === current ? 'page' : undefined}>
                {v.title}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <main id="content" ref={main} tabIndex={-1}>
        <View key={current} />
      </main>
    </div>
  );
}
