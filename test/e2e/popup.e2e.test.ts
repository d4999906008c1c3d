/**
 * The popup end to end (issue 7): the built extension in a real Chromium with the native host
 * installed, popup.html opened as a page. Agents come from where they really come from — an API
 * client posting to the host's local API, Claude Code sessions posting hook events to the host —
 * and the popup shows them live; a message is composed and sent by keyboard alone and its states
 * change to delivered and acked; an agent's HTML is shown as text; axe-core finds no violation;
 * screenshots of the popup, light and dark, land in docs/. Last, claude.ai (the fixture of
 * test/support/claude-site/, reached through a host resolver rule): the onboarding button opens it,
 * a conversation is listed, and a question asked from the popup shows the answer's progress, then
 * comes back as Markdown.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import type { Page } from 'playwright-core';
import { launchExtension, waitFor, type ExtensionBrowser } from '../support/extension-browser';
import { installTestHost, type InstalledHost } from '../support/host-fixture';
import { claudeSiteArgs, codeBlock, paragraph, startClaudeSite, type ClaudeSite } from '../support/claude-site/server';
import type { MessageStatus } from '../../src/bus/bus';
import type { AgentSummary } from '../../src/hub/agents-view';

const POPUP = 'extension:local/popup';
const CLIENT = 'e2e-client';
const CLIENT_ADDRESS = `api:local/${CLIENT}`;
const DOCS = resolve(import.meta.dirname, '../../docs');
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

let host: InstalledHost;
let site: ClaudeSite;
let browser: ExtensionBrowser;
let page: Page;
let workDir: string;
let socket: WebSocket;
const frames: any[] = [];
const sessions = { working: randomUUID(), limited: randomUUID() };

/** Posts a Claude Code hook event to the host, as Switchboard's hook script does. */
async function hook(sessionId: string, event: string, fields: Record<string, unknown> = {}): Promise<void> {
  const response = await host.api('/hooks', {
    method: 'POST',
    body: JSON.stringify({ session_id: sessionId, transcript_path: join(workDir, `${sessionId}.jsonl`), cwd: workDir, hook_event_name: event, ...fields }),
  });
  expect(response.status, await response.clone().text()).toBeLessThan(300);
}

const agents = () => browser.request<AgentSummary[]>({ type: 'agents' });
const statusOf = (id: string) => browser.request<MessageStatus>({ type: 'status', id });

async function openPopup(): Promise<Page> {
  const popup = await browser.context.newPage();
  await popup.setViewportSize({ width: 400, height: 600 });
  popup.on('pageerror', (error) => console.error('popup error:', error.message));
  await popup.goto(`chrome-extension://${browser.extensionId}/popup.html`);
  await popup.waitForSelector('main[data-ready]', { timeout: 20_000 });
  return popup;
}

/** Presses Tab (Shift+Tab when `backwards`), at most `limit` times, until the focused element matches `selector`. */
/**
 * The compose view is up and has given the keyboard to its heading. It does that after the paint, so
 * a test that tabs before then can have its focus, and what it types, taken back.
 */
async function composeOpened(): Promise<void> {
  await page.waitForSelector('.compose-view');
  await page.waitForFunction(() => document.activeElement?.id === 'compose-heading', null, { timeout: 5_000 });
}

async function tabTo(selector: string, { backwards = false, limit = 40 } = {}): Promise<void> {
  for (let i = 0; i < limit; i++) {
    if (await page.evaluate((s) => document.activeElement?.matches(s) ?? false, selector)) return;
    await page.keyboard.press(backwards ? 'Shift+Tab' : 'Tab');
  }
  const focused = await page.evaluate(() => document.activeElement?.outerHTML.slice(0, 200));
  throw new Error(`Tab never reached ${selector}; focus is on ${focused}`);
}

async function axeViolations(target: Page): Promise<{ id: string; impact: string; nodes: string[] }[]> {
  // Evaluated through the DevTools protocol: the extension page's CSP (script-src 'self') refuses an
  // inline <script>, which is what page.addScriptTag({content}) would add.
  if (!(await target.evaluate(() => 'axe' in window))) await target.evaluate(AXE_SOURCE);
  return target.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(): Promise<{ violations: { id: string; impact: string; nodes: { html: string }[] }[] }> } }).axe;
    const result = await axe.run();
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.html.slice(0, 160)) }));
  });
}

