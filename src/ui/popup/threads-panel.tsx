/**
 * Inbox and threads (issue 7): the most recent conversations between agents, newest first, each
 * with who is in it and how many of its messages to the popup are unread; opening one shows it.
 */
import type { AgentSummary } from '../../hub/agents-view';
import { addressLabel, formatAgo, type ThreadSummary } from './derive';

export function ThreadsPanel({ threads, loading, agents, now, onOpen }: { threads: ThreadSummary[] | undefined; loading: boolean; agents: AgentSummary[] | undefined; now: number; onOpen: (threadId: string) => void }) {
  return (
    <section class="threads" aria-labelledby="threads-heading" aria-busy={loading}>
      <h2 id="threads-heading">Threads</h2>
      {loading && !threads ? (
        <p class="muted">Loading threads…</p>
      ) : !threads || threads.length === 0 ? (
        <p class="muted">No messages yet.</p>
      ) : (
        <ul class="thread-list">
          {threads.map((thread) => {
            const who = thread.participants.map((a) => addressLabel(a, agents)).join(', ');
            return (
              <li key={thread.threadId}>
                <button
                  type="button"
                  class={thread.unread ? 'thread unread' : 'thread'}
                  data-thread-id={thread.threadId}
                  onClick={() => onOpen(thread.threadId)}
                >
                  <span class="thread-line">
                    <span class="thread-subject">{thread.subject}</span>
                    {thread.unread > 0 && <span class="unread-count">{thread.unread} unread</span>}
                  </span>
                  <span class="thread-meta muted">
                    <span class="thread-who">
                      <span class="visually-hidden">with </span>
                      {who}
                    </span>
                    <span>
                      {thread.count > 1 ? `${thread.count} messages · ` : ''}
                      {formatAgo(thread.last.createdAt, now)}
                    </span>
                  </span>
                </button>
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}
