/**
 * Adding or editing one routing rule. The form is checked with the hub's own schema before it is
 * sent, and what the hub still refuses comes back next to the field it names.
 */
import { useEffect, useState } from 'preact/hooks';
import type { StoredRule } from '../../bus/routing';
import { MESSAGE_KINDS } from '../../protocol/envelope';
import { hub } from '../../client/hub-client';
import { emptyRuleForm, formToRule, hubRuleErrors, ruleIdFor, ruleToForm, RULE_ACTIONS, type RuleField, type RuleForm } from './derive-rules';
import { CheckField, focusFirstInvalid, FormError, SelectField, TextField, withAll } from './field';

const ACTION_LABELS = { add: 'add these recipients', replace: 'replace the matching recipients with these', drop: 'drop the matching recipients' };

export function RuleEditor({ rule, taken, onDone, onCancel }: { rule?: StoredRule; taken: string[]; onDone: (saved: StoredRule) => void; onCancel: () => void }) {
  const isNew = !rule;
  const [form, setForm] = useState<RuleForm>(() => (rule ? ruleToForm(rule) : emptyRuleForm()));
  const [idTouched, setIdTouched] = useState(!isNew);
  const [errors, setErrors] = useState<Partial<Record<RuleField, string>>>({});
  const [busy, setBusy] = useState(false);
  // Opening the editor takes the keyboard to its first field.
  useEffect(() => document.getElementById('rule-name')?.focus(), []);
  const set = (key: keyof RuleForm) => (value: string | boolean) =>
    setForm((f) => {
      const next = { ...f, [key]: value };
      // A new rule's id follows its name until the person writes one.
      if (key === 'name' && isNew && !idTouched) next.id = ruleIdFor(String(value), taken);
      return next;
    });

  const submit = async (event: Event) => {
    event.preventDefault();
    const element = event.currentTarget;
    const { rule: input, errors: found } = formToRule(form, { isNew, taken });
    setErrors(found);
    if (!input) return focusFirstInvalid(element);
    setBusy(true);
    try {
      onDone(await hub.putRule(input));
    } catch (error) {
      setErrors(hubRuleErrors((error as Error).message));
      focusFirstInvalid(element);
    } finally {
      setBusy(false);
    }
  };

  const heading = isNew ? 'New rule' : `Edit rule “${rule.name}”`;
  return (
    <form class="card form-grid rule-form" aria-labelledby="rule-form-heading" onSubmit={submit} noValidate>
      <h3 id="rule-form-heading">{heading}</h3>
      <FormError error={errors.form ?? (Object.keys(errors).length ? 'The rule was not saved: see the fields marked below.' : undefined)} />
      <TextField id="rule-name" label="Name" value={form.name} onInput={set('name')} error={errors.name} />
      <TextField
        id="rule-id"
        label="Id"
        value={form.id}
        readOnly={!isNew}
        onInput={(v) => (setIdTouched(true), set('id')(v))}
        error={errors.id}
        hint={isNew ? 'made from the name; a rule keeps its id' : 'a rule keeps its id'}
      />
      <fieldset>
        <legend>When a message matches (blank: any)</legend>
        <TextField id="rule-from" label="From" value={form.from} onInput={set('from')} error={errors.from} placeholder="claude-code:*" hint="* stands for anything" />
        <TextField id="rule-to" label="To" value={form.to} onInput={set('to')} error={errors.to} placeholder="topic:reviews" />
        <SelectField id="rule-kind" label="Kind" value={form.kind} onChange={set('kind')} options={withAll(MESSAGE_KINDS, 'Any')} error={errors.kind} />
        <TextField id="rule-text" label="Text" value={form.text} onInput={set('text')} error={errors.text} hint="a regular expression, any case" />
        <TextField id="rule-thread" label="Thread" value={form.threadId} onInput={set('threadId')} error={errors.threadId} />
      </fieldset>
      <fieldset>
        <legend>Then</legend>
        <SelectField
          id="rule-action"
          label="Action"
          value={form.action}
          onChange={set('action')}
          options={RULE_ACTIONS.map((a) => ({ value: a, label: ACTION_LABELS[a] }))}
          error={errors.action}
        />
        {form.action !== 'drop' && (
          <TextField id="rule-recipients" label="Recipients" value={form.recipients} onInput={set('recipients')} error={errors.recipients} hint="addresses, separated by commas" />
        )}
        <CheckField id="rule-stop" label="Stop here: no later rule applies" checked={form.stop} onChange={set('stop')} />
        <CheckField id="rule-enabled" label="Enabled" checked={form.enabled} onChange={set('enabled')} />
      </fieldset>
      <div class="actions">
        <button type="submit" class="primary" disabled={busy}>
          {isNew ? 'Add rule' : 'Save rule'}
        </button>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
