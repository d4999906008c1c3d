/**
 * claude.ai conversations as agents (issue 6), end to end: the built extension in a real Chromium,
 * whose claude.ai is the fixture (test/support/claude-site/) served over HTTPS on 127.0.0.1 through
 * a host resolver rule, so the production manifest's match pattern is what runs the content script.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { launchExtension, waitFor, type ExtensionBrowser } from '../support/extension-browser';
import { claudeSiteArgs, startClaudeSite, DEFAULT_CODE, type ClaudeSite } from '../support/claude-site/server';
import { installTestHost, type InstalledHost } from '../support/host-fixture';
import type { ClaudeTabAgent } from '../../src/adapters/claude-ai/tabs';
import type { MessageStatus, SendReceipt } from '../../src/bus/bus';
import type { StoredEntry } from '../../src/bus/ports';
import type { DestinationRecord } from '../../src/bus/destinations';
import { CANDIDATES, type Part } from '../../src/adapters/claude-ai/site';

const ASKER = 'extension:local/e2e';
const NEW = 'claude-ai:local/new';
const chat = (id: string) => `claude-ai:local/chat-${id}`;

let site: ClaudeSite;
let browser: ExtensionBrowser;
const pages: Page[] = [];

beforeAll(async () => {
  site = await startClaudeSite({ answerDefaults: { chunkMs: 30, chunkChars: 60, delayMs: 50 } });
  browser = await launchExtension({ args: claudeSiteArgs(site) });
});
afterAll(async () => {
  await browser?.close();
  await site?.close();
});
beforeEach(() => site.control.reset());
afterEach(async () => {
  // Every tab the test (or the hub) opened on claude.ai closes, so the next test starts with none.
  for (const page of browser.context.pages()) if (page.url().startsWith('https://claude.ai')) await page.close();
  pages.length = 0;
  await waitFor(() => tabs(), (list) => list.length === 0, 10_000, 'the closed tabs to leave the hub');
});

const tabs = () => browser.request<ClaudeTabAgent[]>({ type: 'claude-tabs' });
const status = (id: string) => browser.request<MessageStatus>({ type: 'status', id });
const send = (message: Record<string, unknown>) => browser.request<SendReceipt>({ type: 'send', message: { from: ASKER, ...message } });

async function openConversation(path: string): Promise<Page> {
  const page = await browser.context.newPage();
  pages.push(page);
  await page.goto(site.url(path));
  return page;
}

async function readyTab(address: string): Promise<ClaudeTabAgent> {
  const list = await waitFor(tabs, (l) => l.some((t) => t.address === address && t.state === 'ready'), 20_000, `${address} to be ready`);
  return list.find((t) => t.address === address)!;
}

async function replyTo(id: string, timeoutMs = 30_000): Promise<StoredEntry> {
  const acked = await waitFor(() => status(id), (s) => s.deliveries.every((d) => d.state === 'acked'), timeoutMs, `${id} to be acked`);
  const thread = await browser.request<StoredEntry[]>({ type: 'list', threadId: acked.message.threadId });
  const reply = thread.find((e) => e.message.inReplyTo === id);
  if (!reply) throw new Error(`no reply to ${id} in its thread`);
  return reply;
}

describe('claude.ai tabs as agents', () => {
  it('types a prompt from an extension page and routes the Markdown answer back as a reply that acks it', async () => {
    const conversation = site.control.addConversation();
    await openConversation(`/chat/${conversation.id}`);
    const address = chat(conversation.id);
    const agent = await readyTab(address);
    expect(agent).toMatchObject({ title: conversation.title, personWriting: false, adapterVersion: expect.stringMatching(/^claude\.ai\//) });

    const prompt = 'Write a Fibonacci function.\nKeep it short — and <b>plain</b> text.';
    const sent = await send({ to: address, body: prompt, ackRequired: true });
    const reply = await replyTo(sent.id);
    const { deliveries } = await status(sent.id);
    expect(deliveries[0].history.map((h) => h.state)).toEqual(['queued', 'sent', 'delivered', 'acked']);

    // The prompt went in as text through ProseMirror: the site's own state holds it exactly.
    const turns = site.control.conversation(conversation.id)!.turns.filter((t) => t.role === 'user');
    expect(turns.at(-1)).toMatchObject({ role: 'user', text: prompt });

    expect(reply.message).toMatchObject({ from: address, to: [ASKER], kind: 'reply', inReplyTo: sent.id });
    const text = reply.message.body.text;
    expect(text).toContain('You asked: “Write a Fibonacci function. Keep it short — and <b>plain</b>…”'); // the site quotes 60 characters, as text
    expect(text).toContain('**bold**, *emphasis* and `inline_code()`');
    expect(text).toContain('1. Read the question\n2. Think it through\n   - one nested point\n   - another nested point\n3. Answer it');
    expect(text).toContain('```python\n' + DEFAULT_CODE.trimEnd() + '\n```');
    expect(text).toContain('**Artifact: Fibonacci helper** (Code · Python)');
    expect(text).not.toContain('Copy'); // the code block's button is not part of the answer
    // The old, finished answer on the page was not taken for the new one.
    expect(text).not.toContain(conversation.turns.find((t) => t.role === 'assistant')!.text.slice(0, 40));
  });

  it('takes a prompt from the local API and sends the answer to the API client', async () => {
    const host: InstalledHost = await installTestHost();
    const withHost = await launchExtension({ profileDir: host.profileDir, env: host.env, args: claudeSiteArgs(site) });
    try {
      await waitFor(() => withHost.hubStatus(), (s) => s.nativeHost.connected, 30_000, 'the native host');
      const conversation = site.control.addConversation();
      const page = await withHost.context.newPage();
      await page.goto(site.url(`/chat/${conversation.id}`));
      const address = chat(conversation.id);
      await waitFor(() => withHost.request<ClaudeTabAgent[]>({ type: 'claude-tabs' }), (l) => l.some((t) => t.address === address && t.state === 'ready'), 20_000, 'the tab');
      const id = await host.post({ from: 'e2e-asker', to: address, type: 'request', payload: 'Summarise the plan from the API' });
      const acked = await waitFor(() => withHost.request<MessageStatus>({ type: 'status', id }).catch(() => undefined), (s) => s?.deliveries[0]?.state === 'acked', 30_000, 'the prompt to be acked');
      const thread = await withHost.request<StoredEntry[]>({ type: 'list', threadId: acked!.message.threadId });
      const reply = thread.find((e) => e.message.inReplyTo === id)!;
      expect(reply.message).toMatchObject({ from: address, to: ['api:local/e2e-asker'] });
      expect(reply.message.body.text).toContain('You asked: “Summarise the plan from the API”');
      // The reply reaches the API client's inbox through the host.
      await waitFor(() => withHost.request<MessageStatus>({ type: 'status', id: reply.message.id }), (s) => s.deliveries[0]?.state !== 'queued' && s.deliveries[0]?.state !== 'sent', 20_000, 'the reply to reach the host');
    } finally {
      await withHost.close();
      await host.remove();
    }
  });

  it('attaches a file the message carries', async () => {
    const conversation = site.control.addConversation();
    await openConversation(`/chat/${conversation.id}`);
    await readyTab(chat(conversation.id));
    const data = Buffer.from('name,score\nada,3\n').toString('base64');
    const sent = await send({ to: chat(conversation.id), body: { text: 'What is in this file?', attachments: [{ name: 'scores.csv', mimeType: 'text/csv', size: 17, data }] }, ackRequired: true });
    await replyTo(sent.id);
    const turn = site.control.conversation(conversation.id)!.turns.filter((t) => t.role === 'user').at(-1)!;
    expect(turn).toMatchObject({ text: 'What is in this file?', attachments: [{ name: 'scores.csv', size: 17, type: 'text/csv' }] });
  });

  it('opens a new conversation on demand with the chosen model, then knows it by its message and its URL', async () => {
    const sent = await send({ to: NEW, body: 'Start something new', headers: { model: 'Opus' }, ackRequired: true });
    const reply = await replyTo(sent.id);
    const created = site.control.conversations().find((c) => c.turns.some((t) => t.role === 'user' && t.text === 'Start something new'))!;
    expect(created.model).toBe('Claude Opus 4.1');
    expect(reply.message.from).toBe(chat(created.id));
    const listed = await readyTab(chat(created.id));
    expect(listed.url).toBe(site.url(`/chat/${created.id}`));

    // Its first address still reaches it, in the same tab.
    const follow = await send({ to: `claude-ai:local/new-${sent.id}`, body: 'And a follow-up', ackRequired: true });
    await replyTo(follow.id);
    expect(site.control.conversation(created.id)!.turns.filter((t) => t.role === 'user').map((t) => t.text)).toEqual(['Start something new', 'And a follow-up']);
    expect((await tabs()).filter((t) => t.address === chat(created.id))).toHaveLength(1);

    // In a project: the new conversation starts on the project's page.
    const inProject = await send({ to: NEW, body: 'Start it in the project', headers: { project: 'proj-42' }, ackRequired: true });
    await replyTo(inProject.id);
    const projectConversation = site.control.conversations().find((c) => c.turns.some((t) => t.role === 'user' && t.text === 'Start it in the project'))!;
    expect(projectConversation.project).toBe('proj-42');
  });

  it('answers in two tabs at once while one tab takes its two prompts in order', async () => {
    const [a, b] = [site.control.addConversation(), site.control.addConversation()];
    site.control.scriptAnswer('slow', { chunkMs: 60, chunkChars: 20 });
    await openConversation(`/chat/${a.id}`);
    await openConversation(`/chat/${b.id}`);
    await Promise.all([readyTab(chat(a.id)), readyTab(chat(b.id))]);
    const first = await send({ to: chat(a.id), body: 'slow first to A', ackRequired: true });
    const second = await send({ to: chat(a.id), body: 'second to A', ackRequired: true });
    const other = await send({ to: chat(b.id), body: 'slow to B', ackRequired: true });
    await Promise.all([replyTo(first.id), replyTo(second.id), replyTo(other.id)]);

    const timeline = site.control.timeline();
    const at = (event: string, text: string) => timeline.find((e) => e.event === event && (e.text ?? '').includes(text))!.at;
    // A's second prompt went in only after A's first answer ended; B answered while A did.
    expect(at('prompt-received', 'second to A')).toBeGreaterThanOrEqual(at('answer-ended', 'slow first to A'));
    expect(at('prompt-received', 'slow to B')).toBeLessThan(at('answer-ended', 'slow first to A'));
    expect(site.control.conversation(a.id)!.turns.filter((t) => t.role === 'user').map((t) => t.text).slice(-2)).toEqual(['slow first to A', 'second to A']);
  });

  it('waits while the person is typing in the conversation, and types once they stop', async () => {
    const conversation = site.control.addConversation();
    const page = await openConversation(`/chat/${conversation.id}`);
    const address = chat(conversation.id);
    await readyTab(address);
    await page.click('div.ProseMirror');
    await page.keyboard.type('my own draft');
    await waitFor(tabs, (l) => l.some((t) => t.address === address && t.personWriting), 10_000, 'the person writing to show');
    const sent = await send({ to: address, body: 'From another agent', ackRequired: true });
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const waiting = await status(sent.id);
    expect(waiting.deliveries[0].state).toBe('queued');
    expect(waiting.deliveries[0].history.at(-1)!.note).toBe('waiting: the person is writing in this conversation');
    expect(await page.locator('div.ProseMirror').innerText()).toBe('my own draft'); // nothing typed over the draft

    await page.keyboard.press('Enter'); // the person sends their own prompt
    await replyTo(sent.id, 40_000);
    expect(site.control.conversation(conversation.id)!.turns.filter((t) => t.role === 'user').map((t) => t.text).slice(-2)).toEqual(['my own draft', 'From another agent']);
  });

  it('holds the queue at the usage-limit notice and lets it go at the reset', async () => {
    const conversation = site.control.addConversation();
    await openConversation(`/chat/${conversation.id}`);
    const address = chat(conversation.id);
    await readyTab(address);
    const resetAt = Date.now() + 60 * 60_000;
    site.control.limit({ resetAt });
    const limited = await waitFor(tabs, (l) => l.some((t) => t.address === address && t.state === 'rate-limited'), 10_000, 'the limit to show');
    expect(limited.find((t) => t.address === address)!.detail).toMatch(/usage limit/);
    const held = await waitFor(
      () => browser.request<DestinationRecord[]>({ type: 'destinations' }),
      (list) => list.some((d) => d.address === address && d.hold?.strategy === 'session_pause'),
      10_000,
      'the hold',
    );
    const hold = held.find((d) => d.address === address)!.hold!;
    // The notice shows a clock time to the minute: the hold ends at that minute.
    expect(Math.abs(hold.until! - resetAt)).toBeLessThan(60_000);

    const sent = await send({ to: address, body: 'Held until the reset', ackRequired: true });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect((await status(sent.id)).deliveries[0].state).toBe('queued');

    site.control.unlimit(); // the reset came: the notice goes, the hold is lifted, the prompt goes in
    await replyTo(sent.id);
    expect((await browser.request<DestinationRecord[]>({ type: 'destinations' })).find((d) => d.address === address)!.hold).toBeUndefined();
  });

  it('lets the queue go at the reset time by itself, though the page still shows the notice', async () => {
    const conversation = site.control.addConversation();
    const page = await openConversation(`/chat/${conversation.id}`);
    const address = chat(conversation.id);
    await readyTab(address);
    // The notice names a clock time to the minute: a reset on a minute's start is read exactly.
    const resetAt = Math.ceil((Date.now() + 10_000) / 60_000) * 60_000;
    site.control.limit({ resetAt, endsAtReset: true });
    await waitFor(
      () => browser.request<DestinationRecord[]>({ type: 'destinations' }),
      (list) => list.some((d) => d.address === address && d.hold?.until === resetAt),
      10_000,
      'the hold until the reset',
    );
    const sent = await send({ to: address, body: 'Goes at the reset', ackRequired: true });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect((await status(sent.id)).deliveries[0].state).toBe('queued');
    const reply = await replyTo(sent.id, resetAt - Date.now() + 30_000);
    expect(reply.message.body.text).toContain('Goes at the reset');
    expect(await page.locator('[data-testid="usage-limit-notice"]').count()).toBe(1); // never reloaded: the old notice is still there
    const typedAt = site.control.timeline().find((e) => e.event === 'prompt-received' && e.text === 'Goes at the reset')!.at;
    expect(typedAt).toBeGreaterThanOrEqual(resetAt);
  }, 120_000);

  it('works through every fallback selector', async () => {
    const fallbacks = Object.fromEntries(Object.entries(CANDIDATES).map(([part, list]) => [part, list.length - 1])) as Record<Part, number>;
    site.control.setVariant(fallbacks);
    const conversation = site.control.addConversation();
    await openConversation(`/chat/${conversation.id}`);
    const address = chat(conversation.id);
    const agent = await readyTab(address);
    for (const part of ['composer', 'send', 'fileInput', 'userMessage', 'answer', 'modelPicker'] as const) expect(agent.matched?.[part], part).toBe(fallbacks[part]);
    const sent = await send({ to: address, body: 'Through the fallbacks', ackRequired: true });
    const reply = await replyTo(sent.id);
    expect(reply.message.body.text).toContain('You asked: “Through the fallbacks”');
    expect(reply.message.body.text).toContain('```python');
  });

  it('works through each middle fallback and without streaming markers', async () => {
    // Also: the stop button takes the send button's place while it streams, and the app renders
    // after the load event — neither is "broken".
    site.control.setVariant({ composer: 1, send: 1, stop: 1, userMessage: 1, answer: 1, fileInput: 1, modelPicker: 1, artifact: 1, streamingMarker: false, stopReplacesSend: true, renderDelayMs: 400 });
    const conversation = site.control.addConversation();
    await openConversation(`/chat/${conversation.id}`);
    const address = chat(conversation.id);
    const agent = await readyTab(address);
    expect(agent.matched).toMatchObject({ composer: 1, send: 1, fileInput: 1, userMessage: 1, answer: 1, modelPicker: 1 });
    const reply = await replyTo((await send({ to: address, body: 'No streaming marker here', ackRequired: true })).id);
    expect(reply.message.body.text).toContain('That is all.');
    const destinations = await browser.request<DestinationRecord[]>({ type: 'destinations' });
    expect(destinations.find((d) => d.address === address)?.hold).toBeUndefined();
    expect(destinations.find((d) => d.address === address)?.history.some((e) => e.event === 'held')).toBeFalsy();
  });

  it("shows the answer's progress to the sender, and loses nothing when the worker stops mid-answer", async () => {
    const conversation = site.control.addConversation();
    await openConversation(`/chat/${conversation.id}`);
    const address = chat(conversation.id);
    await readyTab(address);
    site.control.scriptAnswer('long answer', { chunkMs: 50, chunkChars: 30, delayMs: 100 });
    await browser.page.evaluate(() => {
      const seen: { messageId: string; note?: string; progress?: boolean }[] = ((window as unknown as { __changes: unknown[] }).__changes = []) as never;
      chrome.runtime.connect({ name: 'switchboard/changes' }).onMessage.addListener((m: { changes: typeof seen }) => seen.push(...m.changes));
    });
    const sent = await send({ to: address, body: 'A long answer, please', ackRequired: true });
    const progress = await waitFor(
      () => browser.page.evaluate(() => (window as unknown as { __changes: { messageId: string; note?: string; progress?: boolean }[] }).__changes),
      (changes) => changes.some((c) => c.messageId === sent.id && c.progress),
      20_000,
      'progress on the change feed',
    );
    expect(progress.find((c) => c.messageId === sent.id && c.progress)!.note).toMatch(/^answering: [\d,]+ characters so far$/);

    await browser.stopWorker(); // the answer ends while no worker runs: the tab keeps it
    await waitFor(async () => site.control.timeline(), (t) => t.some((e) => e.event === 'answer-ended' && e.conversation === conversation.id && (e.text ?? '').includes('A long answer')), 20_000, 'the answer to end');
    const reply = await replyTo(sent.id);
    expect(reply.message.body.text).toContain('You asked: “A long answer, please”');
    const thread = await browser.request<StoredEntry[]>({ type: 'list', threadId: sent.threadId });
    expect(thread.filter((e) => e.message.inReplyTo === sent.id)).toHaveLength(1);
    expect(site.control.conversation(conversation.id)!.turns.filter((t) => t.role === 'user' && t.text === 'A long answer, please')).toHaveLength(1);
  });

  it('holds the queue while signed out, and delivers after signing in', async () => {
    const conversation = site.control.addConversation();
    const page = await openConversation(`/chat/${conversation.id}`);
    const address = chat(conversation.id);
    await readyTab(address);
    site.control.signOut();
    await waitFor(
      () => browser.request<DestinationRecord[]>({ type: 'destinations' }),
      (list) => list.some((d) => d.address === NEW && d.hold?.reason === 'claude.ai: signed out'),
      20_000,
      'the sign-out to hold new conversations',
    );
    expect((await tabs()).find((t) => t.url.includes('/login'))?.state).toBe('signed-out');
    const sent = await send({ to: NEW, body: 'Waits for a sign-in', ackRequired: true });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect((await status(sent.id)).deliveries[0].state).toBe('queued');
    site.control.signIn();
    await page.goto(site.url('/new'));
    const reply = await replyTo(sent.id, 40_000);
    expect(reply.message.body.text).toContain('Waits for a sign-in');
  });

  it('shows "adapter broken" with what was not found, and the message waits', async () => {
    site.control.setVariant({ composer: 'none', send: 'none' });
    const conversation = site.control.addConversation();
    await openConversation(`/chat/${conversation.id}`);
    const address = chat(conversation.id);
    const broken = await waitFor(tabs, (l) => l.some((t) => t.address === address && t.state === 'broken'), 20_000, 'the adapter to report itself broken');
    expect(broken.find((t) => t.address === address)!.detail).toBe('adapter broken: the prompt editor, the send button not found');
    const sent = await send({ to: address, body: 'Waits for a working page', ackRequired: true });
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const waiting = await status(sent.id);
    expect(waiting.deliveries[0].state).toBe('queued');
    const destinations = await browser.request<DestinationRecord[]>({ type: 'destinations' });
    expect(destinations.find((d) => d.address === address)!.hold!.reason).toBe('claude.ai: adapter broken: the prompt editor, the send button not found');
    expect(site.control.conversation(conversation.id)!.turns.filter((t) => t.role === 'user')).toHaveLength(1); // nothing typed

    // The site is back to what the adapter knows: the page reloads, the hold lifts, the message goes.
    site.control.setVariant({});
    await pages[0].reload();
    await replyTo(sent.id, 40_000);
  });
});
