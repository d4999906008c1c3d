import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { WebhookConfig, Webhooks, type WebhookFailure } from '../../native-host/webhooks';
import type { HostEvent } from '../../native-host/ports';
import { parseOrThrow } from '../../src/protocol/envelope';
import { MemoryHostCore } from '../support/memory-host-core';

const SECRET = 'whsec-test-1f2e';
const FAST = { attempts: 3, baseMs: 1, maxMs: 5 };
const alert: HostEvent = { type: 'alert', severity: 'critical', text: 'Claude Code hit its rate limit <!channel>', at: 1_700_000_000_000 };

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A receiving server on 127.0.0.1 whose answers a test scripts, one per request (the last repeats). */
let server: Server;
let url: string;
let received: Received[];
let answers: { status: number; headers?: Record<string, string> }[];
let dir: string;

beforeEach(async () => {
  received = [];
  answers = [{ status: 200 }];
  server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      received.push({ path: request.url ?? '', headers: request.headers, body });
      const answer = answers.length > 1 ? answers.shift()! : answers[0];
      response.writeHead(answer.status, answer.headers).end(answer.status >= 400 ? 'nope' : 'ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/T000/secret-path`;
  dir = await mkdtemp(join(tmpdir(), 'switchboard-webhooks-'));
});

afterEach(async () => {
  await new Promise((resolve) => server.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

/** What a receiver does: recompute the HMAC over timestamp + "." + body and compare. */
function verify(request: Received, secret: string): boolean {
  const timestamp = request.headers['x-switchboard-timestamp'] as string;
  const expected = `sha256=${createHmac('sha256', secret).update(`${timestamp}.${request.body}`).digest('hex')}`;
  const given = String(request.headers['x-switchboard-signature'] ?? '');
  return given.length === expected.length && timingSafeEqual(Buffer.from(given), Buffer.from(expected));
}

describe('Webhooks', () => {
  it('posts the event as JSON, signed so the receiver can verify it', async () => {
    const hooks = new Webhooks({ hooks: [{ url, format: 'json', events: ['alert'], secret: SECRET }], retry: FAST, now: () => 1_700_000_123_456 });
    await hooks.notify(alert);
    expect(received).toHaveLength(1);
    const [request] = received;
    expect(request.path).toBe('/hooks/T000/secret-path');
    expect(JSON.parse(request.body)).toEqual(alert);
    expect(request.headers['content-type']).toBe('application/json');
    expect(request.headers['x-switchboard-timestamp']).toBe('1700000123');
    expect(request.headers['x-switchboard-event']).toBe('alert');
    expect(verify(request, SECRET)).toBe(true);
    expect(verify(request, 'another secret')).toBe(false);
    expect(verify({ ...request, body: request.body.replace('critical', 'info') }, SECRET)).toBe(false);
    expect(hooks.failures()).toEqual([]);
  });

  it('sends no signature without a secret', async () => {
    await new Webhooks({ hooks: [{ url, format: 'json', events: ['alert'] }], retry: FAST }).notify(alert);
    expect(received[0].headers['x-switchboard-signature']).toBeUndefined();
    expect(received[0].headers['x-switchboard-timestamp']).toMatch(/^\d+$/);
  });

  it('speaks Slack ({text}, escaped) and Discord ({content}, no mentions)', async () => {
    const hooks = new Webhooks({
      hooks: [
        { url, format: 'slack', events: ['alert'] },
        { url, format: 'discord', events: ['alert'] },
      ],
      retry: FAST,
    });
    await hooks.notify(alert);
    const bodies = received.map((request) => JSON.parse(request.body));
    expect(bodies).toContainEqual({ text: 'Switchboard: critical alert: Claude Code hit its rate limit &lt;!channel&gt;' });
    expect(bodies).toContainEqual({ content: 'Switchboard: critical alert: Claude Code hit its rate limit <!channel>', allowed_mentions: { parse: [] } });
  });

  it('retries after a 500 with the same delivery id, signing each attempt, and succeeds', async () => {
    answers = [{ status: 500 }, { status: 503 }, { status: 204 }];
    const failures: WebhookFailure[] = [];
    const hooks = new Webhooks({ hooks: [{ url, format: 'json', events: ['alert'], secret: SECRET }], retry: FAST, onFailure: (f) => failures.push(f) });
    await hooks.notify(alert);
    expect(received).toHaveLength(3);
    expect(new Set(received.map((r) => r.headers['x-switchboard-delivery'])).size).toBe(1);
    expect(received.every((request) => verify(request, SECRET))).toBe(true);
    expect(failures).toEqual([]);
    expect(hooks.failures()).toEqual([]);
  });

  it('retries a 429, honouring Retry-After', async () => {
    answers = [{ status: 429, headers: { 'Retry-After': '0' } }, { status: 200 }];
    const hooks = new Webhooks({ hooks: [{ url, format: 'json', events: ['alert'] }], retry: FAST });
    await hooks.notify(alert);
    expect(received).toHaveLength(2);
    expect(hooks.failures()).toEqual([]);
  });

  it('does not retry a 400, and keeps the failure in memory, in the file and through onFailure', async () => {
    answers = [{ status: 400 }];
    const failuresFile = join(dir, 'webhook-failures.jsonl');
    const reported: WebhookFailure[] = [];
    const hooks = new Webhooks({
      hooks: [{ url, format: 'json', events: ['alert'] }],
      retry: FAST,
      failuresFile,
      onFailure: (failure) => reported.push(failure),
      now: () => 1_700_000_000_500,
    });
    await hooks.notify(alert);
    await hooks.idle();
    expect(received).toHaveLength(1);
    const expected = { hook: 0, target: new URL(url).origin, event: alert, attempts: 1, error: 'HTTP 400: nope', at: 1_700_000_000_500 };
    expect(hooks.failures()).toEqual([expected]);
    expect(reported).toEqual([expected]);
    const lines = (await readFile(failuresFile, 'utf8')).trim().split('\n');
    expect(lines.map((line) => JSON.parse(line))).toEqual([expected]);
    // The URL's secret path is never kept.
    expect(lines[0]).not.toContain('secret-path');
  });

  it('gives up after the last attempt on a server that keeps failing or cannot be reached', async () => {
    answers = [{ status: 502 }];
    const closedPort = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as AddressInfo;
        probe.close(() => resolve(port));
      });
    });
    const hooks = new Webhooks({
      hooks: [
        { url, format: 'json', events: ['alert'] },
        { url: `http://127.0.0.1:${closedPort}/`, format: 'json', events: ['alert'] },
      ],
      retry: FAST,
    });
    await hooks.notify(alert);
    expect(received).toHaveLength(3);
    expect(hooks.failures().map((f) => [f.hook, f.attempts, f.error])).toEqual(
      expect.arrayContaining([
        [0, 3, 'HTTP 502: nope'],
        [1, 3, expect.any(String)],
      ]),
    );
  });

  it('sends only the chosen events, and only messages to its topic', async () => {
    const core = new MemoryHostCore();
    const hooks = new Webhooks({
      hooks: [
        { url: `${url}?all`, format: 'json', events: ['delivery-failed'] },
        { url: `${url}?builds`, format: 'json', events: ['message-in', 'message-out', 'alert'], topic: 'topic:builds' },
      ],
      retry: FAST,
    });
    const detach = hooks.attach(core);
    core.emit({ type: 'message-in', messageId: 'm1', from: 'api:local/a', to: ['topic:builds'], kind: 'note', at: 1 });
    core.emit({ type: 'message-in', messageId: 'm2', from: 'api:local/a', to: ['topic:other'], kind: 'note', at: 2 });
    core.emit({ type: 'message-out', messageId: 'm1', recipient: 'api:local/b', kind: 'note', at: 3 });
    core.emit({ type: 'delivery-failed', messageId: 'm3', recipient: 'api:local/b', reason: 'expired', at: 4 });
    core.emit({ type: 'hub', connected: false, at: 5 });
    core.emit(alert);
    await hooks.idle();
    detach();
    core.emit({ type: 'delivery-failed', messageId: 'm4', recipient: 'api:local/b', reason: 'expired', at: 6 });
    await hooks.idle();
    const got = received.map((request) => `${request.path.split('?')[1]}:${JSON.parse(request.body).messageId ?? JSON.parse(request.body).type}`).sort();
    expect(got).toEqual(['all:m3', 'builds:alert', 'builds:m1']);
  });

  it('keeps a bounded number of failures, newest last', async () => {
    answers = [{ status: 404 }];
    const hooks = new Webhooks({ hooks: [{ url, format: 'json', events: ['alert'] }], retry: FAST, maxFailures: 2 });
    for (const text of ['one', 'two', 'three']) await hooks.notify({ ...alert, text });
    expect(hooks.failures().map((f) => (f.event as { text: string }).text)).toEqual(['two', 'three']);
  });

  it('close() stops waiting retries and keeps them as failures', async () => {
    answers = [{ status: 503 }];
    const hooks = new Webhooks({ hooks: [{ url, format: 'json', events: ['alert'] }], retry: { attempts: 5, baseMs: 60_000, maxMs: 60_000 } });
    const delivery = hooks.notify(alert);
    await expect.poll(() => received.length).toBe(1);
    await hooks.close();
    await delivery;
    expect(hooks.failures()).toEqual([expect.objectContaining({ attempts: 1, error: expect.stringMatching(/^stopped before delivery: HTTP 503/) })]);
  });

  it('validates its configuration, naming the bad field', () => {
    expect(() => new Webhooks({ hooks: [{ url: 'ftp://x', format: 'json', events: ['alert'] }] })).toThrow(/\[0\]\.url: expected an http/);
    expect(() => new Webhooks({ hooks: [{ url, format: 'teams' as 'json', events: ['alert'] }] })).toThrow(/format: expected one of slack, discord, json/);
    expect(() => new Webhooks({ hooks: [{ url, format: 'json', events: [] }] })).toThrow(/events: name at least one/);
    expect(() => new Webhooks({ hooks: [{ url, format: 'json', events: ['boom' as 'alert'] }] })).toThrow(/events\[0\]: expected one of/);
    expect(() => new Webhooks({ hooks: [{ url, format: 'json', events: ['alert'], topic: 'Bad Topic' }] })).toThrow(/topic: expected a topic name/);
    expect(() => new Webhooks({ hooks: [{ url, format: 'json', events: ['alert'], colour: 'red' } as WebhookConfig] })).toThrow(/Unrecognized key: "colour"/);
    expect(parseOrThrow(WebhookConfig, { url, format: 'json', events: ['alert'], topic: 'topic:builds' }, 'webhook').topic).toBe('builds');
  });
});
