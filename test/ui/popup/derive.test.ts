import { describe, expect, it } from 'vitest';
import { envelopeFor } from '../../support/envelopes';
import type { StoredEntry } from '../../../src/bus/ports';
import type { Delivery, DeliveryState } from '../../../src/bus/delivery';
import type { AgentSummary } from '../../../src/hub/agents-view';
import type { HubStatus } from '../../../src/protocol/runtime';
import type { ClaudeTabAgent } from '../../../src/adapters/claude-ai/tabs';
import type { Envelope } from '../../../src/protocol/envelope';
import { SendRequest } from '../../../src/protocol/envelope';
import {
  DOCTOR_COMMAND,
  EMPTY_FORM,
  INSTALL_HOST_COMMAND,
  POPUP_ADDRESS,
  addressLabel,
  addressableAgents,
  countdownOf,
  firstLine,
  formatAgo,
  groupAgents,
  groupThreads,
  onboardingSteps,
  progressKey,
  recipientRows,
  sendRequestOf,
  statusView,
  threadMessages,
  unreadDeliveries,
} from '../../../src/ui/popup/derive';

const NOW = 1_750_000_000_000;

function delivery(messageId: string, recipient: string, state: DeliveryState, extra: Partial<Delivery> = {}): Delivery {
  return { messageId, recipient, state, priority: 2, attempts: state === 'queued' ? 0 : 1, ackRequired: false, once: false, history: [{ state, at: NOW }], ...extra };
}

/** Ids made in order sort in order (UUIDv7), as the store's are. */
let seq = 0;
function idAt(n: number): string {
  return `0190${String(n).padStart(4, '0')}-0000-7000-8000-000000000000`;
}
function entry(fields: Partial<Envelope> & Pick<Envelope, 'from' | 'to'>, states: Record<string, DeliveryState> = {}, extra: Partial<Delivery> = {}): StoredEntry {
  const id = fields.id ?? idAt(++seq);
  const message = envelopeFor({ id, threadId: id, ...fields });
  return { message, deliveries: Object.entries(states).map(([recipient, state]) => delivery(id, recipient, state, extra)) };
}

function status(nativeHost: Partial<HubStatus['nativeHost']>, deliveries: Partial<HubStatus['deliveries']> = {}): HubStatus {
  return {
    extensionId: 'x',
    workerStarts: 1,
    startedAt: NOW,
    deliveries: { queued: 0, sent: 0, delivered: 0, acked: 0, failed: 0, expired: 0, rerouted: 0, ...deliveries },
    bus: {} as HubStatus['bus'],
    nativeHost: { connected: false, connects: 0, recordsCommitted: 0, ...nativeHost },
  };
}

function agent(address: string, fields: Partial<AgentSummary> = {}): AgentSummary {
  const kind = address.split(':')[0] as AgentSummary['kind'];
  return { address, kind, title: address.split('/').pop()!, state: 'ready', ...fields };
}

describe('statusView', () => {
  it('says the hub is starting until it answers, and unreachable with why when it fails', () => {
    expect(statusView(undefined, undefined)).toMatchObject({ hub: 'starting', host: 'unknown' });
    expect(statusView(undefined, 'timed out')).toMatchObject({ hub: 'unreachable', hubText: 'Hub not answering: timed out' });
  });

  it('names a connected host with its device and version, and offers no fix', () => {
    const view = statusView(status({ connected: true, connects: 1, host: { version: '0.1.0', device: 'laptop' } }), undefined);
    expect(view).toMatchObject({ hub: 'running', host: 'connected', hostText: 'Native host connected (laptop, v0.1.0)' });
    expect(view.fix).toBeUndefined();
  });

  it('gives the install command when Chrome finds no host manifest', () => {
    const view = statusView(status({ lastError: 'Specified native messaging host not found.', connects: 1 }), undefined);
    expect(view).toMatchObject({ host: 'not-installed', fix: { command: INSTALL_HOST_COMMAND } });
    expect(INSTALL_HOST_COMMAND).toBe('npm run build:host && node bin/switchboard.mjs host install');
  });

  it('gives the doctor when an installed host is not connected, and waits while the first connect runs', () => {
    expect(statusView(status({ lastError: 'Native host has exited.', connects: 2 }), undefined)).toMatchObject({
      host: 'disconnected',
      hostText: 'Native host not connected: Native host has exited.',
      fix: { command: DOCTOR_COMMAND },
    });
    expect(statusView(status({ connects: 0 }), undefined)).toMatchObject({ host: 'connecting' });
    expect(statusView(status({ connects: 0 }), undefined).fix).toBeUndefined();
  });
});

