import { describe, expect, it } from 'vitest';
import { ClaudeTabs, NEW_CONVERSATION, chatAddress, type ClaudeTabsHub } from '../../../src/adapters/claude-ai/tabs';
import type { TabCommand, TabView } from '../../../src/protocol/claude-tab';
import type { DestinationRecord, HoldRequest } from '../../../src/bus/destinations';
import type { DeliveryAttempt } from '../../../src/bus/ports';
import { newMessageId, type Envelope } from '../../../src/protocol/envelope';

const CONVERSATION = '0b9c1a52-6f4e-4d8b-9b0e-3f1c2d4e5a6b';
const ADDRESS = chatAddress(CONVERSATION);

function view(overrides: Partial<TabView> = {}): TabView {
  return {
    url: `https://claude.ai/chat/${CONVERSATION}`,
    title: 'Fibonacci in Python',
    conversationId: CONVERSATION,
    page: { state: 'ready' },
    personWriting: false,
    adapterVersion: 'claude.ai/test',
    matched: { composer: 0, send: 0, fileInput: 0 },
    ...overrides,
  };
}

function envelope(overrides: Partial<Envelope> = {}): Envelope {
  const id = newMessageId();
  return {
    id,
    from: 'extension:local/popup',
    to: [ADDRESS],
    replyTo: 'extension:local/popup',
    threadId: id,
    kind: 'prompt',
    body: { text: 'Write a Fibonacci function.' },
    priority: 'normal',
    ttl: 'medium',
    createdAt: 1,
    hops: 0,
    ackRequired: true,
    ...overrides,
  };
}

/** A hub that records what the adapter asks of it, and tabs whose content scripts the test plays. */
function fixture() {
  const sent: unknown[] = [];
  const acks: [string, string][] = [];
  const holds: HoldRequest[] = [];
  const released: string[] = [];
  const woken: string[][] = [];
  const opened: string[] = [];
  const destinations: DestinationRecord[] = [];
  const saved: Record<string, string>[] = [];
  let now = 1_000;
  const hub: ClaudeTabsHub = {
    send: async (request) => void sent.push(request),
    ack: async (messageId, recipient) => void acks.push([messageId, recipient]),
    hold: async (request) => {
      holds.push(request);
      const record = { address: request.address, breaker: 'closed', failures: 0, trips: 0, history: [], hold: { strategy: request.strategy, reason: request.reason, since: now, probes: 0 } };
      destinations.splice(0, destinations.length, ...destinations.filter((d) => d.address !== request.address), record as unknown as DestinationRecord);
    },
    release: async (address) => {
      released.push(address);
      destinations.splice(0, destinations.length, ...destinations.filter((d) => d.address !== address));
    },
    destinations: () => destinations,
    reachable: async (addresses) => void woken.push(addresses),
    progress: () => {},
    noteAgent: async () => {},
    openTab: async (url) => {
      opened.push(url);
      return 100 + opened.length;
    },
    aliases: { load: async () => ({}), save: async (aliases) => void saved.push(aliases) },
    now: () => now,
    log: () => {},
  };
  const tabs = new ClaudeTabs(hub);
  /** A tab whose content script answers prompts as `script` says. */
  const tab = (tabId: number, script: (command: Extract<TabCommand, { type: 'prompt' }>) => unknown = (c) => ({ type: 'typed', requestId: c.requestId, conversationId: CONVERSATION })) => {
    const commands: TabCommand[] = [];
    const link = tabs.connect(tabId, {
      postMessage: (command) => {
        commands.push(command);
        if (command.type === 'prompt') queueMicrotask(() => link.report(script(command)));
      },
    });
    return { link, commands };
  };
  const flush = () => new Promise((resolve) => setTimeout(resolve, 5));
  return { tabs, tab, sent, acks, holds, released, woken, opened, saved, flush, advance: (ms: number) => (now += ms) };
}

const attempt = (env: Envelope, recipient = ADDRESS): DeliveryAttempt => ({ envelope: env, recipient, attempt: 1 });

