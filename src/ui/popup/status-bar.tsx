/**
 * Status at a glance: is the hub running, is the native host installed and connected — and when it
 * is not, the one command that fixes it (issue 7).
 */
import type { HubStatus } from '../../protocol/runtime';
import { statusView } from './derive';
import { CopyCommand } from './copy-command';

export function StatusBar({ status, error, unread }: { status: HubStatus | undefined; error: string | undefined; unread: number | undefined }) {
  const view = statusView(status, error);
  const inFlight = status ? status.deliveries.queued + status.deliveries.sent : undefined;
  return (
    <section class="status-bar" aria-label="Status">
      <ul class="status-lines" aria-live="polite">
        <li class={`status-${view.hub}`}>
          <span aria-hidden="true">{view.hub === 'running' ? '●' : view.hub === 'starting' ? '◌' : '✕'}</span> {view.hubText}
          {inFlight !== undefined && inFlight > 0 && <span class="muted"> · {inFlight} in flight</span>}
          {unread !== undefined && unread > 0 && <span class="unread-total"> · {unread} unread</span>}
        </li>
        <li class={`status-host-${view.host}`}>
          <span aria-hidden="true">{view.host === 'connected' ? '●' : view.host === 'connecting' || view.host === 'unknown' ? '◌' : '✕'}</span> {view.hostText}
        </li>
      </ul>
      {/* Not installed: the onboarding card says how; here only what a broken link needs. */}
      {view.fix && view.host === 'disconnected' && (
        <div class="fix">
          <p>{view.fix.why}</p>
          <CopyCommand command={view.fix.command} label="the command that fixes the native host" />
        </div>
      )}
    </section>
  );
}
