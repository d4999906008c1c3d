/**
 * The dashboard (issue 7) in a real Chromium with the built extension. Claude Code events come from
 * the real `claude` CLI through the installed native host (test/support/claude-code-rig.ts), and one
 * more is posted to the host's /hooks while the page is open, as Claude Code's hook does; the page
 * shows it without a reload. Then: filters and payloads, usage charts from the host's report,
 * message search, a message whose body holds HTML shown as text, a routing rule edited by keyboard
 * that then routes, holds, export, clear-data behind its dialog — and axe-core finds no violation
 * in either theme. The host's alert thresholds and webhooks are edited by keyboard: config.json
 * has them, the running host uses them at once (a webhook the test listens on gets the cost alert of
 * the next turn), and what is refused is shown beside its field with nothing written. Screenshots go
 * to docs/.
 */
import { readFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { useClaudeCodeRig } from '../support/claude-code-rig';
import { launchExtension, waitFor, type ExtensionBrowser } from '../support/extension-browser';
import type { SendReceipt, MessageStatus } from '../../src/bus/bus';
import type { StoredHookEvent } from '../../src/storage/events-db';

const AXE_SOURCE = readFileSync(resolve(import.meta.dirname, '../../node_modules/axe-core/axe.min.js'), 'utf8');
const DOCS = resolve(import.meta.dirname, '../../docs');
/** DOM assertions retry until the page has rendered (live data, a state change). */
const POLL = { timeout: 5_000, interval: 50 };

async function openDashboard(b: ExtensionBrowser, view: string): Promise<Page> {
  const page = await b.context.newPage();
  await page.setViewportSize({ width: 1280, height: 860 });
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(String(error)));
  (page as Page & { errors?: string[] }).errors = errors;
  await page.goto(`chrome-extension://${b.extensionId}/dashboard.html#${view}`);
  await page.getByRole('heading', { level: 1, name: 'Switchboard' }).waitFor();
  return page;
}

/**
 * Opens a view by its hash. The dashboard then takes the keyboard to the view's content (after the
 * paint): waited for, so a test's own focus does not race it.
 */
async function go(page: Page, view: string): Promise<void> {
  const changed = await page.evaluate((v) => {
    const before = location.hash;
    location.hash = v;
    return location.hash !== before;
  }, view);
  if (changed) await expect.poll(() => page.evaluate(() => document.activeElement?.id), POLL).toBe('content');
}

/**
 * axe-core on the page as it is, in light and dark. Evaluated rather than added as a script tag:
 * an extension page's CSP (script-src 'self') refuses inline scripts.
 */
/**
 * The rule editor is open and has taken the keyboard to its first field. It does that after the
 * paint: a fill made before then can have its text land in that field instead.
 */
async function editorOpened(page: Page): Promise<void> {
  await expect.poll(() => page.evaluate(() => document.activeElement?.id), POLL).toBe('rule-name');
}

async function axeViolations(page: Page): Promise<string[]> {
  if ((await page.evaluate(() => typeof (window as { axe?: unknown }).axe)) !== 'object') await page.evaluate(AXE_SOURCE);
  const found: string[] = [];
  for (const colorScheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme });
    const violations = await page.evaluate(async () => {
      const result = await (window as unknown as { axe: { run(context: Document, options: object): Promise<{ violations: { id: string; help: string; nodes: { target: string[]; failureSummary?: string }[] }[] }> } }).axe.run(document, { resultTypes: ['violations'] });
      return result.violations.map((v) => `${v.id}: ${v.help} — ${v.nodes.slice(0, 3).map((n) => `${n.target.join(' ')} (${n.failureSummary ?? ''})`).join(' | ')}`);
    });
    found.push(...violations.map((v) => `[${colorScheme}] ${v}`));
  }
  await page.emulateMedia({ colorScheme: 'light' });
  return found;
}

