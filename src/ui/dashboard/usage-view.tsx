/**
 * Usage and cost of Claude Code (issue 7): the active 5-hour block — tokens, cost, burn rate,
 * projection, time to reset — where the person stands against their limits, and charts per block
 * and per day. The data is the native host's usage report; with none, the view says why.
 */
import { useMemo } from 'preact/hooks';
import { useHub } from '../shared/live';
import { Countdown } from '../shared/agent-state';
import { hub } from '../../client/hub-client';
import { dashboardHub } from './dashboard-hub';
import { deriveUsage, type UsageView as Usage } from './derive-usage';
import { formatPercent, formatTime, formatTokens, formatUsd } from './format';
import { UsageChart } from './usage-chart';

async function loadUsage() {
  const [answer, status] = await Promise.all([
    dashboardHub.usage().then(
      (usage) => ({ usage, error: undefined }),
      (error: Error) => ({ usage: null, error: error.message }),
    ),
    hub.hubStatus().catch(() => undefined),
  ]);
  return { ...answer, hostConnected: status?.nativeHost.connected ?? false };
}

function ActiveBlock({ view }: { view: Extract<Usage, { kind: 'report' }> }) {
  const { active } = view;
  if (!active) return <p class="muted">No 5-hour block is running: the next request to Claude starts one.</p>;
  return (
    <dl class="facts stat-grid">
      <dt>This block</dt>
      <dd>
        {formatTime(active.start)} – {new Date(active.end).toLocaleTimeString()} · <Countdown until={active.end} />
      </dd>
      <dt>Tokens</dt>
      <dd>{formatTokens(active.tokens)}</dd>
      <dt>Cost</dt>
      <dd>
        {formatUsd(active.costUsd)}
        {active.unpriced.length > 0 && ` or more (no price for ${active.unpriced.join(', ')})`}
      </dd>
      <dt>Burn rate</dt>
      <dd>{active.burn ?? 'unknown'}</dd>
      <dt>Last 10 minutes</dt>
      <dd>{active.recentBurn}</dd>
      <dt>Projection</dt>
      <dd>{active.projection ?? 'unknown'}</dd>
    </dl>
  );
}

function Limits({ view }: { view: Extract<Usage, { kind: 'report' }> }) {
  return (
    <table class="limits">
      <caption>Limits</caption>
      <thead>
        <tr>
          <th scope="col">Window</th>
          <th scope="col">Used</th>
          <th scope="col">Source</th>
          <th scope="col">Resets</th>
        </tr>
      </thead>
      <tbody>
        {view.limits.map((row) => (
          <tr key={row.window}>
            <th scope="row">{row.window}</th>
            <td>
              {row.usedPercentage !== null && (
                <meter min={0} max={100} low={70} high={90} optimum={0} value={Math.min(100, row.usedPercentage)} aria-label={`${row.window} window used: ${formatPercent(row.usedPercentage)}`} />
              )}{' '}
              {row.used}
            </td>
            <td>{row.source}</td>
            <td>{row.resetsAt !== null ? <Countdown until={row.resetsAt} /> : 'unknown'}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function UsageView() {
  const live = useHub(loadUsage, [], { tickMs: 5_000 });
  const at = live.data?.usage?.at;
  // A new report is a new view; the same one (re-read on the tick) keeps the charts as they are.
  const view = useMemo(
    () => (live.data ? deriveUsage({ report: live.data.usage?.report ?? null, error: live.data.error, hostConnected: live.data.hostConnected }) : undefined),
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [at, live.data?.error, live.data?.hostConnected, live.data === undefined],
  );

  return (
    <section class="view" aria-labelledby="usage-heading">
      <h2 id="usage-heading">Usage and cost</h2>
      {live.error && (
        <p role="alert" class="error">
          {live.error}
        </p>
      )}
      {!view && <p class="muted">Loading usage…</p>}
      {view?.kind === 'none' && <p class="empty">{view.reason}</p>}
      {view?.kind === 'report' && (
        <>
          {at && <p class="muted">Report from {formatTime(at)}. Costs are estimates from the price table.</p>}
          {view.problems.map((p) => (
            <p key={p} class="error">
              {p}
            </p>
          ))}
          <ActiveBlock view={view} />
          <Limits view={view} />
          <p class="muted">
            In all: {formatTokens(view.totals.tokens)} tokens, {formatUsd(view.totals.costUsd)} over {view.totals.blocks} block{view.totals.blocks === 1 ? '' : 's'}.
          </p>
          <div class="charts">
            <UsageChart id="chart-block-tokens" data={view.blocks} index={0} kind="bars" />
            <UsageChart id="chart-block-cost" data={view.blocks} index={1} kind="line" />
            <UsageChart id="chart-day-tokens" data={view.days} index={0} kind="bars" dayLabels />
            <UsageChart id="chart-day-cost" data={view.days} index={1} kind="line" dayLabels />
          </div>
        </>
      )}
    </section>
  );
}
