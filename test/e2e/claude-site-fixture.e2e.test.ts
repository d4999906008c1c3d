/**
 * The claude.ai fixture itself (test/support/claude-site/, issue 6), in a real Chromium with the built
 * extension, reached as https://claude.ai through the resolver rule: the ProseMirror editor's state is
 * real, a prompt becomes a user turn and a streamed answer, every variant matches exactly the adapter
 * candidate it stands for, and the usage limit and the signed-out page look as they should. The
 * adapter's behaviour on it is tested elsewhere; this file proves the ground it stands on.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { CANDIDATES, resetTimeOf, type Part } from '../../src/adapters/claude-ai/site';
import { launchExtension, waitFor, type ExtensionBrowser } from '../support/extension-browser';
import { claudeSiteArgs, DEFAULT_CODE, limitNoticeText, startClaudeSite, type ClaudeSite, type VariantSpec } from '../support/claude-site/server';

const PARTS = Object.keys(CANDIDATES) as Part[];
/** The fixture's own markup for each part, whatever the variant: proves the part is on the page at all. */
const RENDERED: Record<Part, string> = {
  composer: 'fieldset [contenteditable="true"]',
  send: 'button.send',
  stop: 'button.stop',
  userMessage: '.user-bubble > div',
  answer: '[data-test-render-count] .standard-markdown',
  fileInput: 'input[type="file"]',
  modelPicker: 'button.model-picker',
  artifact: '.standard-markdown button[aria-label^="Open artifact"]',
};
const EDITOR = RENDERED.composer;
const SEND = CANDIDATES.send[0];
const STOP = CANDIDATES.stop[0];

let site: ClaudeSite;
let browser: ExtensionBrowser;
let pages: Page[] = [];

beforeAll(async () => {
  site = await startClaudeSite();
  browser = await launchExtension({ args: claudeSiteArgs(site) });
});
afterAll(async () => {
  await browser?.close();
  await site?.close();
});
beforeEach(() => site.control.reset());
afterEach(async () => {
  await Promise.all(pages.map((p) => p.close()));
  pages = [];
});

async function open(path: string): Promise<Page> {
  const page = await browser.context.newPage();
  pages.push(page);
  await page.goto(site.url(path));
  return page;
}

async function type(page: Page, text: string): Promise<void> {
  await page.click(EDITOR);
  await page.keyboard.type(text);
}

/** Per part, which of its candidates match in the page now. */
function candidateMatches(page: Page): Promise<Record<Part, boolean[]>> {
  return page.evaluate(
    (candidates) => Object.fromEntries(Object.entries(candidates).map(([part, list]) => [part, list.map((s) => document.querySelector(s) !== null)])) as Record<Part, boolean[]>,
    CANDIDATES as unknown as Record<Part, string[]>,
  );
}

