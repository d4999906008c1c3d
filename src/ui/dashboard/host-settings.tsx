/**
 * The native host's settings: usage alert thresholds and webhooks (config.json claudeCode.alerts
 * and webhooks). The hub reaches them through the host; when it cannot, the forms show the defaults,
 * disabled, and say that they need the native host.
 */
import { useEffect, useState } from 'preact/hooks';
import { dashboardHub, type HostSettings, type WebhookConfig } from './dashboard-hub';
import {
  emptyWebhookForm,
  formToThresholds,
  formToWebhook,
  settingsUnavailable,
  thresholdsToForm,
  THRESHOLD_FIELDS,
  WEBHOOK_EVENTS,
  WEBHOOK_FORMATS,
  webhookToForm,
  type ThresholdsForm,
  type WebhookField,
  type WebhookForm,
} from './derive-settings';
import { FormError, SelectField, TextField } from './field';

/** The host's defaults (native-host/claude-code/usage/alerts.ts), shown while it cannot be asked. */
const DEFAULTS: HostSettings = { thresholds: { tokenPercent: 80, sessionHours: 4.5, costPerBlockUsd: 50, rateLimitPercent: 90 }, webhooks: [] };

function ThresholdsEditor({ settings, disabled, onSave }: { settings: HostSettings; disabled: boolean; onSave: (s: Partial<HostSettings>) => Promise<void> }) {
  const [form, setForm] = useState<ThresholdsForm>(() => thresholdsToForm(settings.thresholds));
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [saved, setSaved] = useState<string>();
  useEffect(() => setForm(thresholdsToForm(settings.thresholds)), [settings]);
  const submit = async (event: Event) => {
    event.preventDefault();
    const { thresholds, errors: found } = formToThresholds(form);
    setErrors(found);
    if (!thresholds) return;
    try {
      await onSave({ thresholds });
      setSaved('Saved.');
    } catch (error) {
      setErrors({ form: (error as Error).message });
    }
  };
  return (
    <form class="card form-grid" aria-labelledby="thresholds-heading" onSubmit={submit} noValidate>
      <h3 id="thresholds-heading">Usage alert thresholds</h3>
      <FormError error={errors.form} />
      <fieldset disabled={disabled}>
        <legend class="visually-hidden">Thresholds (blank turns one off)</legend>
        {THRESHOLD_FIELDS.map(({ key, label, unit }) => (
          <TextField
            key={key}
            id={`threshold-${key}`}
            label={`${label} (${unit})`}
            value={form[key]}
            inputMode="decimal"
            onInput={(v) => (setForm((f) => ({ ...f, [key]: v })), setSaved(undefined))}
            error={errors[key]}
            hint="blank: off"
          />
        ))}
        <div class="actions">
          <button type="submit" class="primary">
            Save thresholds
          </button>
          <span role="status" class="muted">
            {saved}
          </span>
        </div>
      </fieldset>
    </form>
  );
}

