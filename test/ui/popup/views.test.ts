/**
 * The popup's views rendered to HTML from hub data (preact-render-to-string: no effects run, so
 * these are the first frame each view draws).
 */
import { describe, expect, it } from 'vitest';
import { h } from 'preact';
import { renderToString } from 'preact-render-to-string';
import { envelopeFor } from '../../support/envelopes';
import type { AgentSummary } from '../../../src/hub/agents-view';
import type { HubStatus } from '../../../src/protocol/runtime';
import type { StoredEntry } from '../../../src/bus/ports';
import { Popup, POPUP_ADDRESS } from '../../../src/ui/popup/popup';
import { AgentsPanel } from '../../../src/ui/popup/agents-panel';
import { StatusBar } from '../../../src/ui/popup/status-bar';
import { Onboarding } from '../../../src/ui/popup/onboarding';
import { ThreadsPanel } from '../../../src/ui/popup/threads-panel';
import { RecipientRows } from '../../../src/ui/popup/recipient-rows';
import { INSTALL_HOST_COMMAND, groupThreads, onboardingSteps, progressKey } from '../../../src/ui/popup/derive';

const NOW = Date.now();
const text = (html: string) => html.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ');

function status(nativeHost: Partial<HubStatus['nativeHost']>): HubStatus {
  return {
    extensionId: 'x',
    workerStarts: 1,
    startedAt: NOW,
    deliveries: { queued: 2, sent: 1, delivered: 0, acked: 0, failed: 0, expired: 0, rerouted: 0 },
    bus: {} as HubStatus['bus'],
    nativeHost: { connected: false, connects: 1, recordsCommitted: 0, ...nativeHost },
  };
}

describe('the popup shell', () => {
  it('renders at once with nothing from the hub: the header, loading views, and the address it uses', () => {
    const html = renderToString(h(Popup, {}));
    expect(POPUP_ADDRESS).toBe('extension:local/popup');
    expect(html).toContain('<h1>Switchboard</h1>');
    expect(html).toContain('Hub starting…');
    expect(html).toContain('Loading agents…');
    expect(html).toContain('Loading threads…');
    expect(html).toContain('New message');
    expect(html).not.toContain('data-ready');
  });
});

describe('StatusBar', () => {
  it('shows the doctor command with a copy button when the host is installed but down, and unread counts', () => {
    const html = renderToString(h(StatusBar, { status: status({ lastError: 'Native host has exited.' }), error: undefined, unread: 3 }));
    expect(text(html)).toContain('Hub running · 3 in flight · 3 unread');
    expect(text(html)).toContain('Native host not connected: Native host has exited.');
    expect(html).toContain('node bin/switchboard.mjs doctor');
    expect(html).toContain('aria-label="Copy: the command that fixes the native host"');
    expect(html).toContain('aria-live="polite"');
  });

  it('leaves the install command to the onboarding card', () => {
    const st = status({ lastError: 'Specified native messaging host not found.' });
    expect(renderToString(h(StatusBar, { status: st, error: undefined, unread: 0 }))).not.toContain(INSTALL_HOST_COMMAND.replace(/&/g, '&amp;'));
    const card = renderToString(h(Onboarding, { steps: onboardingSteps(st, []) }));
    expect(card).toContain('npm run build:host &amp;&amp; node bin/switchboard.mjs host install');
    expect(card).toContain('>Open claude.ai</button>');
    expect(renderToString(h(Onboarding, { steps: [] }))).toBe('');
  });
});

describe('AgentsPanel', () => {
  const agents: AgentSummary[] = [
    { address: 'claude-ai:local/c1', kind: 'claude-ai', title: 'Trip plans', state: 'working', detail: 'answering' },
    { address: 'claude-code:local/s1', kind: 'claude-code', title: 'Fix the parser', state: 'rate-limited', detail: 'hit a rate limit (wait)', until: NOW + 72 * 60_000 + 5_000, where: '/home/me/parser' },
    { address: 'claude-code:local/s2', kind: 'claude-code', title: 'Old run', state: 'ended', detail: 'the session ended' },
    { address: 'api:local/bot', kind: 'api', title: 'bot', state: 'ready' },
  ];

  it('groups agents by kind with their state in words, why, where, and a countdown to the reset', () => {
    const html = renderToString(h(AgentsPanel, { agents, loading: false, now: NOW, onMessage: () => {} }));
    const words = text(html);
    expect(words).toMatch(/claude\.ai conversations \(1\).*Claude Code sessions \(2\).*API clients \(1\)/);
    expect(html).toContain('class="badge state-rate-limited"');
    expect(words).toContain('rate-limited');
    expect(words).toContain('hit a rate limit (wait) · resets in 1 h 12 min');
    expect(words).toContain('/home/me/parser');
    expect(html).toContain('aria-label="Message Fix the parser"');
    // An ended session takes no more messages.
    expect(html).not.toContain('aria-label="Message Old run"');
  });

  it('says when there is no agent yet', () => {
    expect(text(renderToString(h(AgentsPanel, { agents: [], loading: false, now: NOW, onMessage: () => {} })))).toContain('No agents yet');
  });
});

describe('ThreadsPanel and RecipientRows', () => {
  const ask = envelopeFor({ from: POPUP_ADDRESS, to: ['api:local/bot'], body: { text: 'Ship it?' }, createdAt: NOW - 120_000 });
  const answer = envelopeFor({ from: 'api:local/bot', to: [POPUP_ADDRESS], threadId: ask.threadId, body: { text: '<img src=x onerror=alert(1)>' }, createdAt: NOW });
  const entries: StoredEntry[] = [
    { message: answer, deliveries: [{ messageId: answer.id, recipient: POPUP_ADDRESS, state: 'delivered', priority: 2, attempts: 1, ackRequired: false, once: false, history: [] }] },
    {
      message: ask,
      deliveries: [{ messageId: ask.id, recipient: 'api:local/bot', state: 'sent', priority: 2, attempts: 1, ackRequired: true, once: false, history: [{ state: 'sent', at: NOW }] }],
    },
  ];

  it('lists threads as buttons with who is in them and their unread count; agents text stays text', () => {
    const html = renderToString(h(ThreadsPanel, { threads: groupThreads(entries), loading: false, agents: [], now: NOW, onOpen: () => {} }));
    expect(html).toContain('<button type="button" class="thread unread"');
    expect(text(html)).toContain('Ship it? 1 unread');
    expect(text(html)).toContain('with you, bot (api) 2 messages · just now');
    expect(html).not.toContain('<img');
  });

  it('shows each recipient with its state, the progress note, and Cancel while unfinished', () => {
    const progress = new Map([[progressKey(ask.id, 'api:local/bot'), 'answering: 1,234 characters so far']]);
    const html = renderToString(h(RecipientRows, { entry: entries[1], progress }));
    expect(text(html)).toContain('bot (api) sent answering: 1,234 characters so far Cancel');
    expect(html).toContain('aria-label="Cancel the delivery to bot (api)"');
    expect(html).toContain('aria-live="polite"');
  });
});