describe('the claude.ai fixture', () => {
  it('is claude.ai to the browser: a prompt typed with Enter becomes a user turn and an answer streamed under the stop button; the URL becomes /chat/<id>', async () => {
    const page = await open('/new');
    expect(page.url()).toBe('https://claude.ai/new');
    expect(await page.title()).toBe('Claude');
    expect(await page.locator(SEND).isDisabled()).toBe(true);

    // Record, after every task that changed the page, whether the answer's marker and the stop button agree.
    await page.evaluate(() => {
      const seen: string[] = [];
      (window as unknown as { seen: string[] }).seen = seen;
      new MutationObserver(() => {
        const marker = document.querySelector('[data-is-streaming]')?.getAttribute('data-is-streaming') ?? 'none';
        seen.push(`${marker}/${document.querySelector('button[aria-label="Stop response"]') ? 'stop' : 'no-stop'}`);
      }).observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
    });

    await type(page, 'Explain the Fibonacci sequence, please');
    expect(await page.locator(SEND).isEnabled()).toBe(true);
    expect(await page.evaluate(() => window.__fixture.editorText())).toBe('Explain the Fibonacci sequence, please');
    await page.keyboard.press('Enter');

    await page.waitForSelector(STOP);
    await page.waitForSelector('[data-is-streaming="true"]');
    expect(await page.locator(SEND).isDisabled()).toBe(true);
    await page.waitForSelector('[data-is-streaming="false"]');
    await page.waitForSelector(STOP, { state: 'detached' });

    const id = /^https:\/\/claude\.ai\/chat\/([0-9a-f-]{36})$/.exec(page.url())?.[1];
    expect(id).toBeDefined();
    expect(await page.title()).toBe('Explain the Fibonacci sequence, please - Claude');
    expect(await page.evaluate(() => window.__fixture.editorText())).toBe('');

    const turn = await page.evaluate(() => {
      const user = document.querySelector('[data-test-render-count] [data-testid="user-message"]')!;
      const answer = document.querySelector('[data-test-render-count] [data-is-streaming] .font-claude-response')!;
      const code = answer.querySelector('pre code.language-python')!;
      return {
        user: user.textContent,
        firstParagraph: answer.querySelector('p')!.textContent,
        inline: [...answer.querySelectorAll('p strong, p em, p code')].map((e) => e.tagName),
        items: [...answer.querySelectorAll('ol > li')].length,
        nested: [...answer.querySelectorAll('ol > li > ul > li')].map((e) => e.textContent),
        language: code.closest('.code-block')!.firstElementChild!.textContent,
        code: code.textContent,
        artifact: answer.querySelector('[data-testid="artifact-block"]')?.textContent,
        seen: (window as unknown as { seen: string[] }).seen,
      };
    });
    expect(turn.user).toBe('Explain the Fibonacci sequence, please');
    expect(turn.firstParagraph).toContain('“Explain the Fibonacci sequence, please”');
    expect(turn.inline).toEqual(['STRONG', 'EM', 'CODE']);
    expect(turn.items).toBe(3);
    expect(turn.nested).toEqual(['one nested point', 'another nested point']);
    expect(turn.language).toBe('python');
    expect(turn.code).toBe(DEFAULT_CODE);
    expect(turn.artifact).toContain('Fibonacci helper');
    expect(turn.artifact).toContain('Code · Python');
    // Streaming showed the stop button; the end flipped the marker and removed the button in one task.
    expect(turn.seen).toContain('true/stop');
    expect(turn.seen.at(-1)).toBe('false/no-stop');
    expect(turn.seen.filter((s) => s === 'false/stop' || s === 'true/no-stop')).toEqual([]);

    // The timeline, in the page and on the server.
    const events = await page.evaluate(() => window.__fixture.timeline);
    expect(events.map((e) => e.event)).toEqual(['prompt-received', 'answer-started', 'answer-ended']);
    expect(events.every((e) => e.conversation === id)).toBe(true);
    expect(events[0].text).toBe('Explain the Fibonacci sequence, please');
    expect(events[0].at).toBeLessThanOrEqual(events[1].at);
    expect(events[1].at).toBeLessThan(events[2].at);
    expect(Math.abs(events[0].at - Date.now())).toBeLessThan(30_000);
    const onServer = await waitFor(async () => site.control.timeline(), (t) => t.length === 3, 5000, 'the server timeline');
    expect(onServer).toEqual(events);

    // The conversation persists: a reload shows both turns, finished.
    await waitFor(async () => site.control.conversation(id!)?.turns.length ?? 0, (n) => n === 2, 5000, 'the answer on the server');
    await page.reload();
    expect(await page.locator('[data-testid="user-message"]').count()).toBe(1);
    expect(await page.locator('[data-is-streaming="false"] .font-claude-response').count()).toBe(1);
    expect(await page.locator('[data-is-streaming="true"]').count()).toBe(0);
    expect(await page.title()).toBe('Explain the Fibonacci sequence, please - Claude');
  });

  it("sends what ProseMirror's state holds: a textContent write it has not read sends nothing; a text/plain paste is taken in", async () => {
    const page = await open('/new');
    const behindItsBack = await page.evaluate(
      ({ editor, send }) => {
        const box = document.querySelector<HTMLElement>(editor)!;
        box.textContent = 'written behind ProseMirror’s back';
        const button = document.querySelector<HTMLButtonElement>(send)!;
        const disabled = button.disabled;
        button.click();
        return { disabled, shows: box.textContent };
      },
      { editor: CANDIDATES.composer[0], send: SEND },
    );
    expect(behindItsBack).toEqual({ disabled: true, shows: 'written behind ProseMirror’s back' });
    await page.waitForTimeout(300);
    expect(await page.locator('[data-test-render-count]').count()).toBe(0);
    expect(page.url()).toBe('https://claude.ai/new');
    expect(site.control.conversations()).toEqual([]);

    // A paste carrying only text/plain, as the adapter types: the state holds it, blank lines kept.
    await page.reload();
    const prompt = 'line one <b>not bold</b>\n\nline three';
    const pasted = await page.evaluate(
      ({ editor, send, text }) => {
        const box = document.querySelector<HTMLElement>(editor)!;
        box.focus();
        const data = new DataTransfer();
        data.setData('text/plain', text);
        box.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
        const button = document.querySelector<HTMLButtonElement>(send)!;
        const state = window.__fixture.editorText();
        const enabled = !button.disabled;
        button.click();
        return { state, enabled };
      },
      { editor: CANDIDATES.composer[0], send: SEND, text: prompt },
    );
    expect(pasted).toEqual({ state: prompt, enabled: true });
    await page.waitForSelector('[data-testid="user-message"]');
    expect(await page.locator('[data-testid="user-message"]').textContent()).toBe(prompt);
    expect(await page.locator('[data-testid="user-message"] b').count()).toBe(0);
    await page.waitForSelector('[data-is-streaming="false"]');
  });

  it('renders each variant so that exactly the intended candidate of every part matches, and no earlier one', async () => {
    const { id } = site.control.addConversation();
    const levels: (number | 'none')[] = [0, 1, 2, 'none'];
    for (const level of levels) {
      const spec: VariantSpec = level === 1 ? { stopReplacesSend: true } : level === 'none' ? { streamingMarker: false } : {};
      const expected = {} as Record<Part, number>;
      for (const part of PARTS) {
        expected[part] = level === 'none' ? -1 : level < CANDIDATES[part].length ? level : 0;
        spec[part] = level === 'none' ? 'none' : expected[part];
      }
      site.control.setVariant(spec);
      site.control.scriptAnswer('next', { chunkMs: 150, chunkChars: 10 });
      const page = await open(`/chat/${id}`);
      const check = async (parts: Part[]) => {
        const matches = await candidateMatches(page);
        for (const part of parts) {
          // The intended candidate matches and none before it (later ones may: they are broader).
          const upTo = expected[part] < 0 ? CANDIDATES[part].length : expected[part] + 1;
          const want = CANDIDATES[part].slice(0, upTo).map((_, index) => index === expected[part]);
          expect({ level, part, matches: matches[part].slice(0, upTo) }).toEqual({ level, part, matches: want });
          expect({ level, part, rendered: (await page.locator(RENDERED[part]).count()) > 0 }).toEqual({ level, part, rendered: true });
        }
      };
      // Everything but the stop button is on the page of a conversation with an answer.
      await check(PARTS.filter((part) => part !== 'stop'));
      await type(page, `variant ${level}`);
      await page.keyboard.press('Enter');
      await page.waitForSelector(RENDERED.stop);
      await page.waitForSelector(`${RENDERED.answer} >> nth=1`);
      await check(['stop', 'composer', 'userMessage', 'answer', 'artifact']);
      const shape = await page.evaluate(() => ({
        streamingMarkers: document.querySelectorAll('[data-is-streaming]').length,
        sendShown: document.querySelector('button.send') !== null,
        editorClass: document.querySelector('fieldset [contenteditable="true"]')!.className,
      }));
      expect(shape.streamingMarkers).toBe(level === 'none' ? 0 : 2);
      expect(shape.sendShown).toBe(level !== 1); // stopReplacesSend
      expect(shape.editorClass.split(' ').includes('ProseMirror')).toBe(level === 0 || level === 1);

      await page.click(RENDERED.stop);
      await page.waitForSelector(RENDERED.stop, { state: 'detached' });
      await page.waitForSelector(RENDERED.send);
      expect(await page.evaluate(() => window.__fixture.timeline.at(-1))).toMatchObject({ event: 'answer-ended', stopped: true });
      await page.close();
      pages = pages.filter((p) => p !== page);
      site.control.reset();
      site.control.addConversation({ id });
    }
  });

  it('the usage limit: the notice names the reset time and sending is off until the limit is lifted; "next-send" answers nothing', async () => {
    const now = Date.now();
    const resetAt = Math.ceil(now / 60_000) * 60_000 + 2 * 3_600_000;
    site.control.limit({ resetAt });
    const page = await open('/new');
    const notice = page.locator('[data-testid="usage-limit-notice"][role="alert"]');
    await notice.waitFor();
    const text = (await notice.textContent())!;
    expect(text.replace(/\s/g, ' ')).toBe(limitNoticeText({ resetAt }).replace(/\s/g, ' '));
    expect(text.replace(/\s/g, ' ')).toMatch(/^You've reached your usage limit\. Your limit resets at \d{1,2}:\d{2} [AP]M\.$/);
    expect(resetTimeOf(text, now)).toBe(resetAt);
    await type(page, 'are you there?');
    expect(await page.locator(SEND).isDisabled()).toBe(true);
    await page.keyboard.press('Enter');
    await page.waitForTimeout(300);
    expect(await page.locator('[data-testid="user-message"]').count()).toBe(0);

    site.control.unlimit();
    await notice.waitFor({ state: 'detached' });
    expect(await page.locator(SEND).isEnabled()).toBe(true);

    // Limited at the next send: the prompt shows, no answer comes, the notice does.
    site.control.limit({ resetAt, when: 'next-send' });
    await page.waitForTimeout(300);
    expect(await notice.count()).toBe(0);
    await page.keyboard.press('Enter');
    await notice.waitFor();
    expect(await page.locator('[data-testid="user-message"]').textContent()).toBe('are you there?');
    await page.waitForTimeout(300);
    expect(await page.locator('[data-test-render-count] .font-claude-response').count()).toBe(0);
    expect(await page.locator(STOP).count()).toBe(0);
    expect(site.control.timeline().map((e) => e.event)).toEqual(['prompt-received']);
  });

  it('signed out, the app redirects to a sign-in page without a composer; an open page goes there too', async () => {
    const page = await open('/new');
    site.control.signOut();
    await page.waitForURL('https://claude.ai/login');
    for (const path of ['/new', `/chat/${crypto.randomUUID()}`, '/project/p1']) {
      const response = await page.goto(site.url(path));
      expect(page.url()).toBe('https://claude.ai/login');
      expect(response?.request().redirectedFrom()?.url()).toBe(site.url(path));
    }
    const body = await page.locator('body').innerText();
    for (const words of ['Log in', 'Continue with email', 'Continue with Google']) expect(body).toContain(words);
    expect(await page.locator('[contenteditable]').count()).toBe(0);
    site.control.signIn();
    await page.goto(site.url('/new'));
    await page.waitForSelector(CANDIDATES.composer[0]);
  });

  it('an old conversation shows its finished answer first; the model picker, attachments, projects and the stop button work', async () => {
    const { id } = site.control.addConversation();
    const page = await open(`/chat/${id}`);
    expect(await page.locator('[data-is-streaming="false"] .font-claude-response').count()).toBe(1);
    expect(await page.locator(CANDIDATES.modelPicker[0]).textContent()).toBe('Claude Sonnet 4.5');

    await page.click(CANDIDATES.modelPicker[0]);
    const items = page.locator('[role="menu"] [role="menuitem"]');
    expect(await items.count()).toBe(3);
    await items.filter({ hasText: 'Claude Opus 4.1' }).click();
    expect(await page.locator('[role="menu"]').count()).toBe(0);
    expect(await page.locator(CANDIDATES.modelPicker[0]).textContent()).toBe('Claude Opus 4.1');

    await page.setInputFiles(CANDIDATES.fileInput[0], [
      { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('hello') },
      { name: 'data.csv', mimeType: 'text/csv', buffer: Buffer.from('a,b\n1,2\n') },
    ]);
    expect(await page.locator('fieldset [data-testid="file-thumbnail"] .file-name').allTextContents()).toEqual(['notes.txt', 'data.csv']);
    site.control.scriptAnswer('slow', { chunkMs: 200, chunkChars: 5 });
    await type(page, 'a slow answer about these files');
    await page.keyboard.press('Enter');
    await page.waitForSelector('[data-is-streaming="true"]');
    expect(await page.locator('fieldset [data-testid="file-thumbnail"]').count()).toBe(0);
    expect(await page.locator('[data-test-render-count] [data-testid="file-thumbnail"]').allTextContents()).toEqual(['notes.txt', 'data.csv']);
    await page.click(STOP);
    await page.waitForSelector('[data-is-streaming="true"]', { state: 'detached' });
    expect(await page.locator('[data-is-streaming="false"]').count()).toBe(2);
    expect(page.url()).toBe(site.url(`/chat/${id}`));
    const ended = await page.evaluate(() => window.__fixture.timeline.at(-1));
    expect(ended).toMatchObject({ event: 'answer-ended', conversation: id, stopped: true });

    const conversation = await waitFor(async () => site.control.conversation(id)!, (c) => c.turns.length === 4, 5000, 'the stopped answer on the server');
    expect(conversation.model).toBe('Claude Opus 4.1');
    expect(conversation.turns[2]).toMatchObject({ role: 'user', text: 'a slow answer about these files', attachments: [{ name: 'notes.txt', size: 5 }, { name: 'data.csv', size: 8 }] });
    expect(conversation.turns[3]).toMatchObject({ role: 'assistant', stopped: true });

    // A project page starts a conversation in the project; a new chat from the sidebar needs no reload.
    await page.goto(site.url('/project/p-42'));
    await type(page, 'inside the project');
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/chat\//);
    // The page moves to the new URL first and tells the server after (as claude.ai does): wait for it.
    const inProject = await waitFor(
      async () => site.control.conversations().find((c) => c.project === 'p-42'),
      (c) => c !== undefined,
      5000,
      'the project conversation on the server',
    );
    expect(page.url()).toBe(site.url(`/chat/${inProject?.id}`));
    await page.waitForSelector('[data-is-streaming="false"]');
    await page.evaluate(() => ((window as unknown as { marker: number }).marker = 1));
    await page.click('nav a.new-chat');
    await page.waitForURL('https://claude.ai/new');
    expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(1);
    expect(await page.locator('[data-test-render-count]').count()).toBe(0);
    expect(await page.locator('nav a.recent').count()).toBe(2);
  });

  it('scripted answers: HTML pieces re-rendered per tick, an error notice instead of an answer; a late-rendering app', async () => {
    site.control.scriptAnswer('next', { chunks: ['<p>Hel', 'lo <strong>wor', 'ld</strong></p>'], chunkMs: 40 });
    site.control.scriptAnswer('fail', { error: 'Something went wrong. Please try again.' });
    const page = await open('/new');
    await type(page, 'pieces');
    await page.keyboard.press('Enter');
    await page.waitForSelector('[data-is-streaming="false"]');
    expect(await page.locator('.font-claude-response .standard-markdown').innerHTML()).toBe('<p>Hello <strong>world</strong></p>');
    await type(page, 'this will fail');
    await page.keyboard.press('Enter');
    const error = page.locator('[role="alert"][data-testid="error-notice"]');
    await error.waitFor();
    expect(await error.textContent()).toBe('Something went wrong. Please try again.');
    expect(await page.locator('.font-claude-response').count()).toBe(1);
    expect(await page.locator(STOP).count()).toBe(0);

    // Rendered after the load event, as a hydrating app is: the page is complete and has no composer yet.
    site.control.setVariant({ renderDelayMs: 400 });
    await page.goto(site.url('/new'));
    expect(await page.evaluate(() => [document.readyState, document.querySelector('[contenteditable]') === null])).toEqual(['complete', true]);
    await page.waitForSelector(CANDIDATES.composer[0]);
  });
});
