/**
 * Diagnostics: the hub's own view of itself (worker starts, deliveries by state), read on demand
 * only, so opening it adds no load — the end-to-end tests and the benchmark drive the hub from here.
 */
import { useEffect, useState } from 'preact/hooks';
import { hub } from '../client/hub-client';
import type { HubStatus } from '../protocol/runtime';

export function Diagnostics() {
  const [status, setStatus] = useState<HubStatus>();
  const [error, setError] = useState<string>();
  const refresh = () => hub.hubStatus().then(setStatus, (e: Error) => setError(e.message));
  useEffect(() => void refresh(), []);
  return (
    <main style={{ font: '14px system-ui, sans-serif', padding: '16px' }}>
      <h1>Switchboard diagnostics</h1>
      <p>
        <a href="/dashboard.html">Open the dashboard</a>: sessions, usage, holds, messages and rules.
      </p>
      {error && <p role="alert">{error}</p>}
      {status && (
        <dl>
          <dt>Extension id</dt>
          <dd>{status.extensionId}</dd>
          <dt>Service worker starts</dt>
          <dd>{status.workerStarts}</dd>
          <dt>Started</dt>
          <dd>{new Date(status.startedAt).toLocaleString()}</dd>
          {Object.entries(status.deliveries).map(([state, count]) => (
            <>
              <dt>Deliveries {state}</dt>
              <dd>{count}</dd>
            </>
          ))}
        </dl>
      )}
      <button type="button" onClick={() => void refresh()}>
        Refresh
      </button>
    </main>
  );
}