beforeAll(async () => {
  host = await installTestHost();
  workDir = await mkdtemp(join(tmpdir(), 'sb-popup-project-'));
  site = await startClaudeSite({ answerDefaults: { chunkMs: 120, chunkChars: 15, delayMs: 100 } });
  browser = await launchExtension({ profileDir: host.profileDir, env: host.env, args: claudeSiteArgs(site) });
  await waitFor(() => browser.hubStatus(), (s) => s.nativeHost.connected, 30_000, 'the hub to connect to the host');

  // An API client: connected to the host, and known to the hub once it has sent something.
  socket = new WebSocket(`ws://127.0.0.1:${host.port}/ws/${CLIENT}?token=${host.token}`);
  socket.on('message', (data) => frames.push(JSON.parse(String(data))));
  await waitFor(async () => frames, (f) => f.some((x) => x.type === 'connection_confirmed'), 10_000, 'the socket to be confirmed');
  await host.post({ from: CLIENT, to: POPUP, type: 'message', payload: 'The nightly build is green.' });

  // Two Claude Code sessions through the host's hook endpoint: one at work, one held by a rate limit.
  for (const id of Object.values(sessions)) await writeFile(join(workDir, `${id}.jsonl`), '');
  await hook(sessions.working, 'SessionStart', { source: 'startup' });
  await hook(sessions.working, 'UserPromptSubmit', { prompt: 'Refactor the tokenizer' });
  await hook(sessions.limited, 'SessionStart', { source: 'startup' });
  await hook(sessions.limited, 'UserPromptSubmit', { prompt: 'Write the release notes' });
  await hook(sessions.limited, 'Stop', { stop_hook_active: false });
  await waitFor(agents, (list) => list.filter((a) => a.kind === 'claude-code').length === 2 && list.some((a) => a.address === CLIENT_ADDRESS), 30_000, 'the agents in the hub');
  await browser.request({
    type: 'hold',
    hold: { address: `claude-code:local/${sessions.limited}`, strategy: 'session_pause', reason: 'usage limit reached', until: Date.now() + (72 * 60 + 30) * 1000 },
  });

  page = await openPopup();
}, 120_000);

