import { render } from 'preact';
import { Diagnostics } from '../../src/ui/diagnostics';
import { hub, type HubClient } from '../../src/client/hub-client';

declare global {
  interface Window {
    /** the hub client, for the console (and the end-to-end tests and benchmark that drive this page) */
    switchboard: HubClient;
  }
}
window.switchboard = hub;

render(<Diagnostics />, document.getElementById('app')!);
