/** Settings (issue 7): message lifetimes in the hub; alert thresholds and webhooks in the host. */
import { RetentionEditor } from './retention-form';
import { HostSettingsEditors } from './host-settings';

export function SettingsView() {
  return (
    <section class="view" aria-labelledby="settings-heading">
      <h2 id="settings-heading">Settings</h2>
      <RetentionEditor />
      <HostSettingsEditors />
    </section>
  );
}
