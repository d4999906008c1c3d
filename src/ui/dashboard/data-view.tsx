/**
 * Export and clear (issue 7): messages (live and archived) and Claude Code events as JSON files,
 * and deleting them all — asked first, in a modal dialog.
 */
import { useState } from 'preact/hooks';
import { hub } from '../../client/hub-client';
import type { ArchivedMessage } from '../../bus/ports';
import { dashboardHub } from './dashboard-hub';
import { loadEvents } from './timeline-source';
import { ConfirmDialog } from './confirm-dialog';
import { downloadJson, exportName } from './download';
import { formatBytes } from './format';

/**
 * Every archived message, in pages. 'archive-export' pages by time (archivedAt at or after
 * `since`), and a sweep archives many messages in the same millisecond: pages overlap, so repeats
 * are dropped by id. A full page with nothing new means more than a page share one millisecond;
 * the export then says it is incomplete rather than loop.
 */
async function allArchived(): Promise<{ archived: ArchivedMessage[]; complete: boolean }> {
  const PAGE = 1_000;
  const byId = new Map<string, ArchivedMessage>();
  let since = 0;
  for (;;) {
    const page = await hub.exportArchive(since, PAGE);
    const before = byId.size;
    for (const entry of page) byId.set(entry.id, entry);
    if (page.length < PAGE) return { archived: [...byId.values()], complete: true };
    if (byId.size === before) return { archived: [...byId.values()], complete: false };
    since = page[page.length - 1].archivedAt;
  }
}

export async function exportMessages() {
  const [live, { archived, complete }] = await Promise.all([hub.list({ limit: 1_000 }), allArchived()]);
  return { exportedAt: new Date().toISOString(), messages: live, archived, ...(complete ? {} : { archiveIncomplete: true }) };
}

export async function exportEvents() {
  const [events, sessions] = await Promise.all([loadEvents(dashboardHub.events, [], 100_000), dashboardHub.sessions(1_000)]);
  return { exportedAt: new Date().toISOString(), sessions, events };
}

export function DataView() {
  const [status, setStatus] = useState<string>();
  const [error, setError] = useState<string>();
  const [asking, setAsking] = useState(false);
  const [busy, setBusy] = useState(false);

  const run = async (what: () => Promise<string>) => {
    setBusy(true);
    setError(undefined);
    try {
      setStatus(await what());
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };
  const exportAs = (name: string, load: () => Promise<unknown>, count: (data: never) => number) =>
    run(async () => {
      const data = await load();
      const size = downloadJson(exportName(name), data);
      return `Exported ${count(data as never)} ${name} (${formatBytes(size)}).`;
    });

  return (
    <section class="view" aria-labelledby="data-heading">
      <h2 id="data-heading">Export and clear</h2>
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      <p role="status" class="muted" id="data-status">
        {status}
      </p>
      <section class="card" aria-labelledby="export-heading">
        <h3 id="export-heading">Export as JSON</h3>
        <p class="muted">Messages with their delivery history (the newest 1,000 live ones and the whole archive), or every Claude Code event the hub keeps.</p>
        <div class="actions">
          <button
            type="button"
            disabled={busy}
            onClick={() => void exportAs('messages', exportMessages, (d: Awaited<ReturnType<typeof exportMessages>>) => d.messages.length + d.archived.length)}
          >
            Export messages
          </button>
          <button type="button" disabled={busy} onClick={() => void exportAs('events', exportEvents, (d: Awaited<ReturnType<typeof exportEvents>>) => d.events.length)}>
            Export events
          </button>
        </div>
      </section>
      <section class="card danger-zone" aria-labelledby="clear-heading">
        <h3 id="clear-heading">Clear data</h3>
        <p class="muted">Deletes every message, the archive, and every Claude Code event. Rules, holds and settings stay.</p>
        <button type="button" class="danger" disabled={busy} onClick={() => setAsking(true)}>
          Delete all messages and events…
        </button>
      </section>
      <ConfirmDialog
        id="clear-data"
        open={asking}
        title="Delete all messages and events?"
        confirm="Delete everything"
        onCancel={() => setAsking(false)}
        onConfirm={() => {
          setAsking(false);
          void run(async () => {
            await dashboardHub.clearData();
            return 'Deleted every message, the archive and every event.';
          });
        }}
      >
        <p>This deletes every message and its delivery history, the archive, and every Claude Code event. It cannot be undone; export first to keep a copy.</p>
      </ConfirmDialog>
    </section>
  );
}
