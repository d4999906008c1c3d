import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { startApi, type ApiOptions, type RunningApi } from '../../../native-host/api/server';
import { HostMetrics } from '../../../native-host/metrics';
import { MemoryHostCore, envelopeFor } from '../../support/memory-host-core';

const TOKEN = 'socket-token';

let core: MemoryHostCore;
let api: RunningApi;
const open: WebSocket[] = [];

async function start(options: Partial<ApiOptions> = {}) {
  api = await startApi({ core, token: TOKEN, port: 0, device: 'laptop', metrics: new HostMetrics({ processMetrics: false }), ...options });
}

/** A connected client that records every JSON frame it gets. */
async function connect(path: string, headers: Record<string, string> = { Authorization: `Bearer ${TOKEN}` }, autoPong = true) {
  const ws = new WebSocket(`ws://127.0.0.1:${api.port}${path}`, { headers, autoPong });
  open.push(ws);
  const frames: any[] = [];
  const waiters: { test: (frame: any) => boolean; resolve: (frame: any) => void }[] = [];
  ws.on('message', (data) => {
    const frame = JSON.parse(String(data));
    frames.push(frame);
    for (const waiter of [...waiters]) {
      if (waiter.test(frame)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(frame);
      }
    }
  });
  const next = (test: (frame: any) => boolean) =>
    new Promise<any>((resolve) => {
      const seen = frames.find(test);
      if (seen) {
        frames.splice(frames.indexOf(seen), 1);
        return resolve(seen);
      }
      waiters.push({ test, resolve: (frame) => (frames.splice(frames.indexOf(frame), 1), resolve(frame)) });
    });
  const ofType = (type: string) => next((frame) => frame.type === type);
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const confirmed = await ofType('connection_confirmed');
  return { ws, frames, ofType, confirmed, send: (frame: unknown) => ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame)) };
}

