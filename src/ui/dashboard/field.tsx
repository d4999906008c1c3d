/**
 * Labelled form fields with their error beside them: the error is tied to the control
 * (aria-describedby, aria-invalid), so a screen reader says it with the field.
 */
import type { ComponentChildren } from 'preact';

interface Common {
  id: string;
  label: ComponentChildren;
  error?: string;
  hint?: ComponentChildren;
}

function describedBy(id: string, error?: string, hint?: ComponentChildren): string | undefined {
  const ids = [hint ? `${id}-hint` : '', error ? `${id}-error` : ''].filter(Boolean);
  return ids.length ? ids.join(' ') : undefined;
}

function Notes({ id, error, hint }: { id: string; error?: string; hint?: ComponentChildren }) {
  return (
    <>
      {hint && (
        <span id={`${id}-hint`} class="hint">
          {hint}
        </span>
      )}
      {error && (
        <span id={`${id}-error`} class="field-error">
          {error}
        </span>
      )}
    </>
  );
}

export function TextField(
  props: Common & {
    value: string;
    onInput: (value: string) => void;
    type?: 'text' | 'number' | 'url' | 'search' | 'password';
    list?: string;
    placeholder?: string;
    inputMode?: 'decimal' | 'numeric' | 'text';
    required?: boolean;
    readOnly?: boolean;
    size?: number;
  },
) {
  const { id, label, error, hint, value, onInput, type = 'text', ...rest } = props;
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <input
        id={id}
        name={id}
        type={type}
        value={value}
        onInput={(e) => onInput((e.currentTarget as HTMLInputElement).value)}
        aria-invalid={error ? 'true' : undefined}
        aria-describedby={describedBy(id, error, hint)}
        autoComplete="off"
        {...rest}
      />
      <Notes id={id} error={error} hint={hint} />
    </div>
  );
}

export function SelectField(
  props: Common & { value: string; onChange: (value: string) => void; options: readonly { value: string; label: string }[] },
) {
  const { id, label, error, hint, value, onChange, options } = props;
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <select
        id={id}
        name={id}
        value={value}
        onChange={(e) => onChange((e.currentTarget as HTMLSelectElement).value)}
        aria-invalid={error ? 'true' : undefined}
        aria-describedby={describedBy(id, error, hint)}
      >
        {options.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
      <Notes id={id} error={error} hint={hint} />
    </div>
  );
}

export function CheckField({ id, label, checked, onChange }: { id: string; label: ComponentChildren; checked: boolean; onChange: (checked: boolean) => void }) {
  return (
    <div class="field check">
      <input id={id} name={id} type="checkbox" checked={checked} onChange={(e) => onChange((e.currentTarget as HTMLInputElement).checked)} />
      <label for={id}>{label}</label>
    </div>
  );
}

/** An error for the whole form, said at once when it appears. */
export function FormError({ error }: { error?: string }) {
  return error ? (
    <p role="alert" class="error">
      {error}
    </p>
  ) : null;
}

/** Options for a select: "All" (empty value) then each value. */
export const withAll = (values: readonly string[], all = 'All') => [{ value: '', label: all }, ...values.map((value) => ({ value, label: value }))];

/** After a refused submit, the keyboard goes to the first field marked wrong (once the errors are drawn). */
export function focusFirstInvalid(form: EventTarget | null): void {
  requestAnimationFrame(() => (form as HTMLFormElement | null)?.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus());
}
