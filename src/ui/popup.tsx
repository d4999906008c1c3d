/**
 * The popup, first cut: hub status, a compose form, and recent messages with each recipient's
 * live delivery state. Agents' text is rendered as text by Preact, never as HTML.
 */
import { useEffect, useState } from 'preact/hooks';
import { hub } from '../client/hub-client';
import { PRIORITIES, type Priority } from '../protocol/envelope';
import type { StoredEntry } from '../bus/ports';
import type { HubStatus } from '../protocol/runtime';

export const POPUP_ADDRESS = 'extension:local/popup';

export function Popup() {
  const [status, setStatus] = useState<HubStatus>();
  const [recent, setRecent] = useState<StoredEntry[]>([]);
  const [error, setError] = useState<string>();

  useEffect(() => {
    const controller = new AbortController();
    const refresh = () =>
      Promise.all([hub.hubStatus(), hub.list({ limit: 20 })])
        .then(([s, r]) => (setStatus(s), setRecent(r), setError(undefined)))
        .catch((e: Error) => setError(e.message));
    void refresh();
    let pending: ReturnType<typeof setTimeout> | undefined;
    hub.watch(() => (pending ??= setTimeout(() => ((pending = undefined), void refresh()), 100)), controller.signal);
    return () => controller.abort();
  }, []);

  return (
    <main class="popup">
      <header>
        <h1>Switchboard</h1>
        {status && (
          <p class="status" aria-live="polite">
            Hub running · {status.deliveries.queued + status.deliveries.sent} in flight · {status.deliveries.acked + status.deliveries.delivered} delivered ·{' '}
            {status.deliveries.failed + status.deliveries.expired} failed
          </p>
        )}
      </header>
      {error && <p role="alert" class="error">{error}</p>}
      <Compose onError={setError} />
      <section aria-labelledby="recent-heading">
        <h2 id="recent-heading">Recent messages</h2>
        {recent.length === 0 ? (
          <p class="empty">No messages yet.</p>
        ) : (
          <ul class="messages">
            {recent.map(({ message, deliveries }) => (
              <li key={message.id}>
                <div class="meta">
                  {message.from} → {message.to.join(', ')}
                </div>
                <div class="text">{message.body.text}</div>
                <ul class="deliveries">
                  {deliveries.map((d) => (
                    <li key={d.recipient} class={`state-${d.state}`} title={d.lastError}>
                      {d.recipient}: {d.state}
                    </li>
                  ))}
                </ul>
              </li>
            ))}
          </ul>
        )}
      </section>
    </main>
  );
}

function Compose({ onError }: { onError: (message: string | undefined) => void }) {
  const [to, setTo] = useState('test:local/inbox');
  const [text, setText] = useState('');
  const [priority, setPriority] = useState<Priority>('normal');
  const [ackRequired, setAckRequired] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    try {
      const recipients = to.split(',').map((a) => a.trim()).filter(Boolean);
      await hub.send({ from: POPUP_ADDRESS, to: recipients, body: text, priority, ackRequired });
      setText('');
      onError(undefined);
    } catch (e) {
      onError((e as Error).message);
    }
  };

  return (
    <form class="compose" onSubmit={submit}>
      <label>
        To <input value={to} onInput={(e) => setTo(e.currentTarget.value)} required />
      </label>
      <label>
        Message <textarea value={text} onInput={(e) => setText(e.currentTarget.value)} rows={3} required />
      </label>
      <div class="row">
        <label>
          Priority{' '}
          <select value={priority} onChange={(e) => setPriority(e.currentTarget.value as Priority)}>
            {PRIORITIES.map((p) => (
              <option key={p} value={p}>
                {p}
              </option>
            ))}
          </select>
        </label>
        <label>
          <input type="checkbox" checked={ackRequired} onChange={(e) => setAckRequired(e.currentTarget.checked)} /> Ask for an ack
        </label>
        <button type="submit">Send</button>
      </div>
    </form>
  );
}