function WebhookEditor({ index, hook, onSave, onCancel }: { index: number; hook?: WebhookConfig; onSave: (hook: WebhookConfig) => Promise<void>; onCancel: () => void }) {
  const [form, setForm] = useState<WebhookForm>(() => (hook ? webhookToForm(hook) : emptyWebhookForm()));
  const [errors, setErrors] = useState<Partial<Record<WebhookField | 'form', string>>>({});
  const id = `webhook-${index}`;
  useEffect(() => document.getElementById(`${id}-url`)?.focus(), []);
  const submit = async (event: Event) => {
    event.preventDefault();
    const { webhook, errors: found } = formToWebhook(form);
    setErrors(found);
    if (!webhook) return;
    try {
      await onSave(webhook);
    } catch (error) {
      setErrors({ form: (error as Error).message });
    }
  };
  const toggle = (name: string, on: boolean) => setForm((f) => ({ ...f, events: on ? [...f.events, name] : f.events.filter((e) => e !== name) }));
  return (
    <form class="card form-grid" aria-label={hook ? `Edit webhook ${hook.url}` : 'New webhook'} onSubmit={submit} noValidate>
      <FormError error={errors.form} />
      <TextField id={`${id}-url`} type="url" label="URL" value={form.url} onInput={(v) => setForm((f) => ({ ...f, url: v }))} error={errors.url} />
      <SelectField
        id={`${id}-format`}
        label="Format"
        value={form.format}
        onChange={(v) => setForm((f) => ({ ...f, format: v as WebhookForm['format'] }))}
        options={WEBHOOK_FORMATS.map((f) => ({ value: f, label: f }))}
        error={errors.format}
      />
      <fieldset aria-describedby={errors.events ? `${id}-events-error` : undefined}>
        <legend>Events</legend>
        {WEBHOOK_EVENTS.map((name) => (
          <label key={name} class="inline">
            <input type="checkbox" checked={form.events.includes(name)} onChange={(e) => toggle(name, (e.currentTarget as HTMLInputElement).checked)} /> {name}
          </label>
        ))}
        {errors.events && (
          <span id={`${id}-events-error`} class="field-error">
            {errors.events}
          </span>
        )}
      </fieldset>
      <TextField id={`${id}-topic`} label="Only messages to topic" value={form.topic} onInput={(v) => setForm((f) => ({ ...f, topic: v }))} error={errors.topic} hint="optional" />
      <TextField id={`${id}-secret`} type="password" label="Signing secret" value={form.secret} onInput={(v) => setForm((f) => ({ ...f, secret: v }))} hint="optional" />
      <div class="actions">
        <button type="submit" class="primary">
          Save webhook
        </button>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

function WebhooksEditor({ settings, disabled, onSave }: { settings: HostSettings; disabled: boolean; onSave: (s: Partial<HostSettings>) => Promise<void> }) {
  const [editing, setEditing] = useState<number>();
  const hooks = settings.webhooks;
  const save = (list: WebhookConfig[]) => onSave({ webhooks: list }).then(() => setEditing(undefined));
  return (
    <section class="card" aria-labelledby="webhooks-heading">
      <h3 id="webhooks-heading">Webhooks</h3>
      {!hooks.length && <p class="muted">No webhooks.</p>}
      <ul class="plain">
        {hooks.map((hook, i) => (
          <li key={i}>
            {editing === i ? (
              <WebhookEditor index={i} hook={hook} onCancel={() => setEditing(undefined)} onSave={(h) => save(hooks.map((x, j) => (j === i ? h : x)))} />
            ) : (
              <>
                <span class="mono">{hook.url}</span> · {hook.format} · {hook.events.join(', ')}
                {hook.topic ? ` · topic ${hook.topic}` : ''}{' '}
                <button type="button" disabled={disabled} onClick={() => setEditing(i)} aria-label={`Edit webhook ${hook.url}`}>
                  Edit
                </button>{' '}
                <button type="button" class="danger" disabled={disabled} onClick={() => void save(hooks.filter((_, j) => j !== i))} aria-label={`Remove webhook ${hook.url}`}>
                  Remove
                </button>
              </>
            )}
          </li>
        ))}
      </ul>
      {editing === hooks.length ? (
        <WebhookEditor index={hooks.length} onCancel={() => setEditing(undefined)} onSave={(h) => save([...hooks, h])} />
      ) : (
        <button type="button" disabled={disabled} onClick={() => setEditing(hooks.length)}>
          Add a webhook
        </button>
      )}
    </section>
  );
}

/** Read once, and after each save: a live reload would overwrite what the person is typing. */
export function HostSettingsEditors() {
  const [loaded, setLoaded] = useState<{ data?: HostSettings; error?: string }>({});
  useEffect(() => {
    dashboardHub.settings().then(
      (data) => setLoaded({ data }),
      (error: Error) => setLoaded({ error: error.message }),
    );
  }, []);
  const settings = loaded.data ?? DEFAULTS;
  const unavailable = !loaded.data && loaded.error ? settingsUnavailable(loaded.error) : undefined;
  const save = async (change: Partial<HostSettings>) => {
    setLoaded({ data: await dashboardHub.putSettings(change) });
  };
  return (
    <>
      {unavailable && (
        <p class="notice" id="host-settings-unavailable">
          {unavailable}
        </p>
      )}
      <ThresholdsEditor settings={settings} disabled={!loaded.data} onSave={save} />
      <WebhooksEditor settings={settings} disabled={!loaded.data} onSave={save} />
    </>
  );
}
