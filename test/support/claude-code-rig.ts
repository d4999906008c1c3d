/**
 * What every Claude Code end-to-end test runs against, made fresh for each test: the host installed
 * (launched by the browser once it opens), the fake Messages API, a temporary HOME for the real
 * `claude` CLI with Switchboard's hooks installed into its settings, and the browser once opened.
 */
import { afterEach, beforeEach } from 'vitest';
import { installClaudeCode } from '../../native-host/claude-code/install';
import { createClaudeHome, type ClaudeHome } from './claude-cli';
import { launchExtension, waitFor, type ExtensionBrowser } from './extension-browser';
import { startFakeAnthropic, type FakeAnthropic } from './fake-anthropic';
import { installTestHost, type InstalledHost } from './host-fixture';

export interface ClaudeCodeRig {
  host: InstalledHost;
  api: FakeAnthropic;
  claude: ClaudeHome;
  browser: ExtensionBrowser | undefined;
  /** opens the browser on the host's profile; with `connected`, waits until the hub has the host */
  open(options?: { connected?: boolean }): Promise<ExtensionBrowser>;
}

/** Registers the rig's beforeEach and afterEach in the calling describe block. */
export function useClaudeCodeRig(): ClaudeCodeRig {
  const rig = {
    browser: undefined,
    async open({ connected = false } = {}) {
      rig.browser = await launchExtension({ profileDir: rig.host.profileDir, env: rig.host.env });
      if (connected) await waitFor(() => rig.browser!.hubStatus(), (s) => s.nativeHost.connected, 30_000, 'the hub to connect to the host');
      return rig.browser;
    },
  } as ClaudeCodeRig;
  beforeEach(async () => {
    rig.host = await installTestHost();
    rig.api = await startFakeAnthropic();
    rig.claude = await createClaudeHome({ apiUrl: rig.api.url });
    installClaudeCode({ home: rig.host.home, userHome: rig.claude.home, apiPort: rig.host.port });
  });
  afterEach(async () => {
    await rig.browser?.close({ keepProfile: true });
    rig.browser = undefined;
    await rig.claude.cleanup();
    await rig.api.close();
    await rig.host.remove();
  });
  return rig;
}