describe('onboardingSteps', () => {
  const tab = { address: 'claude-ai:local/c1', tabId: 1, url: 'https://claude.ai/chat/c1', title: 'c', state: 'ready', personWriting: false } as ClaudeTabAgent;

  it('asks for the host and a claude.ai tab when both are missing', () => {
    const steps = onboardingSteps(status({ lastError: 'Specified native messaging host not found.' }), []);
    expect(steps.map((s) => s.id)).toEqual(['install-host', 'open-claude']);
    expect(steps[0]).toMatchObject({ command: INSTALL_HOST_COMMAND });
    expect(steps[1]).toMatchObject({ url: 'https://claude.ai/new' });
  });

  it('asks for nothing when the host is connected and a tab is open', () => {
    expect(onboardingSteps(status({ connected: true, connects: 1 }), [tab])).toEqual([]);
  });

  it('asks for nothing that has not loaded yet, and not for the host while it is only disconnected', () => {
    expect(onboardingSteps(undefined, undefined)).toEqual([]);
    expect(onboardingSteps(status({ lastError: 'Native host has exited.', connects: 3 }), [tab])).toEqual([]);
  });

  it('counts a claude.ai/new tab as open', () => {
    expect(onboardingSteps(status({ connected: true }), [{ ...tab, address: undefined, url: 'https://claude.ai/new' }])).toEqual([]);
  });
});

describe('groupAgents', () => {
  it('groups by kind in a fixed order and keeps the hub order within a kind', () => {
    const agents = [
      agent('api:local/b'),
      agent('claude-code:local/s2'),
      agent('claude-ai:local/c1'),
      agent('api:local/a'),
      agent('claude-code:local/s1'),
    ];
    const groups = groupAgents(agents);
    expect(groups.map((g) => [g.label, g.agents.map((a) => a.title)])).toEqual([
      ['claude.ai conversations', ['c1']],
      ['Claude Code sessions', ['s2', 's1']],
      ['API clients', ['b', 'a']],
    ]);
  });

  it('gives a kind with no agent no group, and unlisted kinds none at all', () => {
    expect(groupAgents([agent('api:local/a')]).map((g) => g.kind)).toEqual(['api']);
    expect(groupAgents([agent('test:local/t'), agent('extension:local/popup')])).toEqual([]);
    expect(groupAgents([])).toEqual([]);
  });

  it('counts down to a limit or hold that has not ended, only', () => {
    expect(countdownOf(agent('claude-code:local/s', { state: 'rate-limited', until: NOW + 60_000 }), NOW)).toBe(NOW + 60_000);
    expect(countdownOf(agent('claude-code:local/s', { state: 'held', until: NOW + 1 }), NOW)).toBe(NOW + 1);
    expect(countdownOf(agent('claude-code:local/s', { state: 'broken', until: NOW + 5_000 }), NOW)).toBe(NOW + 5_000);
    expect(countdownOf(agent('claude-code:local/s', { state: 'rate-limited', until: NOW }), NOW)).toBeUndefined();
    expect(countdownOf(agent('claude-code:local/s', { state: 'rate-limited' }), NOW)).toBeUndefined();
    expect(countdownOf(agent('claude-code:local/s', { state: 'ready', until: NOW + 60_000 }), NOW)).toBeUndefined();
  });

  it('offers every agent but ended sessions to write to', () => {
    const list = [agent('claude-code:local/a', { state: 'ended' }), agent('claude-code:local/b', { state: 'rate-limited' }), agent('claude-ai:local/c', { state: 'offline' })];
    expect(addressableAgents(list).map((a) => a.title)).toEqual(['b', 'c']);
  });
});