/** The HTTP answer to an upgrade the server refuses. */
function refused(path: string, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; body: any }>((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${api.port}${path}`, { headers });
    ws.on('unexpected-response', (_request, response) => {
      let body = '';
      response.on('data', (chunk) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: JSON.parse(body) }));
    });
    ws.on('open', () => reject(new Error('the upgrade was accepted')));
    ws.on('error', () => {});
  });
}

beforeEach(() => {
  core = new MemoryHostCore();
});

afterEach(async () => {
  for (const ws of open.splice(0)) ws.terminate();
  await api?.close();
});

describe('WS /ws/<client_id>', () => {
  it('confirms the connection, marks the client present, and pushes its messages in the bridge shape', async () => {
    await start();
    const client = await connect('/ws/reviewer');
    expect(client.confirmed).toEqual({ type: 'connection_confirmed', client_id: 'reviewer', timestamp: expect.any(String) });
    expect(core.presentAgents).toEqual(['api:laptop/reviewer']);

    const delivered = core.deliver(
      'api:laptop/reviewer',
      envelopeFor({ from: 'api:laptop/ci-bot', to: ['api:laptop/reviewer'], kind: 'prompt', body: { text: '{"pr":12}' }, ackRequired: true, headers: { 'bridge-type': 'request', 'bridge-payload': 'json' } }),
    );
    expect(await client.ofType('message')).toEqual({
      type: 'message',
      message: { id: delivered.envelope.id, from: 'ci-bot', to: 'reviewer', type: 'request', payload: { pr: 12 }, timestamp: expect.any(String), requires_ack: true },
    });
    const status = await (await fetch(`http://127.0.0.1:${api.port}/api/status?token=${TOKEN}`)).json();
    expect(status.api).toMatchObject({ clients: ['reviewer'], websockets: 1 });
  });

  it('takes the token from ?token= and refuses a missing or wrong one with the JSON error', async () => {
    await start();
    await connect(`/ws/a?token=${TOKEN}`, {});
    expect(await refused('/ws/a')).toEqual({ status: 401, body: { error: 'missing token' } });
    expect(await refused('/ws/a?token=nope')).toEqual({ status: 401, body: { error: 'wrong token' } });
    expect(await refused(`/ws/a/b?token=${TOKEN}`)).toMatchObject({ status: 404 });
    expect((await refused(`/ws/bad%20id?token=${TOKEN}`)).body.error).toMatch(/client id: expected a client id/);
    expect((await refused(`/ws/a?since=nope&token=${TOKEN}`)).body.error).toMatch(/since: expected an ISO 8601 time/);
    expect(core.presentAgents).toEqual(['api:laptop/a']);
  });

  it('sends for the client, acks, answers ping, and keeps the socket open after bad frames', async () => {
    await start();
    const client = await connect('/ws/ci-bot');
    client.send({ type: 'send', to: 'all', msg_type: 'status', payload: { build: 'green' }, require_ack: false });
    const sent = await client.ofType('sent');
    expect(core.submitted).toEqual([
      expect.objectContaining({ id: sent.message_id, from: 'api:laptop/ci-bot', to: ['broadcast'], kind: 'status', headers: { 'bridge-type': 'status', 'bridge-payload': 'json' } }),
    ]);

    const bad: [unknown, RegExp][] = [
      ['not json', /not valid JSON/],
      [{ type: 'dance' }, /expected type "send", "ack", "ping" or "pong"/],
      [{ type: 'send', to: 'b' }, /payload: required/],
      [{ type: 'send', to: 'b', payload: 'x', from: 'someone-else' }, /Unrecognized key: "from"/],
      [{ type: 'ack', message_id: 'nope' }, /message_id: expected a message id/],
    ];
    for (const [frame, error] of bad) {
      client.send(frame);
      expect((await client.ofType('error')).error).toMatch(error);
    }
    expect(client.ws.readyState).toBe(WebSocket.OPEN);

    client.send({ type: 'ack', message_id: sent.message_id });
    expect(await client.ofType('acked')).toEqual({ type: 'acked', message_id: sent.message_id });
    expect(core.acks).toEqual([{ messageId: sent.message_id, recipient: 'api:laptop/ci-bot' }]);
    client.send({ type: 'ping', timestamp: 1 });
    expect(await client.ofType('pong')).toMatchObject({ type: 'pong' });
  });

  it('answers sends in the order they came', async () => {
    await start();
    const client = await connect('/ws/ci-bot');
    for (let i = 0; i < 20; i++) client.send({ type: 'send', to: 'b', payload: `n${i}` });
    const answers = [];
    for (let i = 0; i < 20; i++) answers.push((await client.ofType('sent')).message_id);
    expect(answers).toEqual(core.submitted.map((m) => m.id));
    expect(core.submitted.map((m) => m.body.text)).toEqual(Array.from({ length: 20 }, (_, i) => `n${i}`));
  });

  it('pushes the messages since ?since= first, then live ones, each once', async () => {
    await start();
    const t0 = Date.parse('2026-01-31T12:00:00Z');
    const old = core.deliver('api:laptop/r', envelopeFor({ from: 'api:laptop/a', to: ['api:laptop/r'], body: { text: 'old' } }), t0);
    const missed = core.deliver('api:laptop/r', envelopeFor({ from: 'api:laptop/a', to: ['api:laptop/r'], body: { text: 'missed' } }), t0 + 5_000);
    const client = await connect('/ws/r?since=2026-01-31T12:00:01Z');
    expect((await client.ofType('message')).message.id).toBe(missed.envelope.id);
    const live = core.deliver('api:laptop/r', envelopeFor({ from: 'api:laptop/a', to: ['api:laptop/r'], body: { text: 'live' } }));
    expect((await client.ofType('message')).message.id).toBe(live.envelope.id);
    expect(client.frames.filter((f) => f.type === 'message' && f.message.id === old.envelope.id)).toEqual([]);
  });

  it('rate-limits sends with an error frame naming the wait', async () => {
    await start({ rateLimit: { perSecond: 0.001, burst: 2 } });
    const client = await connect('/ws/busy'); // the connection takes one token
    client.send({ type: 'send', to: 'b', payload: 'one' });
    await client.ofType('sent');
    client.send({ type: 'send', to: 'b', payload: 'two' });
    expect(await client.ofType('error')).toMatchObject({ error: expect.stringMatching(/rate limit exceeded for client busy/), retry_after: expect.any(Number) });
    expect(core.submitted).toHaveLength(1);
  });

  it('pings with a frame and JSON, and drops a client that stops answering', async () => {
    await start({ pingIntervalMs: 50 });
    const answering = await connect('/ws/lively');
    // A client that does not answer ping frames (and sends nothing) is found silent and dropped.
    const silent = await connect('/ws/quiet', { Authorization: `Bearer ${TOKEN}` }, false);
    expect(await silent.ofType('ping')).toMatchObject({ type: 'ping' });
    const closed = await new Promise<number>((resolve) => silent.ws.once('close', resolve));
    expect(closed).toBe(1006);
    await expect.poll(() => core.subscriberCount('api:laptop/quiet')).toBe(0);
    expect(answering.ws.readyState).toBe(WebSocket.OPEN);
  });

  it('stops pushing after the client goes, and closes clients on shutdown', async () => {
    await start();
    const first = await connect('/ws/r');
    first.ws.close();
    await new Promise((resolve) => first.ws.once('close', resolve));
    await expect.poll(() => core.subscriberCount('api:laptop/r')).toBe(0);
    const second = await connect('/ws/r');
    const closed = new Promise<number>((resolve) => second.ws.once('close', resolve));
    await api.close();
    expect(await closed).toBe(1001);
  });
});
