/**
 * The native host's settings: usage alert thresholds and webhooks (config.json claudeCode.alerts
 * and webhooks). The hub asks the host for them ({type:'settings'}) and hands it a change
 * ({type:'settings-put'}); the host checks the change against config.json's schema, writes the file
 * and applies it live. What it refuses comes back naming the field (`thresholds.tokenPercent`,
 * `webhooks[0].url`) and is shown beside that field. While the host cannot be reached the forms
 * show the defaults, disabled, say why, and ask again every few seconds.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { dashboardHub, type HostSettings, type WebhookConfig } from './dashboard-hub';
import {
  emptyWebhookForm,
  formToThresholds,
  formToWebhook,
  settingsUnavailable,
  thresholdErrors,
  thresholdsToForm,
  THRESHOLD_FIELDS,
  WEBHOOK_EVENTS,
  WEBHOOK_FORMATS,
  webhookErrors,
  webhookToForm,
  type ThresholdsForm,
  type WebhookField,
  type WebhookForm,
} from './derive-settings';
import { focusFirstInvalid, FormError, SelectField, TextField } from './field';

/** The host's defaults (native-host/claude-code/usage/alerts.ts), shown while it cannot be asked. */
const DEFAULTS: HostSettings = { thresholds: { tokenPercent: 80, sessionHours: 4.5, costPerBlockUsd: 50, rateLimitPercent: 90 }, webhooks: [] };

/** How often the settings are asked for again while the host cannot give them (it may connect later). */
export const SETTINGS_RETRY_MS = 2_000;

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