describe('addressLabel', () => {
  const agents = [agent('claude-code:local/abc', { title: 'Fix the parser' })];
  it('names agents by title, the popup as you, topics and broadcast, else the instance and kind', () => {
    expect(addressLabel('claude-code:local/abc', agents)).toBe('Fix the parser');
    expect(addressLabel(POPUP_ADDRESS, agents)).toBe('you');
    expect(addressLabel('topic:builds')).toBe('#builds');
    expect(addressLabel('broadcast')).toBe('everyone');
    expect(addressLabel('api:local/e2e-client')).toBe('e2e-client (api)');
    expect(addressLabel('claude-code:local/0f2b3c4d-1111-2222-3333-444455556666')).toBe('0f2b3c4d… (claude-code)');
  });
});

describe('inbox and threads', () => {
  it('counts as unread the messages to the popup that reached it and are not acked', () => {
    const entries = [
      entry({ from: 'api:local/a', to: [POPUP_ADDRESS] }, { [POPUP_ADDRESS]: 'delivered' }),
      entry({ from: 'api:local/a', to: [POPUP_ADDRESS] }, { [POPUP_ADDRESS]: 'acked' }),
      entry({ from: POPUP_ADDRESS, to: ['api:local/a'] }, { 'api:local/a': 'delivered' }),
      entry({ from: 'api:local/a', to: [POPUP_ADDRESS, 'api:local/b'] }, { [POPUP_ADDRESS]: 'delivered', 'api:local/b': 'acked' }),
      entry({ from: 'api:local/a', to: [POPUP_ADDRESS] }, { [POPUP_ADDRESS]: 'failed' }),
    ];
    expect(unreadDeliveries(entries).map((u) => u.messageId)).toEqual([entries[0].message.id, entries[3].message.id]);
  });

  it('groups the newest messages by thread, newest thread first, with subject, participants, counts and unread', () => {
    const ask = entry({ from: POPUP_ADDRESS, to: ['claude-code:local/s1'], body: { text: '# Review the PR\nplease' } }, { 'claude-code:local/s1': 'acked' });
    const other = entry({ from: 'api:local/a', to: ['api:local/b'], body: { text: 'ping' } }, { 'api:local/b': 'delivered' });
    const answer = entry(
      { from: 'claude-code:local/s1', to: [POPUP_ADDRESS], threadId: ask.message.threadId, inReplyTo: ask.message.id, kind: 'reply', body: { text: 'Done.' } },
      { [POPUP_ADDRESS]: 'delivered' },
    );
    // The hub answers newest first.
    const threads = groupThreads([answer, other, ask]);
    expect(threads).toHaveLength(2);
    expect(threads[0]).toMatchObject({
      threadId: ask.message.threadId,
      subject: 'Review the PR',
      participants: [POPUP_ADDRESS, 'claude-code:local/s1'],
      count: 2,
      unread: 1,
    });
    expect(threads[0].last.id).toBe(answer.message.id);
    expect(threads[1]).toMatchObject({ threadId: other.message.threadId, subject: 'ping', count: 1, unread: 0 });
  });

  it('adds older unread messages outside the newest ones, once, and keeps at most `limit` threads', () => {
    const old = entry({ from: 'api:local/a', to: [POPUP_ADDRESS], body: { text: 'old but unread' } }, { [POPUP_ADDRESS]: 'delivered' });
    const recent = Array.from({ length: 30 }, (_, i) => entry({ from: 'api:local/a', to: ['api:local/b'], body: { text: `m${i}` } }, { 'api:local/b': 'delivered' })).reverse();
    const threads = groupThreads(recent, [old], 20);
    expect(threads).toHaveLength(20);
    expect(threads[0].subject).toBe('m29');
    // Older than every recent thread: past the limit, so not shown; with room, it is, counted once.
    const roomy = groupThreads(recent.slice(0, 3), [old, old]);
    expect(roomy.map((t) => t.subject)).toEqual(['m29', 'm28', 'm27', 'old but unread']);
    expect(roomy[3].unread).toBe(1);
  });

  it('names a thread of code alone by its first line, and an empty one plainly', () => {
    expect(firstLine('  \n')).toBe('(no text)');
    expect(firstLine('x'.repeat(100), 10)).toBe('xxxxxxxxx…');
    const code = entry({ from: 'api:local/a', to: ['api:local/b'], body: { text: '', code: [{ code: 'npm test\nmore' }] } });
    expect(groupThreads([code])[0].subject).toBe('npm test');
  });

  it('shows a thread oldest first and acks only its unread messages to the popup', () => {
    const first = entry({ from: POPUP_ADDRESS, to: ['api:local/a'] }, { 'api:local/a': 'delivered' });
    const second = entry({ from: 'api:local/a', to: [POPUP_ADDRESS], threadId: first.message.threadId }, { [POPUP_ADDRESS]: 'delivered' });
    const third = entry({ from: 'api:local/a', to: [POPUP_ADDRESS], threadId: first.message.threadId }, { [POPUP_ADDRESS]: 'acked' });
    const { entries, toAck } = threadMessages([third, second, first]);
    expect(entries.map((e) => e.message.id)).toEqual([first, second, third].map((e) => e.message.id));
    expect(toAck).toEqual([second.message.id]);
  });

  it('says how long ago', () => {
    expect(formatAgo(NOW - 10_000, NOW)).toBe('just now');
    expect(formatAgo(NOW - 5 * 60_000, NOW)).toBe('5 min ago');
    expect(formatAgo(NOW - 3 * 3_600_000, NOW)).toBe('3 h ago');
    expect(formatAgo(NOW - 72 * 3_600_000, NOW)).toBe('3 d ago');
    expect(formatAgo(NOW + 5_000, NOW)).toBe('just now');
  });
});

