/**
 * Resuming a Claude Code session that has exited, for mail that came after it ended (issue 5): only
 * when the person turned it on (config.json `claudeCode.resumeExited`), with the real `claude` CLI
 * against the fake Messages API, the daemon launched by the browser.
 */
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { useClaudeCodeRig } from '../support/claude-code-rig';
import { waitFor } from '../support/extension-browser';
import { CLAUDE_BIN } from '../support/claude-cli';
import { requestText } from '../support/fake-anthropic';
import { shellQuote } from '../../native-host/claude-code/hook-script';
import type { MessageStatus } from '../../src/bus/bus';
import type { StoredEntry } from '../../src/bus/ports';

describe('mail for a Claude Code session that has ended', () => {
  const rig = useClaudeCodeRig();

  /** config.json's claudeCode section; `command` runs the real CLI with the test's environment */
  async function configure(resumeExited: boolean) {
    const wrapper = join(rig.host.home, 'claude-for-tests');
    const env = Object.entries(rig.claude.env).map(([name, value]) => `${name}=${shellQuote(value)}`).join(' ');
    await writeFile(wrapper, `#!/bin/sh\nexec env ${env} ${shellQuote(CLAUDE_BIN)} "$@"\n`);
    await chmod(wrapper, 0o755);
    const file = join(rig.host.home, 'config.json');
    const config = JSON.parse(await readFile(file, 'utf8'));
    await writeFile(file, JSON.stringify({ ...config, claudeCode: { ...config.claudeCode, resumeExited, command: wrapper } }));
  }

  const statusOf = (id: string) => rig.browser!.request<MessageStatus>({ type: 'status', id });

  async function endedSession(): Promise<string> {
    await rig.open({ connected: true });
    rig.api.enqueue({ kind: 'text', text: 'Done for now.' });
    const run = await rig.claude.runPrint('Do a small thing', { timeoutMs: 60_000 });
    expect(run.result, run.stderr).toMatchObject({ is_error: false });
    const sessionId = run.result!.session_id;
    await waitFor(
      () => rig.browser!.request<{ address: string; state: string }[]>({ type: 'sessions' }),
      (list) => list.some((s) => s.address === `claude-code:local/${sessionId}` && s.state === 'ended'),
      20_000,
      'the session ended in the hub',
    );
    return sessionId;
  }


  it('resumes it with claude --resume when the person enabled it; the answer reaches the sender, acked', async () => {
    await configure(true);
    const sessionId = await endedSession();
    const address = `claude-code:local/${sessionId}`;
    rig.api.enqueue({ kind: 'text', text: 'Resumed: forty-two.' });
    const asked = await rig.browser!.request<{ id: string }>({ type: 'send', message: { from: 'extension:local/popup', to: address, body: 'What is 6 × 7? (probe-resume-exited)', ackRequired: true } });
    await waitFor(() => statusOf(asked.id), (s) => s.deliveries[0]?.state === 'acked', 90_000, 'the resumed session to answer');
    expect(rig.api.turnRequests().some((r) => requestText(r).includes('probe-resume-exited'))).toBe(true);
    const replies = await rig.browser!.request<StoredEntry[]>({ type: 'list', agent: 'extension:local/popup' });
    expect(replies.find((e) => e.message.inReplyTo === asked.id)?.message).toMatchObject({ from: address, body: { text: 'Resumed: forty-two.' } });
    // The resumed run went on in the same session, with its history.
    const resumedRequest = rig.api.turnRequests().find((r) => requestText(r).includes('probe-resume-exited'))!;
    expect(requestText(resumedRequest)).toContain('Do a small thing');
  });

  it('leaves it alone when not enabled: the mail waits', async () => {
    await configure(false);
    const sessionId = await endedSession();
    const before = rig.api.turnRequests().length;
    const asked = await rig.browser!.request<{ id: string }>({ type: 'send', message: { from: 'extension:local/popup', to: `claude-code:local/${sessionId}`, body: 'Still there?', ackRequired: true } });
    await waitFor(() => statusOf(asked.id), (s) => s.deliveries[0]?.state === 'sent', 20_000, 'the message held for the session');
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    expect(rig.api.turnRequests()).toHaveLength(before);
    expect((await statusOf(asked.id)).deliveries[0]).toMatchObject({ state: 'sent', pending: true });
  });
});
