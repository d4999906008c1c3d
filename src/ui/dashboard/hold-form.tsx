/** Holding an agent by hand: what it is for, how long, and where its work goes meanwhile. */
import { useState } from 'preact/hooks';
import { HOLD_STRATEGIES, type HoldStrategy } from '../../bus/destinations';
import { hub } from '../../client/hub-client';
import { holdFromForm, STRATEGY_NAMES, type HoldForm } from './derive-holds';
import { focusFirstInvalid, FormError, SelectField, TextField } from './field';

const EMPTY: HoldForm = { address: '', strategy: 'session_pause', reason: '', minutes: '60', fallback: '' };

export function HoldAgentForm({ agents, onDone }: { agents: string[]; onDone: () => void }) {
  const [form, setForm] = useState<HoldForm>(EMPTY);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);
  const set = (key: keyof HoldForm) => (value: string) => setForm((f) => ({ ...f, [key]: value }));

  const submit = async (event: Event) => {
    event.preventDefault();
    const { hold, errors: found } = holdFromForm(form, Date.now());
    setErrors(found);
    if (!hold) return focusFirstInvalid(event.currentTarget);
    setBusy(true);
    try {
      await hub.hold(hold);
      setForm(EMPTY);
      onDone();
    } catch (error) {
      setErrors({ form: (error as Error).message });
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="card form-grid" aria-labelledby="hold-form-heading" onSubmit={submit} noValidate>
      <h3 id="hold-form-heading">Hold an agent</h3>
      <FormError error={errors.form} />
      <datalist id="hold-agents">
        {agents.map((a) => (
          <option key={a} value={a} />
        ))}
      </datalist>
      <TextField id="hold-address" label="Agent" value={form.address} onInput={set('address')} list="hold-agents" error={errors.address} placeholder="claude-code:local/…" />
      <SelectField
        id="hold-strategy"
        label="Strategy"
        value={form.strategy}
        onChange={(v) => setForm((f) => ({ ...f, strategy: v as HoldStrategy }))}
        options={HOLD_STRATEGIES.map((s) => ({ value: s, label: STRATEGY_NAMES[s] }))}
      />
      <TextField id="hold-reason" label="Reason" value={form.reason} onInput={set('reason')} error={errors.reason} />
      <TextField
        id="hold-minutes"
        label="For how many minutes"
        value={form.minutes}
        onInput={set('minutes')}
        inputMode="decimal"
        error={errors.minutes}
        hint={form.strategy === 'session_pause' ? 'needed: when the pause ends' : 'optional: blank holds until released'}
      />
      {form.strategy === 'graceful_degradation' && (
        <TextField id="hold-fallback" label="Fallback agent" value={form.fallback} onInput={set('fallback')} list="hold-agents" error={errors.fallback} />
      )}
      <div class="actions">
        <button type="submit" class="primary" disabled={busy}>
          Hold
        </button>
      </div>
    </form>
  );
}
