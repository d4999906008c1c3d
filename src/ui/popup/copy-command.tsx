/**
 * A shell command with a Copy button: what fixes a missing or broken native host (issue 7). The
 * command stays selectable text too, for when the clipboard is refused.
 */
import { useState } from 'preact/hooks';

export function CopyCommand({ command, label }: { command: string; label: string }) {
  const [copied, setCopied] = useState<'yes' | 'no'>();
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(command);
      setCopied('yes');
    } catch {
      setCopied('no');
    }
  };
  return (
    <div class="command">
      <code aria-label={label}>{command}</code>
      <button type="button" onClick={copy} aria-label={`Copy: ${label}`}>
        Copy
      </button>
      <span class="visually-hidden" aria-live="polite">
        {copied === 'yes' ? 'Copied to the clipboard' : copied === 'no' ? 'Could not copy: select the command and copy it by hand' : ''}
      </span>
      {copied && (
        <span class="muted" aria-hidden="true">
          {copied === 'yes' ? 'Copied' : 'Select and copy it'}
        </span>
      )}
    </div>
  );
}
