/**
 * Routing rules (issue 7, src/bus/routing.ts): the list in the order the hub applies them; add,
 * edit, delete (asked first) and move up or down.
 */
import { useState } from 'preact/hooks';
import { useHub } from '../shared/live';
import { hub } from '../../client/hub-client';
import type { StoredRule } from '../../bus/routing';
import { describeRule, moveRule } from './derive-rules';
import { RuleEditor } from './rule-form';
import { ConfirmDialog } from './confirm-dialog';
import { FormError } from './field';

export function RulesView() {
  const live = useHub(() => hub.rules(), [], { tickMs: 0 });
  const rules = live.data ?? [];
  const [editing, setEditing] = useState<StoredRule | 'new'>();
  const [deleting, setDeleting] = useState<StoredRule>();
  const [error, setError] = useState<string>();
  const [notice, setNotice] = useState<string>();

  const act = async (what: () => Promise<unknown>, done: string) => {
    try {
      await what();
      setError(undefined);
      setNotice(done);
      live.reload();
    } catch (e) {
      setError((e as Error).message);
    }
  };

  const move = (rule: StoredRule, by: -1 | 1) => {
    const ids = moveRule(rules.map((r) => r.id), rule.id, by);
    void act(() => hub.reorderRules(ids), `Moved “${rule.name}” ${by < 0 ? 'up' : 'down'}.`).then(() => {
      // Keep the keyboard where it was: on the same button of the moved rule.
      requestAnimationFrame(() => document.getElementById(`rule-${rule.id}-${by < 0 ? 'up' : 'down'}`)?.focus());
    });
  };

  return (
    <section class="view" aria-labelledby="rules-heading">
      <h2 id="rules-heading">Routing rules</h2>
      <p class="muted">Rules change a message's recipients when it is sent, in this order; a rule that stops ends the list for that message.</p>
      <FormError error={error ?? live.error} />
      <p role="status" class="muted">
        {notice}
      </p>
      {!live.loading && !rules.length && <p class="empty">No rules: every message goes to the recipients its sender named.</p>}
      <ol class="rules">
        {rules.map((rule, i) => (
          <li key={rule.id} class="card rule" data-rule-id={rule.id}>
            <div class="rule-head">
              <span class="rule-name">{rule.name}</span>
              <span class={`badge ${rule.enabled ? 'state-ready' : 'state-offline'}`}>{rule.enabled ? 'enabled' : 'disabled'}</span>
              <span class="muted mono">{rule.id}</span>
            </div>
            <p class="rule-what">{describeRule(rule)}</p>
            <div class="actions">
              <button type="button" onClick={() => setEditing(rule)} aria-label={`Edit ${rule.name}`}>
                Edit
              </button>
              <button type="button" id={`rule-${rule.id}-up`} disabled={i === 0} onClick={() => move(rule, -1)} aria-label={`Move ${rule.name} up`}>
                ↑ Up
              </button>
              <button type="button" id={`rule-${rule.id}-down`} disabled={i === rules.length - 1} onClick={() => move(rule, 1)} aria-label={`Move ${rule.name} down`}>
                ↓ Down
              </button>
              <button type="button" class="danger" onClick={() => setDeleting(rule)} aria-label={`Delete ${rule.name}`}>
                Delete
              </button>
            </div>
          </li>
        ))}
      </ol>
      {editing ? (
        <RuleEditor
          key={editing === 'new' ? 'new' : editing.id}
          rule={editing === 'new' ? undefined : editing}
          taken={rules.map((r) => r.id)}
          onCancel={() => setEditing(undefined)}
          onDone={(saved) => {
            setEditing(undefined);
            setNotice(`Saved “${saved.name}”.`);
            live.reload();
          }}
        />
      ) : (
        <button type="button" class="primary" onClick={() => setEditing('new')}>
          Add a rule
        </button>
      )}
      <ConfirmDialog
        id="delete-rule"
        open={deleting !== undefined}
        title="Delete this rule?"
        confirm="Delete rule"
        onCancel={() => setDeleting(undefined)}
        onConfirm={() => {
          const rule = deleting!;
          setDeleting(undefined);
          void act(() => hub.deleteRule(rule.id), `Deleted “${rule.name}”.`);
        }}
      >
        <p>
          “{deleting?.name}” will no longer change where messages go. Messages already sent keep their recipients.
        </p>
      </ConfirmDialog>
    </section>
  );
}
