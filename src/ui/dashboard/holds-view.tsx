/**
 * Alerts, holds and recovery (issue 7): what is held, why and until when (a countdown), what each
 * strategy is doing, the history of every destination, the host's usage alerts and rate-limited
 * sessions; release a hold, or hold an agent by hand.
 */
import { useState } from 'preact/hooks';
import { useHub } from '../shared/live';
import { Countdown } from '../shared/agent-state';
import { hub } from '../../client/hub-client';
import { dashboardHub } from './dashboard-hub';
import { alertRows, holdRows, recoveredRows, STRATEGY_NAMES, type HistoryRow, type HoldRow } from './derive-holds';
import { formatTime } from './format';
import { HoldAgentForm } from './hold-form';

async function loadHolds() {
  const [destinations, usage, agents] = await Promise.all([
    hub.destinations(),
    dashboardHub.usage().catch(() => null),
    hub.agents().catch(() => []),
  ]);
  return { destinations, report: usage?.report ?? null, agents: agents.map((a) => a.address) };
}

function History({ rows, label }: { rows: HistoryRow[]; label: string }) {
  if (!rows.length) return <p class="muted">No history yet.</p>;
  return (
    <details>
      <summary>
        History of {label} ({rows.length})
      </summary>
      <table class="history">
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">What</th>
            <th scope="col">Note</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((h, i) => (
            <tr key={`${h.at}/${i}`}>
              <td>{h.when}</td>
              <td>{h.event}</td>
              <td>{h.note ?? ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </details>
  );
}

function HoldCard({ row, onRelease, busy }: { row: HoldRow; onRelease: () => void; busy: boolean }) {
  return (
    <li class="card hold">
      <div class="hold-head">
        <span class={`badge state-${row.status === 'held' ? 'held' : 'broken'}`}>{row.status}</span>
        <span class="mono">{row.address}</span>
      </div>
      <dl class="facts">
        <dt>Why</dt>
        <dd>{row.reason}</dd>
        {row.strategy && (
          <>
            <dt>Strategy</dt>
            <dd>{STRATEGY_NAMES[row.strategy]}</dd>
          </>
        )}
        <dt>Until</dt>
        <dd>
          {row.until !== undefined ? (
            <>
              {formatTime(row.until)} · <Countdown until={row.until} label={row.strategy === 'exponential_backoff' || row.status !== 'held' ? 'next probe in' : 'ends in'} />
            </>
          ) : (
            row.countdown
          )}
        </dd>
        <dt>Doing</dt>
        <dd>{row.doing}</dd>
        {row.since !== undefined && (
          <>
            <dt>Since</dt>
            <dd>{formatTime(row.since)}</dd>
          </>
        )}
      </dl>
      {row.status === 'held' && (
        <button type="button" disabled={busy} onClick={onRelease} aria-label={`Release ${row.address}`}>
          Release
        </button>
      )}
      <History rows={row.history} label={row.address} />
    </li>
  );
}

export function HoldsView() {
  const live = useHub(loadHolds, []);
  const [busy, setBusy] = useState<string>();
  const [error, setError] = useState<string>();
  const now = Date.now();
  const rows = holdRows(live.data?.destinations, now);
  const recovered = recoveredRows(live.data?.destinations);
  const alerts = alertRows(live.data?.report);
  const limited = ((live.data?.report as { rateLimited?: unknown } | null)?.rateLimited ?? []) as { sessionId: string; since: number; resetsAt: number | null; text: string }[];

  const release = async (address: string) => {
    setBusy(address);
    try {
      await hub.release(address);
      setError(undefined);
      live.reload();
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(undefined);
    }
  };

  return (
    <section class="view" aria-labelledby="holds-heading">
      <h2 id="holds-heading">Alerts, holds and recovery</h2>
      {(live.error || error) && (
        <p role="alert" class="error">
          {error ?? live.error}
        </p>
      )}
      <section aria-labelledby="held-heading">
        <h3 id="held-heading">Held and failing destinations</h3>
        {live.loading ? (
          <p class="muted">Loading…</p>
        ) : rows.length ? (
          <ul class="cards">
            {rows.map((row) => (
              <HoldCard key={row.address} row={row} busy={busy === row.address} onRelease={() => void release(row.address)} />
            ))}
          </ul>
        ) : (
          <p class="empty">Nothing is held and every destination is healthy.</p>
        )}
      </section>
      <section aria-labelledby="limited-heading">
        <h3 id="limited-heading">Rate-limited Claude Code sessions</h3>
        {Array.isArray(limited) && limited.length ? (
          <ul class="plain">
            {limited.map((s) => (
              <li key={s.sessionId}>
                <span class="mono">{s.sessionId}</span> since {formatTime(s.since)}: {s.text || 'rate limit'} ·{' '}
                {typeof s.resetsAt === 'number' ? <Countdown until={s.resetsAt} /> : 'reset time unknown'}
              </li>
            ))}
          </ul>
        ) : (
          <p class="muted">None{live.data?.report ? '' : ' (the native host reports these)'}.</p>
        )}
      </section>
      <section aria-labelledby="alerts-heading">
        <h3 id="alerts-heading">Usage alerts</h3>
        {alerts.length ? (
          <ul class="plain alerts">
            {alerts.map((a) => (
              <li key={a.key} class={`alert-${a.severity}`}>
                <span class={`badge ${a.severity === 'critical' ? 'state-failed' : a.severity === 'warning' ? 'state-queued' : 'state-sent'}`}>{a.severity}</span> {a.text}{' '}
                <span class="muted">
                  {a.when}
                  {a.current ? ' · this block' : ''}
                </span>
              </li>
            ))}
          </ul>
        ) : (
          <p class="muted">No alerts{live.data?.report ? '' : ' (the native host raises them from Claude Code usage)'}.</p>
        )}
      </section>
      <HoldAgentForm agents={live.data?.agents ?? []} onDone={live.reload} />
      {recovered.length > 0 && (
        <section aria-labelledby="recovered-heading">
          <h3 id="recovered-heading">Recovered</h3>
          <ul class="plain">
            {recovered.map((r) => (
              <li key={r.address}>
                <span class="mono">{r.address}</span>
                <History rows={r.history} label={r.address} />
              </li>
            ))}
          </ul>
        </section>
      )}
    </section>
  );
}
