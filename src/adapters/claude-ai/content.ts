/**
 * The claude.ai content script's wiring: a port to the hub that is opened when there is something
 * to say or the hub asks (a starting worker asks every claude.ai tab), and closed by the browser
 * when the worker stops — so an open tab does not keep the worker awake.
 */
import { browser, type Browser } from 'wxt/browser';
import { CLAUDE_TAB_PORT, RECONNECT_REQUEST } from '../../protocol/claude-tab-names';
import type { TabCommand, TabReport } from '../../protocol/claude-tab';
import { TabAgent } from './tab-agent';

export function runClaudeTab(signal: AbortSignal): void {
  let port: Browser.runtime.Port | undefined;
  const agent = new TabAgent(document, { post }, sessionStorage, signal);

  function connect(): Browser.runtime.Port | undefined {
    if (port || signal.aborted) return port;
    try {
      const opened = browser.runtime.connect({ name: CLAUDE_TAB_PORT });
      port = opened;
      opened.onMessage.addListener((command: TabCommand) => {
        agent.handle(command).catch((error) => console.warn('Switchboard: a prompt failed in this tab', error));
      });
      opened.onDisconnect.addListener(() => {
        if (port === opened) port = undefined;
      });
      agent.connected();
    } catch {
      port = undefined; // the extension was reloaded: this script is orphaned
    }
    return port;
  }

  function post(report: TabReport): void {
    try {
      connect()?.postMessage(report);
    } catch {
      port = undefined;
    }
  }

  browser.runtime.onMessage.addListener((message: unknown) => {
    if ((message as { type?: string } | null)?.type === RECONNECT_REQUEST) connect();
    return undefined;
  });
  signal.addEventListener('abort', () => port?.disconnect());
  connect();
}