afterAll(async () => {
  socket?.close();
  await browser?.close();
  await host?.remove();
  await site?.close();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

describe('the popup', () => {
  it('shows the hub and the host connected, and every agent the tests made, by kind with its live state', async () => {
    await expect.poll(() => page.locator('.status-bar').innerText()).toContain('Native host connected');
    expect(await page.locator('.status-bar').innerText()).toContain('Hub running');

    const working = page.locator(`li.agent[data-address="claude-code:local/${sessions.working}"]`);
    const limited = page.locator(`li.agent[data-address="claude-code:local/${sessions.limited}"]`);
    const client = page.locator(`li.agent[data-address="${CLIENT_ADDRESS}"]`);
    await expect.poll(() => working.innerText()).toContain('Refactor the tokenizer');
    expect(await working.locator('.badge').innerText()).toContain('working');
    expect(await working.innerText()).toContain(workDir);
    expect(await limited.locator('.badge').innerText()).toContain('rate-limited');
    expect(await limited.innerText()).toMatch(/usage limit reached \(session pause\) · resets in 1 h 1[12] min/);
    expect(await client.locator('.badge').innerText()).toContain('ready');
    const groups = await page.locator('.agent-group h3').allInnerTexts();
    expect(groups.map((g) => g.toLowerCase())).toEqual(['claude code sessions (2)', 'api clients (1)']);

    // Live, no reload: the session finishes its turn and is ready within about a second.
    await hook(sessions.working, 'Stop', { stop_hook_active: false });
    await expect.poll(() => working.locator('.badge').innerText(), { timeout: 5_000 }).toContain('ready');
    // No claude.ai tab: the popup offers to open one.
    expect(await page.locator('.onboarding').innerText()).toContain('Open claude.ai');
  });

  it('composes and sends a message by keyboard alone; its state changes to delivered, then acked', async () => {
    await page.locator('body').focus();
    await tabTo('button.new-message');
    await page.keyboard.press('Enter');
    await composeOpened();
    await tabTo(`input[type=checkbox][value="${CLIENT_ADDRESS}"]`);
    await page.keyboard.press('Space');
    expect(await page.locator(`input[type=checkbox][value="${CLIENT_ADDRESS}"]`).isChecked()).toBe(true);
    await tabTo('textarea');
    await page.keyboard.type('Please **confirm** the deploy (keyboard-probe)');
    expect(await page.locator('textarea').inputValue()).toBe('Please **confirm** the deploy (keyboard-probe)');
    await tabTo('select[name=priority]');
    await page.keyboard.press('ArrowUp'); // Normal → High
    await tabTo('button[type=submit]');
    await page.keyboard.press('Enter');

    const pushed: any = await waitFor(async () => frames.find((f) => f.type === 'message' && String(f.message.payload).includes('keyboard-probe')), Boolean, 20_000, 'the message on the socket');
    const id = pushed.message.id as string;
    expect((await statusOf(id)).message).toMatchObject({ from: POPUP, to: [CLIENT_ADDRESS], priority: 'high', ackRequired: true, body: { text: 'Please **confirm** the deploy (keyboard-probe)' } });
    const row = page.locator(`.sent-message[data-message-id="${id}"] li.recipient[data-recipient="${CLIENT_ADDRESS}"]`);
    await expect.poll(() => row.getAttribute('data-state'), { timeout: 10_000 }).toBe('delivered');
    expect(await row.locator('button').innerText()).toBe('Cancel');

    socket.send(JSON.stringify({ type: 'ack', message_id: id }));
    await expect.poll(() => row.getAttribute('data-state'), { timeout: 10_000 }).toBe('acked');
    expect(await row.locator('button').count()).toBe(0);
    expect((await statusOf(id)).deliveries[0].history.map((h) => h.state)).toEqual(expect.arrayContaining(['queued', 'sent', 'delivered', 'acked']));

    await tabTo('button.back', { backwards: true });
    await page.keyboard.press('Enter');
    await page.waitForSelector('.threads');
    // Back where the person left: on the button that opened the form (focused once the view has painted).
    await expect.poll(() => page.evaluate(() => document.activeElement?.matches('button.new-message')), { timeout: 5_000 }).toBe(true);
  });

  it('cancels an unfinished delivery and retries it, from the buttons on its row', async () => {
    const { id } = await browser.request<{ id: string }>({ type: 'send', message: { from: POPUP, to: CLIENT_ADDRESS, body: 'Cancel me (cancel-probe)', ackRequired: true } });
    const row = page.locator(`.sent-message[data-message-id="${id}"] li.recipient[data-recipient="${CLIENT_ADDRESS}"]`);
    await page.locator('button.new-message').click();
    await expect.poll(() => row.getAttribute('data-state'), { timeout: 10_000 }).toBe('delivered');

    await row.locator('button', { hasText: 'Cancel' }).focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => row.getAttribute('data-state'), { timeout: 5_000 }).toBe('failed');
    expect(await row.innerText()).toContain('cancelled by the person');

    await row.locator('button', { hasText: 'Retry' }).focus();
    await page.keyboard.press('Space');
    await expect.poll(() => row.getAttribute('data-state'), { timeout: 10_000 }).toBe('delivered');
    expect((await statusOf(id)).deliveries[0].history.map((h) => h.state)).toEqual(['queued', 'sent', 'delivered', 'failed', 'queued', 'sent', 'delivered']);
    await page.locator('button.back').click();
  });

  it("shows an agent's HTML as text, never as an element; opening the thread acks it", async () => {
    const body = '<img src=x onerror="document.title=\'pwned\'"> and [a link](javascript:alert(1))';
    const id = await host.post({ from: CLIENT, to: POPUP, type: 'message', payload: body });
    const thread = page.locator('button.thread', { hasText: '<img src=x' });
    await expect.poll(() => thread.count(), { timeout: 10_000 }).toBe(1);
    expect(await thread.innerText()).toContain('1 unread');

    await thread.focus();
    await page.keyboard.press('Enter');
    const message = page.locator(`.thread-messages li[data-message-id="${id}"]`);
    await expect.poll(() => message.locator('.markdown:not(.plain)').count(), { timeout: 10_000 }).toBe(1);
    expect(await message.locator('.markdown').innerText()).toContain('<img src=x onerror="document.title=\'pwned\'">');
    expect(await page.locator('main img').count()).toBe(0);
    expect(await message.locator('a').count()).toBe(0);
    expect(await page.title()).not.toBe('pwned');

    await waitFor(() => statusOf(id), (s) => s.deliveries[0].state === 'acked', 10_000, 'the popup to ack what it showed');
    await page.locator('button.back').click();
    await expect.poll(() => thread.innerText(), { timeout: 5_000 }).not.toContain('unread');
  });

  it('has no axe-core violations in any view, light or dark', async () => {
    await page.reload();
    await page.waitForSelector('main[data-ready]');
    await page.waitForSelector(`li.agent[data-address="${CLIENT_ADDRESS}"]`);
    for (const scheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      expect(await axeViolations(page), `home, ${scheme}`).toEqual([]);
    }
    await page.emulateMedia({ colorScheme: 'light' });

    await page.locator('button.new-message').click();
    await page.waitForSelector('.compose-view .sent-message');
    expect(await axeViolations(page), 'compose').toEqual([]);
    await page.locator('button.back').click();

    await page.locator('button.thread', { hasText: 'keyboard-probe' }).click();
    await page.waitForSelector('.thread-messages .markdown:not(.plain)');
    expect(await axeViolations(page), 'thread').toEqual([]);
    await page.emulateMedia({ colorScheme: 'dark' });
    expect(await axeViolations(page), 'thread, dark').toEqual([]);
  });

  it('opens claude.ai from the onboarding by keyboard, lists the conversation, shows its answer as it is written, then as Markdown; photographed', async () => {
    await page.emulateMedia({ colorScheme: 'light' });
    await page.locator('button.back').click();
    // Back home, the popup gives the keyboard to the thread it came from, after the paint: wait for
    // that, or it could take focus back from the button this test tabs to.
    await page.waitForFunction(() => document.activeElement?.matches('button.thread') ?? false, null, { timeout: 5_000 });
    await page.locator('body').focus();
    const opened = browser.context.waitForEvent('page', (p) => p.url().startsWith('https://claude.ai/'));
    await tabTo('button.open-claude');
    await page.keyboard.press('Enter');
    expect((await opened).url()).toBe('https://claude.ai/new');
    await expect.poll(() => page.locator('.onboarding').count(), { timeout: 10_000 }).toBe(0);

    const conversation = site.control.addConversation();
    const address = `claude-ai:local/chat-${conversation.id}`;
    const tab = await browser.context.newPage();
    await tab.goto(site.url(`/chat/${conversation.id}`));
    const row = page.locator(`li.agent[data-address="${address}"]`);
    await expect.poll(() => row.count(), { timeout: 20_000 }).toBe(1);
    expect(await row.innerText()).toContain(conversation.title);
    await expect.poll(() => row.locator('.badge').innerText(), { timeout: 20_000 }).toContain('ready');
    expect((await page.locator('.agent-group h3').allInnerTexts())[0].toLowerCase()).toBe('claude.ai conversations (1)');

    site.control.scriptAnswer('markdown-probe', { html: paragraph('Here is <strong>the plan</strong>, step by step, with the code it needs to run well:') + codeBlock('python', 'print("step one")\nprint("step two")\n') });
    await row.locator('button', { hasText: 'Message' }).focus();
    await page.keyboard.press('Enter');
    await composeOpened();
    expect(await page.locator(`input[type=checkbox][value="${address}"]`).isChecked()).toBe(true);
    await tabTo('textarea');
    await page.keyboard.type('What is the plan? (markdown-probe)');
    expect(await page.locator('textarea').inputValue()).toBe('What is the plan? (markdown-probe)');
    await tabTo('button[type=submit]');
    await page.keyboard.press('Enter');

    const sent = page.locator('.sent-message', { hasText: 'markdown-probe' });
    const recipient = sent.locator(`li.recipient[data-recipient="${address}"]`);
    await expect.poll(() => recipient.innerText(), { timeout: 20_000 }).toMatch(/answering: [\d,]+ characters so far/);
    await expect.poll(() => recipient.getAttribute('data-state'), { timeout: 30_000 }).toBe('acked');

    await page.locator('button.back').click();
    await page.locator('button.thread', { hasText: 'markdown-probe' }).click();
    const answer = page.locator('.thread-messages article', { hasText: 'step one' });
    await expect.poll(() => answer.locator('pre code.language-python').count(), { timeout: 10_000 }).toBe(1);
    expect(await answer.locator('strong').innerText()).toBe('the plan');
    expect(await answer.locator('pre code').innerText()).toContain('print("step two")');

    // Every kind of agent now: photographed for the README, light and dark.
    await page.locator('button.back').click();
    await page.waitForSelector(`li.agent[data-address="${address}"]`);
    for (const scheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      expect(await axeViolations(page), `home with claude.ai, ${scheme}`).toEqual([]);
      await page.screenshot({ path: join(DOCS, `popup-${scheme}.png`), fullPage: true });
    }
  });
});
