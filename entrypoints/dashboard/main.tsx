import { render } from 'preact';
import { Dashboard } from '../../src/ui/dashboard/dashboard';
import { hub, type HubClient } from '../../src/client/hub-client';
import 'uplot/dist/uPlot.min.css';
import '../../src/ui/shared/theme.css';
import '../../src/ui/dashboard/dashboard.css';

declare global {
  interface Window {
    /** the hub client, for the console (and the end-to-end tests and benchmark that drive this page) */
    switchboard: HubClient;
  }
}
window.switchboard = hub;

render(<Dashboard />, document.getElementById('app')!);