/** A webhook receiver on 127.0.0.1: every POST's JSON body, in the order they came. */
async function startReceiver() {
  const bodies: Record<string, unknown>[] = [];
  const server = createServer((request, response) => {
    let text = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => (text += chunk));
    request.on('end', () => {
      if (request.method === 'POST' && request.url === '/hook') bodies.push(JSON.parse(text) as Record<string, unknown>);
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    bodies,
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
}

const activeId = (page: Page) => page.evaluate(() => document.activeElement?.id);

/** The focused element shows a focus ring (theme.css :focus-visible). */
const focusVisible = (page: Page) =>
  page.evaluate(() => {
    const element = document.activeElement as HTMLElement | null;
    return !!element && element !== document.body && element.matches(':focus-visible') && getComputedStyle(element).outlineStyle !== 'none';
  });

describe('the dashboard with Claude Code sessions', () => {
  const rig = useClaudeCodeRig();

  it('shows events as they arrive, filters them, shows a payload and the usage, and passes axe in both themes', async () => {
    const b = await rig.open({ connected: true });
    rig.api.enqueue({ kind: 'bash', command: 'echo hello > hello.txt', description: 'Say hello' }, { kind: 'text', text: 'Done.' });
    const run = await rig.claude.runPrint('Write hello into a file', { timeoutMs: 60_000 });
    expect(run.exitCode, run.stderr).toBe(0);
    const sessionId = run.result!.session_id;
    const ended = Date.now();
    await waitFor(
      () => b.request<StoredHookEvent[]>({ type: 'session-events', sessionId }),
      (e) => e.some((x) => x.name === 'SessionEnd'),
      30_000,
      'the session in the hub',
    );

    const page = await openDashboard(b, 'timeline');
    await page.getByRole('group', { name: /Events of Write hello into a file/ }).waitFor();
    await expect.poll(() => page.locator('#timeline-summary').textContent(), POLL).toMatch(/^6 events in 1 session$/);

    // A new event while the page is open, posted as Claude Code's hook posts it: it appears without a reload.
    const liveSession = `live-${Date.now()}`;
    const posted = Date.now();
    const answer = await rig.host.api('/hooks', {
      method: 'POST',
      body: JSON.stringify({
        session_id: liveSession,
        hook_event_name: 'PreToolUse',
        transcript_path: '/tmp/none.jsonl',
        cwd: '/tmp/live-project',
        tool_name: 'WebFetch',
        tool_input: { url: 'https://example.com/<b>not html</b>' },
      }),
    });
    expect(answer.status).toBe(200);
    await page.locator('.events-table tbody tr', { hasText: 'WebFetch' }).waitFor({ timeout: 5_000 });
    const shownAfter = Date.now() - posted;
    console.log(`a posted event showed on the open dashboard after ${shownAfter} ms`);
    expect(shownAfter).toBeLessThan(3_000);
    await expect.poll(() => page.locator('#timeline-summary').textContent(), POLL).toBe('7 events in 2 sessions');

    // Filters: by tool, by event type, by project, by session.
    await page.getByLabel('Tool', { exact: true }).selectOption('Bash');
    await expect.poll(() => page.locator('.events-table tbody tr').allTextContents(), POLL).toEqual([expect.stringMatching(/PostToolUseBash$/), expect.stringMatching(/PreToolUseBash$/)]);
    await page.getByLabel('Tool', { exact: true }).selectOption('');
    await page.getByLabel('Event', { exact: true }).selectOption('SessionStart');
    await expect.poll(() => page.locator('.events-table tbody tr').count(), POLL).toBe(1);
    await page.getByLabel('Event', { exact: true }).selectOption('');
    await page.getByLabel('Project', { exact: true }).selectOption('/tmp/live-project');
    await expect.poll(() => page.locator('#timeline-summary').textContent(), POLL).toBe('1 event in 1 session (of 7)');
    await page.getByRole('button', { name: 'Clear filters' }).click();
    await page.getByLabel('Session', { exact: true }).selectOption(sessionId);
    await expect.poll(() => page.locator('.events-table tbody tr').count(), POLL).toBe(6);
    await page.getByRole('button', { name: 'Clear filters' }).click();

    // A payload on demand, by keyboard: the marker of the live event, then Enter.
    const marker = page.getByRole('group', { name: /Events of live-/ }).getByRole('button').first();
    await marker.focus();
    await page.keyboard.press('Enter');
    expect(await focusVisible(page)).toBe(true);
    const payload = page.getByLabel('Payload of PreToolUse');
    await expect.poll(() => payload.textContent(), POLL).toContain('"tool_name": "WebFetch"');
    await expect.poll(() => payload.textContent(), POLL).toContain('https://example.com/<b>not html</b>');
    await expect.poll(() => page.locator('.event-details b').count(), POLL).toBe(0);
    // And one of the real session's, from the list.
    await page.locator('.events-table tbody tr', { hasText: 'PreToolUseBash' }).getByRole('button').click();
    await expect.poll(() => page.getByLabel('Payload of PreToolUse').textContent(), POLL).toContain('echo hello > hello.txt');

    await mkdir(DOCS, { recursive: true });
    await page.emulateMedia({ colorScheme: 'light' });
    await page.screenshot({ path: resolve(DOCS, 'dashboard-light.png') });
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.screenshot({ path: resolve(DOCS, 'dashboard-dark.png') });
    expect(await axeViolations(page)).toEqual([]);

    // Usage: the host read the session's transcript and reported its tokens. The daemon refreshes
    // usage after the turn's Stop (and SessionEnd) hook and hands the report to the hub then, not only
    // on its 60 s timer: the charts are there within seconds of the session's end.
    await go(page, 'usage');
    await page.getByRole('heading', { name: 'Usage and cost' }).waitFor();
    await page.locator('figure', { hasText: 'Tokens per 5-hour block' }).waitFor({ timeout: 10_000 });
    console.log(`the usage charts showed ${Date.now() - ended} ms after the session ended`);
    await expect.poll(() => page.locator('.chart canvas').count(), POLL).toBeGreaterThanOrEqual(4);
    await expect.poll(() => page.getByRole('table', { name: 'Limits' }).textContent(), POLL).toContain('5-hour');
    expect(await axeViolations(page)).toEqual([]);

    // Alerts and holds: the host's view of limits is there, nothing held.
    await go(page, 'holds');
    await page.getByRole('heading', { name: 'Rate-limited Claude Code sessions' }).waitFor();
    expect(await axeViolations(page)).toEqual([]);
    expect((page as Page & { errors?: string[] }).errors).toEqual([]);
  });

  it("edits the host's alert thresholds and webhooks by keyboard: config.json has them, the host uses them at once, and a refused value is shown beside its field", async () => {
    // config.json with more in it than the editors change: all of it must stay.
    const configFile = join(rig.host.home, 'config.json');
    const start = JSON.parse(await readFile(configFile, 'utf8')) as { api: { port: number } };
    await writeFile(configFile, JSON.stringify({ ...start, inbox: { retentionHours: 48 }, claudeCode: { resumeExited: false, alerts: { tokenPercent: 70 } } }, null, 2));
    const config = async () => JSON.parse(await readFile(configFile, 'utf8')) as Record<string, unknown>;
    const receiver = await startReceiver();
    try {
      const b = await rig.open({ connected: true });
      const page = await openDashboard(b, 'settings');
      const cost = page.getByLabel('Cost per 5-hour block (USD)');
      // The host's values, not the defaults shown while it cannot be asked.
      await expect.poll(() => page.getByLabel('Tokens, share of the estimated limit (%)').inputValue(), POLL).toBe('70');
      expect(await cost.isEnabled()).toBe(true);
      expect(await page.locator('#host-settings-unavailable').count()).toBe(0);

      // A threshold, by keyboard: so low that the next turn crosses it.
      await cost.focus();
      expect(await focusVisible(page)).toBe(true);
      await page.keyboard.press('ControlOrMeta+a');
      await page.keyboard.type('0.0001');
      await page.keyboard.press('Enter');
      await expect.poll(() => page.locator('#thresholds-status').textContent(), POLL).toBe('Saved: the host uses these thresholds now.');
      await expect.poll(config, POLL).toEqual({
        api: { port: rig.host.port },
        inbox: { retentionHours: 48 },
        claudeCode: { resumeExited: false, alerts: { tokenPercent: 70, sessionHours: 4.5, costPerBlockUsd: 0.0001, rateLimitPercent: 90 } },
      });

      // A webhook, by keyboard. First a URL the host would refuse: the error is beside the URL, nothing is written.
      const withThreshold = await readFile(configFile, 'utf8');
      await page.getByRole('button', { name: 'Add a webhook' }).focus();
      await page.keyboard.press('Enter');
      await expect.poll(() => activeId(page), POLL).toBe('webhook-0-url');
      await page.keyboard.type('ftp://x');
      await page.keyboard.press('Enter');
      await expect.poll(() => page.locator('#webhook-0-url-error').textContent(), POLL).toBe('expected an http:// or https:// URL');
      expect(await page.getByLabel('URL').getAttribute('aria-invalid')).toBe('true');
      expect(await page.getByLabel('URL').getAttribute('aria-describedby')).toBe('webhook-0-url-error');
      expect(await activeId(page)).toBe('webhook-0-url');
      expect(await axeViolations(page)).toEqual([]);
      // The dashboard said it before asking; the host, asked the same through the hub, says the same and writes nothing.
      await expect(b.request({ type: 'settings-put', webhooks: [{ url: 'ftp://x', format: 'json', events: ['alert'] }] })).rejects.toThrow(
        'invalid settings: webhooks[0].url: expected an http:// or https:// URL',
      );
      expect(await readFile(configFile, 'utf8')).toBe(withThreshold);

      // Then the receiver's URL; the format and events by keyboard too (json; alert only).
      await page.keyboard.press('ControlOrMeta+a');
      await page.keyboard.type(receiver.url);
      await page.keyboard.press('Tab');
      expect(await activeId(page)).toBe('webhook-0-format');
      expect(await page.getByLabel('Format').inputValue()).toBe('json');
      const events = page.getByRole('group', { name: 'Events' }).getByRole('checkbox');
      await page.keyboard.press('Tab');
      for (let i = 0; i < (await events.count()); i++) {
        const name = await events.nth(i).getAttribute('value');
        if (name !== 'alert' && (await events.nth(i).isChecked())) await page.keyboard.press('Space');
        if (name === 'alert' && !(await events.nth(i).isChecked())) await page.keyboard.press('Space');
        await page.keyboard.press('Tab');
      }
      expect(await page.getByRole('group', { name: 'Events' }).locator('input:checked').evaluateAll((inputs) => inputs.map((i) => (i as HTMLInputElement).value))).toEqual(['alert']);
      await page.getByRole('button', { name: 'Save webhook' }).focus();
      await page.keyboard.press('Enter');
      await expect.poll(() => page.locator('#webhooks-status').textContent(), POLL).toBe(`Added the webhook to ${receiver.url}.`);
      await expect.poll(() => page.locator('.webhook-list li').allTextContents(), POLL).toEqual([expect.stringContaining(`${receiver.url} · json · alert`)]);
      // The keyboard is back where it was: on "Add a webhook".
      await expect.poll(() => activeId(page), POLL).toBe('webhook-add');
      await expect.poll(config, POLL).toEqual({
        api: { port: rig.host.port },
        inbox: { retentionHours: 48 },
        claudeCode: { resumeExited: false, alerts: { tokenPercent: 70, sessionHours: 4.5, costPerBlockUsd: 0.0001, rateLimitPercent: 90 } },
        webhooks: [{ url: receiver.url, format: 'json', events: ['alert'] }],
      });

      // The host refuses what it cannot write: config.json broken by hand meanwhile is left as it is,
      // and the refusal is the form's (it is no field's, and it is not "needs the native host").
      const good = await readFile(configFile, 'utf8');
      await writeFile(configFile, '{ "api": ');
      await cost.focus();
      await page.keyboard.press('ControlOrMeta+a');
      await page.keyboard.type('0.0002');
      await page.keyboard.press('Enter');
      const refused = page.getByRole('form', { name: 'Usage alert thresholds' }).getByRole('alert');
      await expect.poll(() => refused.textContent(), POLL).toMatch(/config\.json: not valid JSON, so it is left as it is/);
      expect(await refused.textContent()).not.toMatch(/needs the native host/);
      expect(await readFile(configFile, 'utf8')).toBe('{ "api": ');
      await writeFile(configFile, good);

      // The host uses both at once: the next turn's cost crosses the threshold, and the alert reaches the webhook.
      // A model the bundled price table has, so the turn has a cost.
      rig.api.enqueue({ kind: 'text', text: 'Done.' });
      const run = await rig.claude.runPrint('Say done', { timeoutMs: 60_000, args: ['--model', 'claude-sonnet-4-5'] });
      expect(run.exitCode, run.stderr).toBe(0);
      await waitFor(
        async () => receiver.bodies,
        (bodies) => bodies.some((body) => body.type === 'alert'),
        15_000,
        'the cost alert at the webhook',
      );
      expect(receiver.bodies.find((body) => body.type === 'alert')).toMatchObject({ type: 'alert', severity: 'warning', text: expect.stringMatching(/past the \$0\.0001 alert/) });
      expect((page as Page & { errors?: string[] }).errors).toEqual([]);
    } finally {
      await receiver.close();
    }
  });
});

describe('the dashboard: messages, rules, holds and data', () => {
  let b: ExtensionBrowser;
  let page: Page;
  beforeAll(async () => {
    b = await launchExtension();
    page = await openDashboard(b, 'messages');
  });
  afterAll(async () => {
    await b?.close();
  });
  const send = (message: Record<string, unknown>) => b.request<SendReceipt>({ type: 'send', message: { from: 'extension:local/e2e', ...message } });

  it('searches messages, filters them, and shows a message with HTML in it as text, with its delivery history', async () => {
    await send({ to: 'test:local/alpha', body: 'the quarterly zebra report is ready', kind: 'note' });
    await send({ to: 'test:local/beta', body: 'zebra crossing photos', kind: 'prompt' });
    const xss = await send({ to: 'test:local/gamma', body: 'look: <img src=x onerror="window.__xss = 1"> and <script>window.__xss = 2</script> **bold**' });

    await page.locator('.message-list li').nth(2).waitFor();
    const query = page.getByLabel('Search text');
    await query.fill('zebra');
    await query.press('Enter');
    await expect.poll(() => page.locator('.message-list .summary').allTextContents(), POLL).toEqual(['zebra crossing photos', 'the quarterly zebra report is ready']);
    await page.getByLabel('Kind').selectOption('prompt');
    await expect.poll(() => page.locator('.message-list .summary').allTextContents(), POLL).toEqual(['zebra crossing photos']);
    await page.getByRole('button', { name: 'Clear' }).click();
    await page.getByLabel('Agent').fill('test:local/gamma');
    await page.getByLabel('Agent').press('Enter');
    await expect.poll(() => page.locator('.message-list li').count(), POLL).toBe(1);

    // The HTML stays text, in the list and in the detail (rendered as Markdown).
    await expect.poll(() => page.locator('.message-list .summary').textContent(), POLL).toBe('look: <img src=x onerror="window.__xss = 1"> and <script>window.__xss = 2</script> **bold**');
    await page.locator('.message-open').click();
    const body = page.getByTestId('message-body');
    await expect.poll(() => body.textContent(), POLL).toContain('<img src=x onerror="window.__xss = 1">');
    await expect.poll(() => body.locator('strong').textContent(), POLL).toBe('bold');
    await expect.poll(() => page.locator('main img, main script').count(), POLL).toBe(0);
    expect(await page.evaluate(() => (window as { __xss?: number }).__xss)).toBeUndefined();
    await waitFor(() => b.request<MessageStatus>({ type: 'status', id: xss.id }), (s) => s.deliveries[0].state === 'delivered', 10_000, 'the delivery');
    await page.getByRole('table', { name: 'Delivery history' }).locator('td', { hasText: 'delivered' }).waitFor();
    expect(await axeViolations(page)).toEqual([]);
  });

  it('adds and edits a routing rule by keyboard, shows the hub’s errors by their field, and the rule then routes', async () => {
    await go(page, 'rules');
    await page.getByRole('heading', { name: 'Routing rules' }).waitFor();
    const addRule = page.getByRole('button', { name: 'Add a rule' });
    await addRule.focus();
    await page.keyboard.press('Enter');
    // The editor takes the keyboard to its first field.
    await editorOpened(page);
    expect(await focusVisible(page)).toBe(true);
    await page.keyboard.type('Copy e2e mail');
    await expect.poll(() => page.getByLabel('Id').inputValue(), POLL).toBe('copy-e2e-mail');
    await page.getByLabel('From').focus();
    await page.keyboard.type('extension:local/e2e');
    await page.getByLabel('Text').focus();
    await page.keyboard.type('(unclosed');
    await page.getByLabel('Recipients').focus();
    await page.keyboard.type('nobody');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.locator('#rule-text-error').textContent(), POLL).toBe('not a valid regular expression: "(unclosed"');
    await expect.poll(() => page.locator('#rule-recipients-error').textContent(), POLL).toMatch(/got "nobody"/);
    await expect.poll(() => page.getByLabel('Text').getAttribute('aria-invalid'), POLL).toBe('true');
    expect(await axeViolations(page)).toEqual([]);

    await page.getByLabel('Text').fill('');
    await page.getByLabel('Recipients').fill('test:local/copy');
    await page.getByLabel('Recipients').press('Enter');
    const rule = page.locator('[data-rule-id="copy-e2e-mail"]');
    await expect.poll(() => rule.locator('.rule-what').textContent(), POLL).toBe('from extension:local/e2e → add test:local/copy');

    // Edit it: another recipient.
    await rule.getByRole('button', { name: 'Edit Copy e2e mail' }).focus();
    await page.keyboard.press('Enter');
    await editorOpened(page);
    // The editor shows the rule before it is changed (else the fill could land before the form does).
    await expect.poll(() => page.getByLabel('Recipients').inputValue(), POLL).toBe('test:local/copy');
    await page.getByLabel('Recipients').fill('test:local/copy-2');
    await page.getByLabel('Recipients').press('Enter');
    await expect.poll(() => rule.locator('.rule-what').textContent(), POLL).toBe('from extension:local/e2e → add test:local/copy-2');

    const receipt = await send({ to: 'test:local/alpha', body: 'routed by the dashboard’s rule' });
    expect(receipt.recipients).toEqual(['test:local/alpha', 'test:local/copy-2']);
    expect(receipt.routedBy).toEqual(['copy-e2e-mail']);
    const status = await waitFor(
      () => b.request<MessageStatus>({ type: 'status', id: receipt.id }),
      (s) => s.deliveries.every((d) => d.state === 'delivered'),
      10_000,
      'both deliveries',
    );
    expect(status.deliveries.map((d) => d.recipient).sort()).toEqual(['test:local/alpha', 'test:local/copy-2']);

    // A second rule, moved above the first by keyboard; then the first deleted behind its dialog.
    await page.getByRole('button', { name: 'Add a rule' }).click();
    await editorOpened(page);
    await page.getByLabel('Name').fill('Drop noise');
    await page.getByLabel('Text').fill('^noise');
    await page.getByLabel('Action').selectOption('drop');
    await page.getByRole('button', { name: 'Add rule' }).click();
    await page.getByRole('button', { name: 'Move Drop noise up' }).focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => page.locator('.rule .rule-name').allTextContents(), POLL).toEqual(['Drop noise', 'Copy e2e mail']);
    await page.getByRole('button', { name: 'Delete Copy e2e mail' }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete this rule?' });
    await expect.poll(() => dialog.isVisible(), POLL).toBe(true);
    await dialog.getByRole('button', { name: 'Delete rule' }).click();
    await expect.poll(() => page.locator('.rule .rule-name').allTextContents(), POLL).toEqual(['Drop noise']);
  });

  it('holds an agent with a countdown and releases it', async () => {
    await go(page, 'holds');
    await page.getByRole('heading', { name: 'Hold an agent' }).waitFor();
    await page.getByLabel('Agent', { exact: true }).fill('test:local/held');
    await page.getByLabel('Reason').fill('lunch break');
    await page.getByLabel('For how many minutes').fill('30');
    await page.getByRole('button', { name: 'Hold', exact: true }).click();
    const card = page.locator('.hold', { hasText: 'test:local/held' });
    await expect.poll(() => card.locator('.countdown').textContent(), POLL).toMatch(/^ends in (29|30) min \d\d s$/);
    await expect.poll(() => card.textContent(), POLL).toContain('lunch break');
    expect(await axeViolations(page)).toEqual([]);
    await card.getByRole('button', { name: 'Release test:local/held' }).click();
    await expect.poll(() => card.count(), POLL).toBe(0);
    await page.locator('details', { hasText: 'History of test:local/held' }).waitFor();
  });

  it('says the host settings need the native host, exports messages as JSON, and clears data only when confirmed', async () => {
    await go(page, 'settings');
    await expect.poll(() => page.locator('#host-settings-unavailable').textContent(), POLL).toMatch(/needs the native host, which is not connected/);
    expect(await page.getByLabel('Cost per 5-hour block (USD)').isDisabled()).toBe(true);
    await expect.poll(() => page.getByLabel('Short, hours').inputValue(), POLL).toBe('1');
    expect(await axeViolations(page)).toEqual([]);

    await go(page, 'data');
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export messages' }).click()]);
    expect(download.suggestedFilename()).toMatch(/^switchboard-messages-.*\.json$/);
    const exported = JSON.parse(await readFile((await download.path())!, 'utf8')) as { messages: { message: { body: { text: string } } }[] };
    expect(exported.messages.map((m) => m.message.body.text)).toContain('the quarterly zebra report is ready');

    // Asked first: Cancel has the focus, Escape closes, nothing is deleted.
    const clear = page.getByRole('button', { name: 'Delete all messages and events…' });
    await clear.click();
    const dialog = page.getByRole('dialog', { name: 'Delete all messages and events?' });
    await expect.poll(() => page.evaluate(() => document.activeElement?.textContent), POLL).toBe('Cancel');
    expect(await axeViolations(page)).toEqual([]);
    await page.keyboard.press('Escape');
    await expect.poll(() => dialog.isVisible(), POLL).toBe(false);
    await expect.poll(() => page.evaluate(() => document.activeElement?.textContent), POLL).toBe('Delete all messages and events…');
    expect((await b.request<unknown[]>({ type: 'list' })).length).toBeGreaterThan(0);

    await clear.click();
    await dialog.getByRole('button', { name: 'Delete everything' }).click();
    await expect.poll(() => page.locator('#data-status').textContent(), POLL).toBe('Deleted every message, the archive and every event.');
    expect(await b.request<unknown[]>({ type: 'list' })).toEqual([]);
    expect((page as Page & { errors?: string[] }).errors).toEqual([]);
  });
});
