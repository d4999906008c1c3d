/**
 * Each recipient of a message with its delivery state as it changes — queued → sent → delivered →
 * acked, or failed/expired with why — the agent's progress while it answers, and Retry (failed,
 * expired) or Cancel (unfinished) (issue 7).
 */
import { useState } from 'preact/hooks';
import type { StoredEntry } from '../../bus/ports';
import type { AgentSummary } from '../../hub/agents-view';
import { hub } from '../../client/hub-client';
import { addressLabel, recipientRows, type RecipientAction } from './derive';

const ACTION_LABELS: Record<RecipientAction, string> = { retry: 'Retry', cancel: 'Cancel' };

export function RecipientRows({ entry, progress, agents }: { entry: StoredEntry; progress: ReadonlyMap<string, string>; agents?: AgentSummary[] }) {
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState<string>();
  const rows = recipientRows(entry, progress);
  if (rows.length === 0) return null;

  const act = async (action: RecipientAction, recipient: string) => {
    setBusy(recipient);
    setError(undefined);
    try {
      if (action === 'retry') await hub.retry(entry.message.id, recipient);
      else await hub.cancel(entry.message.id, recipient);
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(undefined);
    }
  };

  return (
    <div class="recipients">
      <ul aria-label="Recipients" aria-live="polite" aria-relevant="text">
        {rows.map((row) => {
          const name = addressLabel(row.recipient, agents);
          return (
            <li key={row.recipient} class="recipient" data-recipient={row.recipient} data-state={row.state}>
              <span class="recipient-name" title={row.recipient}>
                {name}
              </span>
              <span class={`badge state-${row.state}`}>{row.state}</span>
              {row.note && <span class="recipient-note muted">{row.note}</span>}
              {row.actions.map((action) => (
                <button
                  key={action}
                  type="button"
                  class="small"
                  disabled={busy === row.recipient}
                  onClick={() => void act(action, row.recipient)}
                  aria-label={`${ACTION_LABELS[action]} the delivery to ${name}`}
                >
                  {ACTION_LABELS[action]}
                </button>
              ))}
            </li>
          );
        })}
      </ul>
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
    </div>
  );
}
