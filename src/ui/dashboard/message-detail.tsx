/**
 * One message: its envelope, its text as sanitised Markdown (src/ui/shared/markdown.tsx), code and
 * attachments, and every step of every delivery (from 'status'), live.
 */
import { useHub } from '../shared/live';
import { Markdown } from '../shared/markdown';
import { hub } from '../../client/hub-client';
import { deliveryHistory } from './derive-messages';
import { formatBytes, formatTime } from './format';

export function MessageDetail({ id, onClose }: { id: string; onClose: () => void }) {
  const live = useHub(() => hub.status(id), [id]);
  const status = live.data;
  const message = status?.message;
  const steps = deliveryHistory(status);
  return (
    <section class="message-detail card" aria-labelledby="message-detail-heading">
      <div class="detail-head">
        <h3 id="message-detail-heading">Message</h3>
        <button type="button" onClick={onClose}>
          Close
        </button>
      </div>
      {live.error && (
        <p role="alert" class="error">
          {live.error}
        </p>
      )}
      {!message && !live.error && <p class="muted">Loading…</p>}
      {message && (
        <>
          <dl class="facts">
            <dt>From</dt>
            <dd class="mono">{message.from}</dd>
            <dt>To</dt>
            <dd class="mono">{message.to.join(', ')}</dd>
            <dt>Kind</dt>
            <dd>{message.kind}</dd>
            <dt>Priority · TTL</dt>
            <dd>
              {message.priority} · {message.ttl}
            </dd>
            <dt>Thread</dt>
            <dd class="mono">{message.threadId}</dd>
            <dt>Created</dt>
            <dd>{formatTime(message.createdAt)}</dd>
            <dt>Id</dt>
            <dd class="mono">{message.id}</dd>
          </dl>
          <div class="message-body" data-testid="message-body">
            <Markdown text={message.body.text} />
          </div>
          {message.body.code?.map((block, i) => (
            <pre key={i} class="code" tabIndex={0} aria-label={`Code block ${i + 1}${block.language ? ` (${block.language})` : ''}`}>
              <code>{block.code}</code>
            </pre>
          ))}
          {message.body.attachments?.length ? (
            <ul class="plain" aria-label="Attachments">
              {message.body.attachments.map((a) => (
                <li key={a.name}>
                  {a.name} ({a.mimeType}, {formatBytes(a.size)})
                </li>
              ))}
            </ul>
          ) : null}
          <table class="history">
            <caption>Delivery history</caption>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Recipient</th>
                <th scope="col">State</th>
                <th scope="col">Note</th>
              </tr>
            </thead>
            <tbody>
              {steps.map((s) => (
                <tr key={s.key}>
                  <td>{s.when}</td>
                  <td class="mono">{s.recipient}</td>
                  <td>
                    <span class={`badge state-${s.state}`}>{s.state}</span>
                  </td>
                  <td>{s.note ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}
