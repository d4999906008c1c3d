import { HostBusyError } from '../../../native-host/ports';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { request as httpRequest } from 'node:http';
import { startApi, type ApiOptions, type RunningApi } from '../../../native-host/api/server';
import { HostMetrics } from '../../../native-host/metrics';
import { MemoryHostCore, envelopeFor } from '../../support/memory-host-core';

const TOKEN = 'test-token-5f0c9a';

let core: MemoryHostCore;
let api: RunningApi;
let base: string;

async function start(options: Partial<ApiOptions> = {}) {
  api = await startApi({ core, token: TOKEN, port: 0, metrics: new HostMetrics({ processMetrics: false }), ...options });
  base = `http://127.0.0.1:${api.port}`;
}

const auth = { Authorization: `Bearer ${TOKEN}` };

function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  return fetch(`${base}${path}`, {
    method: 'POST',
    headers: { ...auth, 'Content-Type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

const get = (path: string, headers: Record<string, string> = auth) => fetch(`${base}${path}`, { headers });

async function expectServing() {
  const response = await get('/health/live');
  expect(response.status).toBe(200);
  expect(await response.json()).toEqual({ ok: true });
}

beforeEach(() => {
  core = new MemoryHostCore();
});

afterEach(async () => {
  await api?.close();
});

describe('startApi', () => {
  it('refuses to listen on an address that is not loopback', async () => {
    for (const host of ['0.0.0.0', '::', '192.168.1.10', 'localhost']) {
      await expect(startApi({ core, token: TOKEN, host, port: 0 })).rejects.toThrow(/refusing to listen on .*loopback/);
    }
  });

  it('listens on any loopback address', async () => {
    await start({ host: '127.0.0.2' });
    const response = await fetch(`http://127.0.0.2:${api.port}/health/live`, { headers: auth });
    expect(response.status).toBe(200);
  });
});

describe('authentication', () => {
  beforeEach(() => start());

  it('answers 401 "missing token" without a token, on every route', async () => {
    for (const path of ['/health/live', '/api/status', '/metrics', '/api/messages?to=a', '/nowhere']) {
      const response = await get(path, {});
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toBe('Bearer');
      expect(await response.json()).toEqual({ error: 'missing token' });
    }
    const sent = await fetch(`${base}/api/send`, { method: 'POST', body: '{}' });
    expect(sent.status).toBe(401);
    expect(core.submitted).toHaveLength(0);
  });

  it('answers 401 "wrong token" for a wrong bearer, a wrong ?token= or another scheme', async () => {
    for (const headers of [{ Authorization: 'Bearer nope' }, { Authorization: `Basic ${TOKEN}` }, { Authorization: 'Bearer' }]) {
      const response = await get('/health/live', headers);
      expect(response.status).toBe(401);
      expect(await response.json()).toEqual({ error: 'wrong token' });
    }
    const byQuery = await get('/health/live?token=nope', {});
    expect(await byQuery.json()).toEqual({ error: 'wrong token' });
    await expectServing();
  });

  it('accepts the token in ?token= for clients that cannot set headers', async () => {
    const response = await get(`/api/status?token=${TOKEN}`, {});
    expect(response.status).toBe(200);
  });
});

describe('POST /hooks', () => {
  it('hands a Claude Code hook event to the core and answers with what the hook prints', async () => {
    await start();
    core.hookAnswer = { hookSpecificOutput: { hookEventName: 'UserPromptSubmit', additionalContext: 'mail for you' } };
    const payload = { session_id: 's-1', hook_event_name: 'UserPromptSubmit', cwd: '/work', prompt: 'hello', extra: { kept: true } };
    const response = await post('/hooks', payload);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual(core.hookAnswer);
    expect(core.hooks).toEqual([{ payload, receivedAt: expect.any(Number), origin: { hookPid: undefined } }]);
  });

  it('answers 400 naming what a hook event lacks, and 401 without the token', async () => {
    await start();
    const response = await post('/hooks', { hook_event_name: 'Stop' });
    expect(response.status).toBe(400);
    expect((await response.json()).error).toMatch(/^invalid hook event: session_id: /);
    expect((await post('/hooks', { session_id: 's', hook_event_name: 'Stop' }, { authorization: 'Bearer nope' })).status).toBe(401);
    expect(core.hooks).toEqual([]);
    await expectServing();
  });
});

describe('POST /api/send', () => {
  beforeEach(() => start({ device: 'laptop' }));

  it('journals a bridge message through the core and answers with its id', async () => {
    const response = await post('/api/send', { from: 'ci-bot', to: 'reviewer', type: 'request', payload: 'please review #12', require_ack: true });
    expect(response.status).toBe(200);
    const answer = await response.json();
    expect(answer).toEqual({ status: 'sent', message_id: expect.any(String) });
    expect(core.submitted).toEqual([
      expect.objectContaining({
        id: answer.message_id,
        from: 'api:laptop/ci-bot',
        to: ['api:laptop/reviewer'],
        kind: 'prompt',
        body: { text: 'please review #12' },
        ackRequired: true,
        headers: { 'bridge-type': 'request' },
      }),
    ]);
  });

  it('maps "all" to broadcast, JSON payloads to text with a header, and accepts full Switchboard addresses', async () => {
    await post('/api/send', { from: 'a', to: 'all', type: 'broadcast', payload: { build: 42, ok: true } });
    await post('/api/send', { from: 'a', to: 'claude-code:laptop/5f0c', type: 'claude_response', payload: 'done' });
    await post('/api/send', { from: 'a', to: 'topic:builds', payload: '' });
    expect(core.submitted.map((m) => [m.to, m.kind, m.body.text, m.headers])).toEqual([
      [['broadcast'], 'note', '{"build":42,"ok":true}', { 'bridge-type': 'broadcast', 'bridge-payload': 'json' }],
      [['claude-code:laptop/5f0c'], 'reply', 'done', { 'bridge-type': 'claude_response' }],
      [['topic:builds'], 'note', '""', { 'bridge-type': 'message', 'bridge-payload': 'json' }],
    ]);
  });

  it('gives the same id for the same Idempotency-Key from the same client, so a retry is one message', async () => {
    const body = { from: 'a', to: 'b', payload: 'once' };
    const first = await (await post('/api/send', body, { 'Idempotency-Key': 'job-7' })).json();
    const retry = await (await post('/api/send', body, { 'Idempotency-Key': 'job-7' })).json();
    const other = await (await post('/api/send', { ...body, from: 'c' }, { 'Idempotency-Key': 'job-7' })).json();
    expect(retry.message_id).toBe(first.message_id);
    expect(other.message_id).not.toBe(first.message_id);
    expect(core.submitted).toHaveLength(2);
    const bad = await post('/api/send', body, { 'Idempotency-Key': 'has spaces' });
    expect(bad.status).toBe(400);
    expect((await bad.json()).error).toMatch(/Idempotency-Key/);
  });

  it('answers 400 naming what is wrong, journals nothing, and keeps serving', async () => {
    const cases: [unknown, RegExp][] = [
      ['{"from": "a", "to":', /body is not valid JSON/],
      ['', /body is empty/],
      [{ to: 'b', payload: 'x' }, /from: required/],
      [{ from: 'a', payload: 'x' }, /to: required/],
      [{ from: 'a', to: 'b' }, /payload: required/],
      [{ from: 'a', to: 'b', payload: 'x', priority: 'high', extra: 1 }, /Unrecognized keys: "priority", "extra"/],
      [{ from: 'a/b', to: 'b', payload: 'x' }, /from: expected a client id/],
      [{ from: 'a', to: 'topic:Bad Topic', payload: 'x' }, /to: expected a client id, "all", or a Switchboard address/],
      [{ from: 'a', to: 'b', payload: 'x', require_ack: 'yes' }, /require_ack: expected true or false/],
      [{ from: 'a', to: 'b', payload: 'x'.repeat(8_000_000) }, /payload: /],
      [[1, 2], /expected object/],
    ];
    for (const [body, error] of cases) {
      const response = await post('/api/send', body);
      expect(response.status, JSON.stringify(body).slice(0, 80)).toBe(400);
      expect((await response.json()).error).toMatch(error);
    }
    expect(core.submitted).toHaveLength(0);
    await expectServing();
  });

  it('answers 500 with the reason when the core cannot journal, and keeps serving', async () => {
    core.failSubmitsWith = new Error('disk full');
    const response = await post('/api/send', { from: 'a', to: 'b', payload: 'x' });
    expect(response.status).toBe(500);
    expect((await response.json()).error).toMatch(/disk full/);
    await expectServing();
  });

  it('answers 503 with Retry-After when the host is busy (its journal is full)', async () => {
    core.failSubmitsWith = new HostBusyError("the host's journal is full (5 bytes wait for the hub); try again later", 60);
    const response = await post('/api/send', { from: 'a', to: 'b', payload: 'x' });
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('60');
    expect((await response.json()).error).toMatch(/journal is full/);
    await expectServing();
  });
});

describe('limits', () => {
  it('answers 413 for a body over maxBodyBytes, declared or streamed, and keeps serving', async () => {
    await start({ maxBodyBytes: 1024 });
    const large = JSON.stringify({ from: 'a', to: 'b', payload: 'x'.repeat(4096) });
    const declared = await post('/api/send', large);
    expect(declared.status).toBe(413);
    expect(await declared.json()).toEqual({ error: 'body is larger than 1024 bytes' });

    // Chunked, with no Content-Length: refused while reading.
    const streamed = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const request = httpRequest(`${base}/api/send`, { method: 'POST', headers: { ...auth, 'Transfer-Encoding': 'chunked' } }, (response) => {
        let body = '';
        response.on('data', (chunk) => (body += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      });
      request.on('error', reject);
      for (let i = 0; i < 8; i++) request.write(large.slice(i * 512, (i + 1) * 512));
      request.end();
    });
    expect(streamed.status).toBe(413);
    expect(JSON.parse(streamed.body).error).toMatch(/larger than 1024 bytes/);
    expect(core.submitted).toHaveLength(0);
    const ok = await post('/api/send', { from: 'a', to: 'b', payload: 'small' });
    expect(ok.status).toBe(200);
  });

  it('rate-limits each client on its own with 429 and Retry-After, and lets it in again later', async () => {
    let now = 1_000_000;
    await start({ rateLimit: { perSecond: 0.5, burst: 2 }, now: () => now });
    const send = (from: string) => post('/api/send', { from, to: 'b', payload: 'x' });
    expect((await send('busy')).status).toBe(200);
    expect((await send('busy')).status).toBe(200);
    const limited = await send('busy');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('2');
    expect((await limited.json()).error).toMatch(/rate limit exceeded for client busy: retry after 2 s/);
    expect((await send('quiet')).status).toBe(200);
    expect((await get('/api/messages?to=busy')).status).toBe(429);
    now += 2_000;
    expect((await send('busy')).status).toBe(200);
    expect(core.submitted).toHaveLength(4);
  });
});

describe('routes', () => {
  beforeEach(() => start());

  it('answers 404 for an unknown route and 405 with Allow for a wrong method', async () => {
    const missing = await get('/api/nothing');
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: 'no route /api/nothing' });
    const wrong = await fetch(`${base}/api/send`, { headers: auth });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('POST');
    expect((await wrong.json()).error).toMatch(/GET is not allowed on \/api\/send/);
    const plainWs = await get('/ws/a');
    expect(plainWs.status).toBe(426);
    await expectServing();
  });

  it('GET /health/ready names what is not ready', async () => {
    expect(await (await get('/health/ready')).json()).toEqual({ ok: true });
    core.statusFacts.hubConnected = false;
    core.statusFacts.journal.writable = false;
    const response = await get('/health/ready');
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({
      ok: false,
      error: 'not ready: hub not connected, journal not writable',
      notReady: ['hub not connected', 'journal not writable'],
    });
  });

  it('GET /api/status gives the core status and the API facts', async () => {
    const status = await (await get('/api/status')).json();
    expect(status).toMatchObject({ version: 'test', hubConnected: true, api: { port: api.port, clients: [], websockets: 0, eventStreams: 0 } });
    expect(status.webhooks).toBeUndefined();
  });

  it('GET /api/status shows webhook failures when given the webhooks', async () => {
    await api.close();
    const failure = { hook: 0, target: 'https://hooks.slack.com', event: { type: 'hub' as const, connected: false, at: 1 }, attempts: 5, error: 'HTTP 500', at: 2 };
    await start({ webhooks: { failures: () => [failure] } });
    expect((await (await get('/api/status')).json()).webhooks).toEqual({ failures: [failure] });
  });

  it('GET /metrics serves Prometheus text with the counters and gauges', async () => {
    await post('/api/send', { from: 'a', to: 'b', type: 'request', payload: 'x' });
    core.statusFacts.journal.bytes = 4096;
    const response = await get('/metrics');
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await response.text();
    expect(text).toMatch(/switchboard_messages_in_total\{kind="prompt"\} 1/);
    expect(text).toMatch(/switchboard_journal_bytes 4096/);
    expect(text).toMatch(/switchboard_delivery_latency_seconds_count\{hop="api_to_journal"\} 1/);
  });
});

describe('GET /api/messages', () => {
  beforeEach(() => start({ device: 'laptop' }));

  it('gives the inbox in the bridge shape, broadcasts included, payloads restored', async () => {
    const t0 = Date.parse('2026-01-31T12:00:00Z');
    const direct = core.deliver(
      'api:laptop/reviewer',
      envelopeFor({ from: 'api:laptop/ci-bot', to: ['api:laptop/reviewer'], kind: 'prompt', body: { text: 'review' }, ackRequired: true, headers: { 'bridge-type': 'request' } }),
      t0,
    );
    const broadcast = core.deliver(
      'api:laptop/reviewer',
      envelopeFor({ from: 'claude-code:laptop/5f0c', to: ['broadcast'], kind: 'note', body: { text: '{"n":[1,2]}' }, headers: { 'bridge-payload': 'json' } }),
      t0 + 1_000,
    );
    core.deliver('api:laptop/someone-else', envelopeFor({ from: 'api:laptop/a', to: ['api:laptop/someone-else'] }), t0);

    const response = await get('/api/messages?to=reviewer');
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      count: 2,
      messages: [
        { id: direct.envelope.id, from: 'ci-bot', to: 'reviewer', type: 'request', payload: 'review', timestamp: '2026-01-31T12:00:00.000Z', requires_ack: true },
        { id: broadcast.envelope.id, from: 'claude-code:laptop/5f0c', to: 'all', type: 'message', payload: { n: [1, 2] }, timestamp: '2026-01-31T12:00:01.000Z', requires_ack: false },
      ],
    });

    const since = await (await get('/api/messages?to=reviewer&since=2026-01-31T12:00:00.500Z&limit=5')).json();
    expect(since.messages.map((m: { id: string }) => m.id)).toEqual([broadcast.envelope.id]);
    const limited = await (await get('/api/messages?to=reviewer&limit=1')).json();
    expect(limited.count).toBe(1);
  });

  it('answers 400 for a bad query, naming the parameter', async () => {
    const cases: [string, RegExp][] = [
      ['', /to: required/],
      ['?to=a&since=yesterday', /since: expected an ISO 8601 time/],
      ['?to=a&limit=1001', /limit: expected a whole number from 1 to 1000/],
      ['?to=a&limit=-1', /limit: expected a whole number/],
      ['?to=a&page=2', /Unrecognized key: "page"/],
    ];
    for (const [query, error] of cases) {
      const response = await get(`/api/messages${query}`);
      expect(response.status, query).toBe(400);
      expect((await response.json()).error).toMatch(error);
    }
    await expectServing();
  });
});