function ThresholdsEditor({ settings, disabled, onSave }: { settings: HostSettings; disabled: boolean; onSave: (s: Partial<HostSettings>) => Promise<void> }) {
  const [form, setForm] = useState<ThresholdsForm>(() => thresholdsToForm(settings.thresholds));
  const [errors, setErrors] = useState<Partial<Record<keyof ThresholdsForm | 'form', string>>>({});
  const [saved, setSaved] = useState<string>();
  // New thresholds (loaded, or saved) reset the form; saving the webhooks does not touch what is typed here.
  const current = JSON.stringify(settings.thresholds);
  useEffect(() => setForm(thresholdsToForm(settings.thresholds)), [current]);
  const submit = async (event: Event) => {
    event.preventDefault();
    const target = event.currentTarget;
    setSaved(undefined);
    const { thresholds, errors: found } = formToThresholds(form);
    setErrors(found);
    if (!thresholds) return focusFirstInvalid(target);
    try {
      await onSave({ thresholds });
      setSaved('Saved: the host uses these thresholds now.');
    } catch (error) {
      setErrors(thresholdErrors(message(error)));
      focusFirstInvalid(target);
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
          <span role="status" class="muted" id="thresholds-status">
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
    const target = event.currentTarget;
    const { webhook, errors: found } = formToWebhook(form);
    setErrors(found);
    if (!webhook) return focusFirstInvalid(target);
    try {
      await onSave(webhook);
    } catch (error) {
      setErrors(webhookErrors(message(error), index));
      focusFirstInvalid(target);
    }
  };
  const toggle = (name: string, on: boolean) => setForm((f) => ({ ...f, events: on ? [...f.events, name] : f.events.filter((e) => e !== name) }));
  return (
    <form
      class="card form-grid"
      aria-label={hook ? `Edit webhook ${hook.url}` : 'New webhook'}
      onSubmit={submit}
      onKeyDown={(e) => e.key === 'Escape' && (e.preventDefault(), onCancel())}
      noValidate
    >
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
      <fieldset id={`${id}-events`} aria-describedby={errors.events ? `${id}-events-error` : undefined}>
        <legend>Events</legend>
        {WEBHOOK_EVENTS.map((name) => (
          <label key={name} class="inline">
            <input
              type="checkbox"
              name={`${id}-event`}
              value={name}
              checked={form.events.includes(name)}
              aria-invalid={errors.events ? 'true' : undefined}
              onChange={(e) => toggle(name, (e.currentTarget as HTMLInputElement).checked)}
            />{' '}
            {name}
          </label>
        ))}
        {errors.events && (
          <span id={`${id}-events-error`} class="field-error">
            {errors.events}
          </span>
        )}
      </fieldset>
      <TextField id={`${id}-topic`} label="Only messages to topic" value={form.topic} onInput={(v) => setForm((f) => ({ ...f, topic: v }))} error={errors.topic} hint="optional" />
      <TextField id={`${id}-secret`} type="password" label="Signing secret" value={form.secret} onInput={(v) => setForm((f) => ({ ...f, secret: v }))} error={errors.secret} hint="optional" />
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
  const [error, setError] = useState<string>();
  const [status, setStatus] = useState<string>();
  /** where the keyboard goes back to once the editor closes: the control that opened it */
  const returnTo = useRef<string>();
  const hooks = settings.webhooks;
  const open = (index: number, from: string) => {
    returnTo.current = from;
    setError(undefined);
    setStatus(undefined);
    setEditing(index);
  };
  const close = () => {
    setEditing(undefined);
    const id = returnTo.current;
    requestAnimationFrame(() => id && document.getElementById(id)?.focus());
  };
  const save = (list: WebhookConfig[], done: string) =>
    onSave({ webhooks: list }).then(() => {
      setStatus(done);
      close();
    });
  const remove = async (index: number) => {
    setError(undefined);
    try {
      await onSave({ webhooks: hooks.filter((_, j) => j !== index) });
      setStatus(`Removed the webhook to ${hooks[index].url}.`);
      requestAnimationFrame(() => document.getElementById('webhook-add')?.focus());
    } catch (failure) {
      setError(webhookErrors(message(failure), -1).form);
    }
  };
  return (
    <section class="card" aria-labelledby="webhooks-heading">
      <h3 id="webhooks-heading">Webhooks</h3>
      <FormError error={error} />
      {!hooks.length && <p class="muted">No webhooks.</p>}
      <ul class="plain webhook-list">
        {hooks.map((hook, i) => (
          <li key={i}>
            {editing === i ? (
              <WebhookEditor index={i} hook={hook} onCancel={close} onSave={(h) => save(hooks.map((x, j) => (j === i ? h : x)), `Saved the webhook to ${h.url}.`)} />
            ) : (
              <>
                <span class="mono">{hook.url}</span> · {hook.format} · {hook.events.join(', ')}
                {hook.topic ? ` · topic ${hook.topic}` : ''}{' '}
                <button type="button" id={`webhook-${i}-edit`} disabled={disabled} onClick={() => open(i, `webhook-${i}-edit`)} aria-label={`Edit webhook ${hook.url}`}>
                  Edit
                </button>{' '}
                <button type="button" class="danger" disabled={disabled} onClick={() => void remove(i)} aria-label={`Remove webhook ${hook.url}`}>
                  Remove
                </button>
              </>
            )}
          </li>
        ))}
      </ul>
      {editing === hooks.length ? (
        <WebhookEditor index={hooks.length} onCancel={close} onSave={(h) => save([...hooks, h], `Added the webhook to ${h.url}.`)} />
      ) : (
        <button type="button" id="webhook-add" disabled={disabled} onClick={() => open(hooks.length, 'webhook-add')}>
          Add a webhook
        </button>
      )}
      <p role="status" class="muted" id="webhooks-status">
        {status}
      </p>
    </section>
  );
}

/**
 * Read once the host gives them, and after each save — not live: a reload would overwrite what the
 * person is typing. Until the host answers, asked again every SETTINGS_RETRY_MS.
 */
export function HostSettingsEditors() {
  const [loaded, setLoaded] = useState<{ data?: HostSettings; error?: string }>({});
  const waiting = !loaded.data;
  useEffect(() => {
    if (!waiting) return;
    let stopped = false;
    const load = () =>
      dashboardHub.settings().then(
        (data) => !stopped && setLoaded({ data }),
        (error: unknown) => !stopped && setLoaded((now) => (now.data ? now : { error: message(error) })),
      );
    void load();
    const timer = setInterval(() => void load(), SETTINGS_RETRY_MS);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [waiting]);
  const settings = loaded.data ?? DEFAULTS;
  const unavailable = waiting && loaded.error ? settingsUnavailable(loaded.error) : undefined;
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
      <ThresholdsEditor settings={settings} disabled={waiting} onSave={save} />
      <WebhooksEditor settings={settings} disabled={waiting} onSave={save} />
    </>
  );
}
