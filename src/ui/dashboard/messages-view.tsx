/**
 * The message log (issue 7): full-text search, filters by agent, thread, delivery state and kind,
 * and a message's detail with its delivery history. Live: results load again on hub changes.
 */
import { useState } from 'preact/hooks';
import { useHub } from '../shared/live';
import { hub } from '../../client/hub-client';
import { DELIVERY_STATES } from '../../bus/delivery';
import { MESSAGE_KINDS } from '../../protocol/envelope';
import { cleanMessageFilters, filterEntries, messageRows, type MessageFilters } from './derive-messages';
import { FormError, SelectField, TextField, withAll } from './field';
import { MessageDetail } from './message-detail';

const LIMIT = 200;

function loadMessages(filters: MessageFilters) {
  const { query, agent, threadId, state } = filters;
  const found = query ? hub.search(query, LIMIT) : hub.list({ limit: LIMIT, ...(agent ? { agent } : {}), ...(threadId ? { threadId } : {}), ...(state ? { state } : {}) });
  return found.then((entries) => filterEntries(entries, filters));
}

type Form = Record<'query' | 'agent' | 'threadId' | 'state' | 'kind', string>;
const EMPTY: Form = { query: '', agent: '', threadId: '', state: '', kind: '' };

export function MessagesView() {
  const [form, setForm] = useState<Form>(EMPTY);
  const [filters, setFilters] = useState<MessageFilters>({});
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [open, setOpen] = useState<string>();
  const live = useHub(() => loadMessages(filters), [JSON.stringify(filters)], { tickMs: 0 });
  const agents = useHub(() => hub.agents().then((list) => list.map((a) => a.address)), [], { tickMs: 10_000 });
  const rows = messageRows(live.data ?? []);
  const set = (key: keyof Form) => (value: string) => setForm((f) => ({ ...f, [key]: value }));

  const apply = (next: Form) => {
    const { filters: clean, errors: found } = cleanMessageFilters(next);
    setErrors(found);
    if (!Object.keys(found).length) setFilters(clean);
  };

  return (
    <section class="view" aria-labelledby="messages-heading">
      <h2 id="messages-heading">Messages</h2>
      <form
        class="filters"
        role="search"
        aria-label="Search messages"
        onSubmit={(e) => {
          e.preventDefault();
          apply(form);
        }}
      >
        <TextField id="message-query" type="search" label="Search text" value={form.query} onInput={set('query')} error={errors.query} size={28} />
        <datalist id="message-agents">
          {(agents.data ?? []).map((a) => (
            <option key={a} value={a} />
          ))}
        </datalist>
        <TextField id="message-agent" label="Agent" value={form.agent} onInput={set('agent')} list="message-agents" error={errors.agent} />
        <TextField id="message-thread" label="Thread" value={form.threadId} onInput={set('threadId')} error={errors.threadId} />
        <SelectField id="message-state" label="State" value={form.state} onChange={(v) => apply({ ...form, state: v })} options={withAll(DELIVERY_STATES)} error={errors.state} />
        <SelectField id="message-kind" label="Kind" value={form.kind} onChange={(v) => apply({ ...form, kind: v })} options={withAll(MESSAGE_KINDS)} error={errors.kind} />
        <div class="actions">
          <button type="submit" class="primary">
            Search
          </button>
          <button type="button" onClick={() => (setForm(EMPTY), apply(EMPTY))}>
            Clear
          </button>
        </div>
      </form>
      <FormError error={live.error} />
      <p class="muted" role="status">
        {live.loading ? 'Loading…' : `${rows.length} message${rows.length === 1 ? '' : 's'}${rows.length >= LIMIT ? ` (the newest ${LIMIT})` : ''}`}
      </p>
      <div class="messages-body">
        <ol class="message-list" aria-label="Messages, newest first">
          {rows.map((row) => (
            <li key={row.id} class={row.id === open ? 'selected' : undefined} data-message-id={row.id}>
              <button type="button" class="message-open" aria-pressed={row.id === open} onClick={() => setOpen(row.id)}>
                <span class="summary">{row.summary}</span>
                <span class="meta">
                  {row.when} · {row.kind} · <span class="mono">{row.from}</span> → <span class="mono">{row.to}</span>
                </span>
              </button>
              <span class="states">
                {row.states.map((s) => (
                  <span key={s.recipient} class={`badge state-${s.state}`} title={s.recipient}>
                    <span class="visually-hidden">{s.recipient}: </span>
                    {s.state}
                  </span>
                ))}
              </span>
            </li>
          ))}
        </ol>
        {open && <MessageDetail id={open} onClose={() => setOpen(undefined)} />}
      </div>
    </section>
  );
}