describe('close', () => {
  it('stops listening and can be called twice', async () => {
    await start();
    await api.close();
    await api.close();
    await expect(fetch(`${base}/health/live`, { headers: auth })).rejects.toThrow();
  });
});

describe('malformed HTTP', () => {
  it('answers garbage on the socket with 400 and keeps serving', async () => {
    await start();
    const { connect } = await import('node:net');
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(api.port, '127.0.0.1', () => socket.write('NOT HTTP AT ALL\r\n\r\n'));
      let text = '';
      socket.on('data', (chunk) => (text += chunk));
      socket.on('close', () => resolve(text));
      socket.on('error', reject);
    });
    expect(answer).toMatch(/^HTTP\/1.1 400/);
    await expectServing();
  });

  it('answers a request target that is not a URL with 400, for HTTP and WebSocket alike, before any token', async () => {
    await start();
    const { connect } = await import('node:net');
    const raw = (text: string) =>
      new Promise<string>((resolve, reject) => {
        const socket = connect(api.port, '127.0.0.1', () => socket.write(text));
        let answer = '';
        socket.on('data', (chunk) => {
          answer += chunk;
          if (answer.includes('\r\n\r\n')) socket.destroy();
        });
        socket.on('close', () => resolve(answer));
        socket.on('error', reject);
      });
    for (const target of ['//', '///', '/\\']) {
      expect(await raw(`GET ${target} HTTP/1.1\r\nHost: x\r\n\r\n`)).toMatch(/^HTTP\/1.1 400/);
      expect(await raw(`GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`)).toMatch(/^HTTP\/1.1 400/);
    }
    await expectServing();
  });
});
