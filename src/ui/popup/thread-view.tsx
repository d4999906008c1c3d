/**
 * One thread, oldest message first, each rendered as sanitised Markdown with its recipients' live
 * states; the popup's unread messages in it are acked once shown (issue 7: "opening a thread acks
 * them"). The Markdown renderer loads on first use, so the popup's first render does not wait for it.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { AgentSummary } from '../../hub/agents-view';
import { hub } from '../../client/hub-client';
import { useHub } from '../shared/live';
import { POPUP_ADDRESS, addressLabel, firstLine, formatAgo, threadMessages } from './derive';
import { RecipientRows } from './recipient-rows';

type MarkdownModule = typeof import('../shared/markdown');
let markdownModule: Promise<MarkdownModule> | undefined;

/** Markdown once its module has loaded; until then the same text, plain (never as HTML). */
function MessageText({ text }: { text: string }) {
  const [module, setModule] = useState<MarkdownModule>();
  useEffect(() => {
    let live = true;
    void (markdownModule ??= import('../shared/markdown')).then((m) => live && setModule(m));
    return () => void (live = false);
  }, []);
  return module ? <module.Markdown text={text} /> : <div class="markdown plain">{text}</div>;
}

export function ThreadView({ threadId, agents, progress, now, onBack }: { threadId: string; agents: AgentSummary[] | undefined; progress: ReadonlyMap<string, string>; now: number; onBack: () => void }) {
  const thread = useHub(() => hub.list({ threadId, limit: 200 }), [threadId], { tickMs: 5_000 });
  const { entries, toAck } = threadMessages(thread.data ?? []);
  const acked = useRef(new Set<string>());
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => heading.current?.focus(), []);

  // Shown, so read: ack each unread message to the popup once.
  useEffect(() => {
    for (const id of toAck) {
      if (acked.current.has(id)) continue;
      acked.current.add(id);
      hub.ack(id, POPUP_ADDRESS).catch(() => acked.current.delete(id));
    }
  }, [toAck.join()]);

  const subject = entries[0] ? firstLine(entries[0].message.body.text) : 'Thread';
  return (
    <section class="thread-view" aria-labelledby="thread-heading">
      <div class="view-head">
        <button type="button" class="small back" onClick={onBack}>
          ← Back
        </button>
        <h2 id="thread-heading" tabIndex={-1} ref={heading}>
          {subject}
        </h2>
      </div>
      {thread.error && (
        <p role="alert" class="error">
          {thread.error}
        </p>
      )}
      {thread.loading && <p class="muted">Loading…</p>}
      <ol class="thread-messages">
        {entries.map((entry) => {
          const { message } = entry;
          return (
            <li key={message.id} data-message-id={message.id}>
              <article class={message.from === POPUP_ADDRESS ? 'message mine' : 'message'} aria-label={`From ${addressLabel(message.from, agents)}`}>
                <header class="message-head muted">
                  <span title={message.from}>{addressLabel(message.from, agents)}</span> →{' '}
                  <span title={message.to.join(', ')}>{message.to.map((a) => addressLabel(a, agents)).join(', ')}</span>
                  <span class="message-time">
                    {message.kind} · {formatAgo(message.createdAt, now)}
                  </span>
                </header>
                {message.body.text && <MessageText text={message.body.text} />}
                {message.body.code?.map((block, i) => (
                  <pre key={i} class="code">
                    <code class={block.language ? `language-${block.language}` : undefined}>{block.code}</code>
                  </pre>
                ))}
                {message.body.attachments && message.body.attachments.length > 0 && (
                  <p class="muted">Attachments: {message.body.attachments.map((a) => `${a.name} (${a.size} bytes)`).join(', ')}</p>
                )}
                <RecipientRows entry={entry} progress={progress} agents={agents} />
              </article>
            </li>
          );
        })}
      </ol>
    </section>
  );
}
