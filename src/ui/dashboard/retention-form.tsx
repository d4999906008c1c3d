/** TTL policies and how long the archive keeps messages (the hub's retention settings). */
import { useEffect, useState } from 'preact/hooks';
import { hub } from '../../client/hub-client';
import { useHub } from '../shared/live';
import { formToRetention, hubRetentionErrors, retentionToForm, type RetentionField, type RetentionForm } from './derive-settings';
import { focusFirstInvalid, FormError, TextField } from './field';

export function RetentionEditor() {
  const live = useHub(() => hub.retention(), [], { tickMs: 0 });
  const [form, setForm] = useState<RetentionForm>();
  const [errors, setErrors] = useState<Partial<Record<RetentionField, string>>>({});
  const [saved, setSaved] = useState<string>();
  // The form starts from the hub's settings, and is not overwritten while the person edits it.
  useEffect(() => {
    if (live.data && !form) setForm(retentionToForm(live.data));
  }, [live.data]);
  const set = (key: keyof RetentionForm) => (value: string) => (setForm((f) => ({ ...f!, [key]: value })), setSaved(undefined));

  const submit = async (event: Event) => {
    event.preventDefault();
    if (!form) return;
    const { change, errors: found } = formToRetention(form);
    setErrors(found);
    if (!change) return focusFirstInvalid(event.currentTarget);
    try {
      setForm(retentionToForm(await hub.configureRetention(change)));
      setSaved('Saved: new messages use these durations.');
    } catch (error) {
      setErrors(hubRetentionErrors((error as Error).message));
    }
  };

  return (
    <form class="card form-grid" aria-labelledby="retention-heading" onSubmit={submit} noValidate>
      <h3 id="retention-heading">Message lifetimes (TTL)</h3>
      <p class="muted">How long the hub keeps trying to deliver a message of each TTL policy; finished messages are then archived and kept for the archive's time.</p>
      <FormError error={errors.form ?? live.error} />
      {form ? (
        <>
          <TextField id="ttl-short" label="Short, hours" value={form.short} onInput={set('short')} inputMode="decimal" error={errors.short} />
          <TextField id="ttl-medium" label="Medium, hours" value={form.medium} onInput={set('medium')} inputMode="decimal" error={errors.medium} />
          <TextField id="ttl-long" label="Long, days" value={form.long} onInput={set('long')} inputMode="decimal" error={errors.long} />
          <TextField id="ttl-archive" label="Archive kept, days" value={form.archive} onInput={set('archive')} inputMode="decimal" error={errors.archive} />
          <div class="actions">
            <button type="submit" class="primary">
              Save lifetimes
            </button>
            <span role="status" class="muted">
              {saved}
            </span>
          </div>
        </>
      ) : (
        <p class="muted">Loading…</p>
      )}
    </form>
  );
}