describe('claude.ai tabs as agents', () => {
  it('names an open conversation by its /chat/<id>, with its title and state', async () => {
    const { tabs, tab, flush } = fixture();
    tab(7).link.report({ type: 'view', view: view() });
    await flush();
    expect(tabs.agents()).toEqual([
      expect.objectContaining({ address: ADDRESS, tabId: 7, title: 'Fibonacci in Python', state: 'ready', personWriting: false }),
    ]);
  });

  it('types a prompt, is delivered when the tab says it is in the conversation, and is busy until the answer', async () => {
    const { tabs, tab, flush, sent, acks } = fixture();
    const { link, commands } = tab(7);
    link.report({ type: 'view', view: view() });
    await flush();
    const env = envelope({ body: { text: 'Write a Fibonacci function.', code: [{ language: 'python', code: 'def fib(n): ...' }] } });
    expect(tabs.busy(ADDRESS)).toBeUndefined();
    expect(await tabs.deliver(attempt(env))).toEqual({ status: 'delivered' });
    const prompt = commands[0] as Extract<TabCommand, { type: 'prompt' }>;
    expect(prompt).toMatchObject({ type: 'prompt', messageId: env.id, recipient: ADDRESS, replyTo: 'extension:local/popup', files: [] });
    expect(prompt.text).toBe('Write a Fibonacci function.\n\n```python\ndef fib(n): ...\n```');
    expect(tabs.busy(ADDRESS)).toBe(`answering ${env.id}`);

    link.report({ type: 'answer', answer: { messageId: env.id, recipient: ADDRESS, replyTo: env.replyTo, replyId: prompt.replyId, threadId: env.threadId, markdown: '```python\nfib\n```', conversationId: CONVERSATION } });
    await flush();
    expect(sent).toEqual([
      { id: prompt.replyId, from: ADDRESS, to: ['extension:local/popup'], replyTo: ADDRESS, inReplyTo: env.id, threadId: env.threadId, kind: 'reply', body: { text: '```python\nfib\n```' } },
    ]);
    expect(acks).toEqual([[env.id, ADDRESS]]);
    expect(commands.at(-1)).toEqual({ type: 'answer-stored', messageId: env.id });
    expect(tabs.busy(ADDRESS)).toBeUndefined();
  });

  it('is busy while the person writes, while Claude answers, and while a reserved attempt is being typed', async () => {
    const { tabs, tab, flush, advance, woken } = fixture();
    const { link } = tab(7);
    link.report({ type: 'view', view: view({ personWriting: true }) });
    await flush();
    expect(tabs.busy(ADDRESS)).toBe('the person is writing in this conversation');
    link.report({ type: 'view', view: view({ page: { state: 'answering' } }) });
    await flush();
    expect(tabs.busy(ADDRESS)).toBe('Claude is answering in this conversation');
    woken.length = 0;
    link.report({ type: 'view', view: view() });
    await flush();
    expect(woken).toEqual([[ADDRESS, NEW_CONVERSATION]]); // the waiting prompt may go now
    tabs.reserve(ADDRESS);
    expect(tabs.busy(ADDRESS)).toBe('a prompt is being typed into this conversation');
    advance(41_000); // an attempt that never came frees the tab
    expect(tabs.busy(ADDRESS)).toBeUndefined();
  });

  it('retries a refused prompt and fails one that can never go in', async () => {
    const { tabs, tab, flush } = fixture();
    let final = false;
    const { link } = tab(7, (c) => ({ type: 'refused', requestId: c.requestId, reason: final ? 'model "Claude 1" is not offered here' : 'the person is writing in this conversation', final }));
    link.report({ type: 'view', view: view() });
    await flush();
    expect(await tabs.deliver(attempt(envelope()))).toEqual({ status: 'retry', reason: 'the person is writing in this conversation' });
    final = true;
    expect(await tabs.deliver(attempt(envelope()))).toEqual({ status: 'failed', reason: 'model "Claude 1" is not offered here' });
    expect(tabs.busy(ADDRESS)).toBeUndefined();
  });

  it('opens a conversation that is not open, and a new one on demand, then knows it by its first message', async () => {
    const { tabs, tab, flush, opened, saved, sent } = fixture();
    const env = envelope({ to: [NEW_CONVERSATION], headers: { model: 'Opus' } });
    const delivering = tabs.deliver(attempt(env, NEW_CONVERSATION));
    await flush();
    expect(opened).toEqual(['https://claude.ai/new']);
    const { link, commands } = tab(101);
    link.report({ type: 'view', view: view({ url: 'https://claude.ai/new', conversationId: undefined, title: 'Claude' }) });
    expect(await delivering).toEqual({ status: 'delivered' });
    expect(commands[0]).toMatchObject({ type: 'prompt', model: 'Opus', recipient: NEW_CONVERSATION });
    expect(saved.at(-1)).toEqual({ [`claude-ai:local/new-${env.id}`]: CONVERSATION });
    // The conversation is now known both ways.
    expect(tabs.busy(`claude-ai:local/new-${env.id}`)).toBe(`answering ${env.id}`);
    link.report({ type: 'answer', answer: { messageId: env.id, recipient: NEW_CONVERSATION, replyTo: env.replyTo, replyId: (commands[0] as { replyId: string }).replyId, threadId: env.threadId, markdown: 'hello', conversationId: CONVERSATION } });
    await flush();
    expect(sent[0]).toMatchObject({ from: ADDRESS, inReplyTo: env.id });

    // A closed conversation is opened again at its URL.
    link.disconnected();
    const again = tabs.deliver(attempt(envelope(), `claude-ai:local/new-${env.id}`));
    await flush();
    expect(opened.at(-1)).toBe(`https://claude.ai/chat/${CONVERSATION}`);
    tab(102).link.report({ type: 'view', view: view() });
    expect(await again).toEqual({ status: 'delivered' });
  });

  it('fails an address that names no conversation', async () => {
    const { tabs } = fixture();
    expect(await tabs.deliver(attempt(envelope(), 'claude-ai:local/whatever'))).toMatchObject({ status: 'failed' });
    expect(await tabs.deliver(attempt(envelope(), 'claude-ai:laptop/chat-1234abcd'))).toMatchObject({ status: 'failed' });
  });

  it('holds a limited conversation until the reset, a signed-out or broken one until it recovers, and lifts only its own holds', async () => {
    const { tab, flush, holds, released } = fixture();
    const { link } = tab(7);
    link.report({ type: 'view', view: view({ page: { state: 'rate-limited', text: 'Your limit resets at 3:00 PM.', resetAt: 5_000_000 } }) });
    await flush();
    expect(holds).toEqual([
      { address: ADDRESS, strategy: 'session_pause', until: 5_000_000, reason: 'claude.ai: usage limit (Your limit resets at 3:00 PM.)' },
      { address: NEW_CONVERSATION, strategy: 'session_pause', until: 5_000_000, reason: 'claude.ai: usage limit (Your limit resets at 3:00 PM.)' },
    ]);
    link.report({ type: 'view', view: view() });
    await flush();
    expect(released.sort()).toEqual([ADDRESS, NEW_CONVERSATION].sort());

    link.report({ type: 'view', view: view({ page: { state: 'broken', missing: ['the prompt editor', 'the send button'] } }) });
    await flush();
    expect(holds.at(-1)).toEqual({ address: ADDRESS, strategy: 'exponential_backoff', reason: 'claude.ai: adapter broken: the prompt editor, the send button not found' });
  });

  it('ignores a report that is not one, and goes on', async () => {
    const { tabs, tab, flush } = fixture();
    const { link } = tab(7);
    link.report({ type: 'view', view: { url: 'javascript:alert(1)', title: 1 } });
    link.report({ type: 'answer', answer: { messageId: 'not-an-id' } });
    link.report('<img src=x onerror=alert(1)>');
    await flush();
    expect(tabs.agents()[0].state).toBe('connecting');
    link.report({ type: 'view', view: view() });
    await flush();
    expect(tabs.agents()[0].state).toBe('ready');
  });
});
