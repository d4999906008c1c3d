/**
 * Compose and route (issue 7): to agents ticked from the list (or addresses typed in), a topic, or
 * everyone; Markdown text; priority and TTL; "send the answer to" for "ask A, send the answer to B";
 * then each recipient's state live below, with Retry and Cancel.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { AgentSummary } from '../../hub/agents-view';
import { hub } from '../../client/hub-client';
import { PRIORITIES, TTL_POLICIES, type Priority, type TtlPolicy } from '../../protocol/envelope';
import { StateBadge } from '../shared/agent-state';
import { useHub } from '../shared/live';
import {
  EMPTY_FORM,
  POPUP_ADDRESS,
  PRIORITY_LABELS,
  TTL_LABELS,
  addressableAgents,
  firstLine,
  groupAgents,
  sendRequestOf,
  type ComposeForm,
  type ComposeMode,
} from './derive';
import { RecipientRows } from './recipient-rows';

/** How many of the popup's own sent messages are followed below the form. */
const SENT_SHOWN = 5;

export function ComposePanel({ agents, initialTo, progress, onBack }: { agents: AgentSummary[] | undefined; initialTo?: string; progress: ReadonlyMap<string, string>; onBack: () => void }) {
  const [form, setForm] = useState<ComposeForm>(() => ({ ...EMPTY_FORM, agents: initialTo ? [initialTo] : [] }));
  const [error, setError] = useState<string>();
  const [notice, setNotice] = useState<string>();
  const [sending, setSending] = useState(false);
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => heading.current?.focus(), []);

  const sent = useHub(async () => (await hub.list({ agent: POPUP_ADDRESS, limit: 20 })).filter((e) => e.message.from === POPUP_ADDRESS).slice(0, SENT_SHOWN), [], { tickMs: 5_000 });
  const choices = addressableAgents(agents ?? []);
  const set = <K extends keyof ComposeForm>(key: K, value: ComposeForm[K]) => setForm((f) => ({ ...f, [key]: value }));
  const toggle = (address: string, on: boolean) => setForm((f) => ({ ...f, agents: on ? [...f.agents, address] : f.agents.filter((a) => a !== address) }));

  const submit = async (event: Event) => {
    event.preventDefault();
    const built = sendRequestOf(form);
    if (!built.ok) return setError(built.error), setNotice(undefined);
    // The button stays enabled (a disabled button drops keyboard focus); a second submit waits.
    if (sending) return;
    setSending(true);
    try {
      const receipt = await hub.send(built.request);
      setForm((f) => ({ ...f, text: '' }));
      setError(undefined);
      setNotice(`Sent to ${receipt.recipients.length} recipient${receipt.recipients.length === 1 ? '' : 's'}.`);
      sent.reload();
    } catch (e) {
      setError((e as Error).message);
      setNotice(undefined);
    } finally {
      setSending(false);
    }
  };

  return (
    <section class="compose-view" aria-labelledby="compose-heading">
      <div class="view-head">
        <button type="button" class="small back" onClick={onBack}>
          ← Back
        </button>
        <h2 id="compose-heading" tabIndex={-1} ref={heading}>
          New message
        </h2>
      </div>
      <form class="compose" onSubmit={submit} noValidate>
        <fieldset class="modes">
          <legend>Send to</legend>
          {(['agents', 'topic', 'broadcast'] as ComposeMode[]).map((mode) => (
            <label key={mode}>
              <input type="radio" name="mode" value={mode} checked={form.mode === mode} onChange={() => set('mode', mode)} />{' '}
              {mode === 'agents' ? 'Agents' : mode === 'topic' ? 'A topic' : 'Everyone'}
            </label>
          ))}
        </fieldset>

        {form.mode === 'agents' && (
          <fieldset class="pick-agents">
            <legend>Agents</legend>
            {choices.length === 0 && <p class="muted">No agents listed yet: type an address below.</p>}
            {groupAgents(choices).map((group) => (
              <div key={group.kind} role="group" aria-label={group.label} class="pick-group">
                <div class="pick-group-label" aria-hidden="true">
                  {group.label}
                </div>
                {group.agents.map((agent) => (
                  <label key={agent.address} class="pick">
                    <input type="checkbox" value={agent.address} checked={form.agents.includes(agent.address)} onChange={(e) => toggle(agent.address, e.currentTarget.checked)} />
                    <span class="pick-title" title={agent.address}>
                      {agent.title}
                    </span>
                    <StateBadge state={agent.state} detail={agent.detail} />
                  </label>
                ))}
              </div>
            ))}
            <label class="field">
              <span class="label-text">
                Other addresses <span class="muted">(optional, comma-separated)</span>
              </span>
              <input type="text" value={form.otherAddresses} placeholder="kind:device/instance" onInput={(e) => set('otherAddresses', e.currentTarget.value)} />
            </label>
          </fieldset>
        )}
        {form.mode === 'topic' && (
          <label class="field">
            Topic
            <input type="text" value={form.topic} placeholder="builds" onInput={(e) => set('topic', e.currentTarget.value)} />
          </label>
        )}
        {form.mode === 'broadcast' && <p class="muted">Every agent the hub knows gets it.</p>}

        <label class="field">
          <span class="label-text">
            Message <span class="muted">(Markdown)</span>
          </span>
          <textarea name="text" rows={4} value={form.text} onInput={(e) => set('text', e.currentTarget.value)} />
        </label>
        <div class="row">
          <label class="field">
            Priority
            <select name="priority" value={form.priority} onChange={(e) => set('priority', e.currentTarget.value as Priority)}>
              {PRIORITIES.map((p) => (
                <option key={p} value={p}>
                  {PRIORITY_LABELS[p]}
                </option>
              ))}
            </select>
          </label>
          <label class="field">
            Expires
            <select name="ttl" value={form.ttl} onChange={(e) => set('ttl', e.currentTarget.value as TtlPolicy)}>
              {TTL_POLICIES.map((t) => (
                <option key={t} value={t}>
                  {TTL_LABELS[t]}
                </option>
              ))}
            </select>
          </label>
        </div>
        <label class="field">
          Send the answer to
          <select name="replyTo" value={form.replyTo} onChange={(e) => set('replyTo', e.currentTarget.value)}>
            <option value="">Me (this popup)</option>
            {choices.map((agent) => (
              <option key={agent.address} value={agent.address}>
                {agent.title}
              </option>
            ))}
          </select>
        </label>
        <label class="check">
          <input type="checkbox" checked={form.ackRequired} onChange={(e) => set('ackRequired', e.currentTarget.checked)} /> Ask for an acknowledgement
        </label>
        {error && (
          <p role="alert" class="error">
            {error}
          </p>
        )}
        <div class="row end">
          <span class="muted" role="status">
            {notice}
          </span>
          <button type="submit" class="primary" aria-disabled={sending || undefined}>
            Send
          </button>
        </div>
      </form>

      <section class="sent" aria-labelledby="sent-heading">
        <h3 id="sent-heading">Sent by you</h3>
        {sent.data && sent.data.length === 0 && <p class="muted">Nothing yet.</p>}
        <ul class="sent-list">
          {sent.data?.map((entry) => (
            <li key={entry.message.id} class="sent-message" data-message-id={entry.message.id}>
              <div class="sent-text">{firstLine(entry.message.body.text)}</div>
              <RecipientRows entry={entry} progress={progress} agents={agents} />
            </li>
          ))}
        </ul>
      </section>
    </section>
  );
}