describe('recipientRows', () => {
  it('offers Cancel while a delivery is unfinished and Retry once it failed or expired', () => {
    const e = entry(
      { from: POPUP_ADDRESS, to: ['api:local/q', 'api:local/s', 'api:local/d', 'api:local/k', 'api:local/f', 'api:local/x'] },
      { 'api:local/q': 'queued', 'api:local/s': 'sent', 'api:local/d': 'delivered', 'api:local/k': 'acked', 'api:local/f': 'failed', 'api:local/x': 'expired' },
      { ackRequired: true },
    );
    expect(recipientRows(e).map((r) => [r.recipient.split('/')[1], r.state, r.actions])).toEqual([
      ['q', 'queued', ['cancel']],
      ['s', 'sent', ['cancel']],
      ['d', 'delivered', ['cancel']],
      ['k', 'acked', []],
      ['f', 'failed', ['retry']],
      ['x', 'expired', ['retry']],
    ]);
  });

  it('offers nothing for a delivered message that asked no ack: it is finished', () => {
    const e = entry({ from: POPUP_ADDRESS, to: ['api:local/d'] }, { 'api:local/d': 'delivered' }, { ackRequired: false });
    expect(recipientRows(e)[0].actions).toEqual([]);
  });

  it('shows the progress note while unfinished, else the error or the last step note', () => {
    const e = entry({ from: POPUP_ADDRESS, to: ['claude-ai:local/c'] }, { 'claude-ai:local/c': 'sent' }, { ackRequired: true, history: [{ state: 'sent', at: NOW, note: 'typed into the tab' }] });
    const key = progressKey(e.message.id, 'claude-ai:local/c');
    expect(recipientRows(e)[0].note).toBe('typed into the tab');
    expect(recipientRows(e, new Map([[key, 'answering: 1,234 characters so far']]))[0].note).toBe('answering: 1,234 characters so far');

    const failed = entry({ from: POPUP_ADDRESS, to: ['api:local/f'] }, { 'api:local/f': 'failed' }, { lastError: 'cancelled by the person' });
    const failedKey = progressKey(failed.message.id, 'api:local/f');
    expect(recipientRows(failed, new Map([[failedKey, 'stale progress']]))[0].note).toBe('cancelled by the person');
  });
});

describe('sendRequestOf', () => {
  const valid = (form: Partial<typeof EMPTY_FORM>) => {
    const built = sendRequestOf({ ...EMPTY_FORM, text: 'hi', ...form });
    if (!built.ok) throw new Error(built.error);
    // Whatever the form builds, the hub's own schema accepts.
    SendRequest.parse(built.request);
    return built.request;
  };

  it('sends to the agents ticked and the addresses typed, once each, from the popup', () => {
    expect(valid({ agents: ['api:local/a', 'claude-code:local/s'], otherAddresses: 'test:local/x, api:local/a' })).toMatchObject({
      from: POPUP_ADDRESS,
      to: ['api:local/a', 'claude-code:local/s', 'test:local/x'],
      kind: 'prompt',
      body: 'hi',
      priority: 'normal',
      ttl: 'medium',
      ackRequired: true,
    });
  });

  it('sends to a topic (with or without its prefix) or to everyone', () => {
    expect(valid({ mode: 'topic', topic: 'builds', agents: ['api:local/a'] }).to).toEqual(['topic:builds']);
    expect(valid({ mode: 'topic', topic: 'topic:ci/main' }).to).toEqual(['topic:ci/main']);
    expect(valid({ mode: 'broadcast', agents: ['api:local/a'] }).to).toEqual(['broadcast']);
  });

  it('asks A and sends the answer to B', () => {
    const request = valid({ agents: ['claude-ai:local/a'], replyTo: 'claude-code:local/b', priority: 'high', ttl: 'short', ackRequired: false });
    expect(request).toMatchObject({ to: ['claude-ai:local/a'], replyTo: 'claude-code:local/b', priority: 'high', ttl: 'short', ackRequired: false });
    expect(valid({ agents: ['claude-ai:local/a'], replyTo: '' })).not.toHaveProperty('replyTo');
    expect(valid({ agents: ['claude-ai:local/a'], replyTo: POPUP_ADDRESS })).not.toHaveProperty('replyTo');
  });

  it('says what is wrong with a form the hub would refuse', () => {
    expect(sendRequestOf({ ...EMPTY_FORM, text: 'hi' })).toEqual({ ok: false, error: 'Pick at least one agent.' });
    expect(sendRequestOf({ ...EMPTY_FORM, agents: ['api:local/a'], text: '  ' })).toEqual({ ok: false, error: 'Write a message.' });
    expect(sendRequestOf({ ...EMPTY_FORM, otherAddresses: 'nobody', text: 'hi' })).toEqual({ ok: false, error: '"nobody" is not an agent address (kind:device/instance).' });
    expect(sendRequestOf({ ...EMPTY_FORM, otherAddresses: 'topic:x', text: 'hi' }).ok).toBe(false);
    expect(sendRequestOf({ ...EMPTY_FORM, mode: 'topic', topic: '', text: 'hi' })).toEqual({ ok: false, error: 'Name a topic.' });
    expect(sendRequestOf({ ...EMPTY_FORM, mode: 'topic', topic: 'Bad Name', text: 'hi' }).ok).toBe(false);
  });

  it('keeps an id it is given, so a resend is accepted once', () => {
    const built = sendRequestOf({ ...EMPTY_FORM, agents: ['api:local/a'], text: 'hi' }, '01900000-0000-7000-8000-000000000001');
    expect(built.ok && built.request.id).toBe('01900000-0000-7000-8000-000000000001');
  });
});
