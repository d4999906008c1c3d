import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startApi, type RunningApi } from '../../../native-host/api/server';
import { HostMetrics } from '../../../native-host/metrics';
import type { DirectoryFrame } from '../../../src/protocol/native';
import { MemoryHostCore, envelopeFor } from '../../support/memory-host-core';
import { newMessageId } from '../../../src/protocol/envelope';

const TOKEN = 'test-token-agent';
const SESSION = 'claude-code:local/5f0c-session';
const ASKER = 'claude-ai:local/chat-1';
const UNKNOWN = newMessageId();

let core: MemoryHostCore;
let api: RunningApi;
let base: string;

const auth = { Authorization: `Bearer ${TOKEN}` };
const get = (path: string) => fetch(`${base}${path}`, { headers: auth });
const post = (path: string, body: unknown) =>
  fetch(`${base}${path}`, { method: 'POST', headers: { ...auth, 'Content-Type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });
const json = async (response: Response) => ({ status: response.status, body: response.status === 204 ? undefined : await response.json() });

const directory: DirectoryFrame = {
  type: 'directory',
  at: 1_700_000_100_000,
  agents: [
    { address: SESSION, state: 'rate-limited', title: 'Fix the tests', project: '/work/app', lastSeen: 1_700_000_090_000 },
    { address: ASKER, firstSeen: 1_700_000_000_000 },
  ],
  destinations: [
    {
      address: SESSION,
      breaker: 'closed',
      hold: { strategy: 'session_pause', reason: 'Claude Code hit a rate limit', since: 1_700_000_090_000, until: 1_700_003_600_000, probes: 0 },
      history: [{ at: 1_700_000_090_000, event: 'held', note: 'session_pause: Claude Code hit a rate limit' }],
    },
    { address: 'api:local/ci', breaker: 'open', reopenAt: 1_700_000_130_000, history: [{ at: 1_700_000_100_000, event: 'opened' }] },
    { address: 'api:local/old', breaker: 'closed', history: [{ at: 1_700_000_000_000, event: 'released', note: 'a probe got through' }] },
  ],
};

beforeEach(async () => {
  core = new MemoryHostCore();
  api = await startApi({ core, token: TOKEN, port: 0, metrics: new HostMetrics({ processMetrics: false }) });
  base = `http://127.0.0.1:${api.port}`;
});

afterEach(async () => {
  await api.close();
});

describe('GET /agent/whoami', () => {
  it('finds the session by the nearest process that ran its hooks', async () => {
    core.sessionPids.set(4242, SESSION);
    expect(await json(await get('/agent/whoami?pids=4300,4242,1'))).toEqual({ status: 200, body: { agent: SESSION } });
  });

  it('says why when no session matches, and refuses pids that are not a list of numbers', async () => {
    const none = await json(await get('/agent/whoami?pids=777'));
    expect(none.status).toBe(404);
    expect(none.body.error).toMatch(/no Claude Code session has run a Switchboard hook from process 777.*claude-code install/);
    for (const bad of ['', 'abc', '1,,2', '-5']) {
      const refused = await json(await get(`/agent/whoami?pids=${bad}`));
      expect(refused.status).toBe(400);
      expect(refused.body.error).toMatch(/pids/);
    }
  });
});

describe('GET /agent/directory and /recovery/status', () => {
  it('show nothing known before the hub ever told, and what it told after', async () => {
    expect((await json(await get('/agent/directory'))).body).toEqual({ hubConnected: true, asOf: null, agents: [], destinations: [] });
    core.hubDirectory = directory;
    expect((await json(await get('/agent/directory'))).body).toMatchObject({ asOf: directory.at, agents: directory.agents });
  });

  it('lists every hold and open breaker with its reason and release time, and the rate-limited sessions', async () => {
    core.hubDirectory = directory;
    core.statusFacts.hubConnected = false;
    const { status, body } = await json(await get('/recovery/status'));
    expect(status).toBe(200);
    expect(body).toMatchObject({
      hubConnected: false,
      asOf: directory.at,
      holds: [
        { address: SESSION, strategy: 'session_pause', reason: 'Claude Code hit a rate limit', releaseAt: 1_700_003_600_000, history: [{ event: 'held' }] },
        { address: 'api:local/ci', breaker: 'open', releaseAt: 1_700_000_130_000 },
      ],
      recent: [{ address: 'api:local/old' }],
      rateLimitedSessions: [{ address: SESSION, title: 'Fix the tests', project: '/work/app' }],
    });
  });
});

describe('an agent inbox', () => {
  it('reads without consuming: the same messages twice, unread ones marked so, after a seq', async () => {
    const first = core.deliver(SESSION, envelopeFor({ from: ASKER, to: [SESSION], body: { text: 'What is 6 × 7?' } }));
    const second = core.deliver(SESSION, envelopeFor({ from: ASKER, to: [SESSION], body: { text: 'And 6 × 8?' } }));
    core.deliver('api:local/other', envelopeFor({ from: ASKER, to: ['api:local/other'] }));
    const read = async (query = '') => (await json(await get(`/agent/inbox?agent=${SESSION}${query}`))).body;
    const once = await read();
    expect(once.messages.map((m: { text: string }) => m.text)).toEqual(['What is 6 × 7?', 'And 6 × 8?']);
    expect(await read()).toEqual(once);
    expect(once.messages[0]).toMatchObject({ id: first.envelope.id, from: ASKER, to: SESSION, replyTo: ASKER, read: false, seq: first.seq });
    await core.ack(first.envelope.id, SESSION);
    expect((await read('&unread=true')).messages.map((m: { id: string }) => m.id)).toEqual([second.envelope.id]);
    expect((await read(`&after=${first.seq}`)).messages.map((m: { id: string }) => m.id)).toEqual([second.envelope.id]);
    expect(await read('&limit=1')).toMatchObject({ more: true, messages: [{ id: first.envelope.id }] });
  });

  it('refuses a bad agent address or limit, naming it', async () => {
    for (const [query, field] of [['agent=nobody', 'agent'], [`agent=${SESSION}&limit=0x10`, 'limit'], [`agent=${SESSION}&limit=5000`, 'limit'], [`agent=${SESSION}&extra=1`, 'extra']]) {
      const { status, body } = await json(await get(`/agent/inbox?${query}`));
      expect(status).toBe(400);
      expect(body.error).toContain(field);
    }
  });

  it('waits for the first unread message: at once when one is there, when one comes, or 204 at the timeout', async () => {
    const old = core.deliver(SESSION, envelopeFor({ from: ASKER, to: [SESSION] }));
    await core.ack(old.envelope.id, SESSION); // read already: not what a wait is for
    const waiting = get(`/agent/wait?agent=${SESSION}&timeout=5`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const fresh = core.deliver(SESSION, envelopeFor({ from: ASKER, to: [SESSION], body: { text: 'new' } }));
    expect((await json(await waiting)).body.message).toMatchObject({ id: fresh.envelope.id, text: 'new' });
    expect((await json(await get(`/agent/wait?agent=${SESSION}&timeout=5`))).body.message.id).toBe(fresh.envelope.id);
    const started = Date.now();
    expect((await get(`/agent/wait?agent=${SESSION}&after=${fresh.seq}&timeout=1`)).status).toBe(204);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect((await json(await get(`/agent/wait?agent=${SESSION}&timeout=241`))).body.error).toMatch(/timeout: at most 240 seconds/);
  });

  it('marks what the agent itself reads (seen=true) as read for the core, and only that', async () => {
    const first = core.deliver(SESSION, envelopeFor({ from: ASKER, to: [SESSION] }));
    const second = core.deliver(SESSION, envelopeFor({ from: ASKER, to: [SESSION] }));
    await get(`/agent/inbox?agent=${SESSION}`);
    expect(core.marked).toEqual([]);
    const listed = (await json(await get(`/agent/inbox?agent=${SESSION}&seen=true&limit=1`))).body;
    expect(listed.messages).toMatchObject([{ id: first.envelope.id, read: false }]); // as it was before this read
    expect(core.marked).toEqual([{ agent: SESSION, ids: [first.envelope.id] }]);
    expect((await json(await get(`/agent/wait?agent=${SESSION}&seen=true&timeout=1`))).body.message.id).toBe(second.envelope.id);
    expect(core.marked.at(-1)).toEqual({ agent: SESSION, ids: [second.envelope.id] });
  });

  it('gives one message whole, or 404', async () => {
    const long = 'x'.repeat(50_000);
    const message = core.deliver(SESSION, envelopeFor({ from: ASKER, to: [SESSION], body: { text: long } }));
    expect((await json(await get(`/agent/message?agent=${SESSION}&id=${message.envelope.id}`))).body.message.text).toBe(long);
    expect((await get(`/agent/message?agent=${SESSION}&id=${UNKNOWN}`)).status).toBe(404);
  });
});

describe('sending, acking and replying as an agent', () => {
  it('sends a message in Switchboard form, "ask X, answer to Y" included', async () => {
    const { status, body } = await json(await post('/agent/send', { from: SESSION, to: ['claude-ai:local/chat-2'], replyTo: ASKER, body: 'Summarise the diff', kind: 'prompt' }));
    expect(status).toBe(200);
    expect(core.submitted[0]).toMatchObject({ id: body.message_id, from: SESSION, to: ['claude-ai:local/chat-2'], replyTo: ASKER, kind: 'prompt' });
  });

  it('refuses a bad send, naming the field, and journals nothing', async () => {
    for (const [body, field] of [
      [{ from: SESSION, to: ['nowhere'], body: 'x' }, 'to'],
      [{ to: [ASKER], body: 'x' }, 'from'],
      ['{not json', 'JSON'],
      // only the host's own agents send here: not the person's pages, a tab, or another device
      [{ from: 'extension:local/popup', to: [ASKER], body: 'x' }, 'from: an agent of this host'],
      [{ from: ASKER, to: [SESSION], body: 'x' }, 'from: an agent of this host'],
      [{ from: 'api:laptop/bot', to: [SESSION], body: 'x' }, 'from: an agent of this host'],
    ] as const) {
      const refused = await json(await post('/agent/send', body));
      expect(refused.status).toBe(400);
      expect(refused.body.error).toContain(field);
    }
    expect(core.submitted).toHaveLength(0);
  });

  it('replies to the message\'s replyTo in its thread and acks it; 404 for a message it never had', async () => {
    const asked = core.deliver(SESSION, envelopeFor({ from: ASKER, to: [SESSION], replyTo: 'api:local/collector', threadId: 't-1', body: { text: 'What is 6 × 7?' } }));
    const { status, body } = await json(await post('/agent/reply', { agent: SESSION, message_id: asked.envelope.id, text: '42' }));
    expect(status).toBe(200);
    expect(core.submitted.at(-1)).toMatchObject({ id: body.message_id, from: SESSION, to: ['api:local/collector'], inReplyTo: asked.envelope.id, threadId: 't-1', kind: 'reply', body: { text: '42' } });
    expect(core.acks).toEqual([{ messageId: asked.envelope.id, recipient: SESSION }]);
    const unknown = await json(await post('/agent/reply', { agent: SESSION, message_id: UNKNOWN, text: '42' }));
    expect(unknown).toMatchObject({ status: 404, body: { error: expect.stringContaining(`has no message ${UNKNOWN}`) } });
    expect((await json(await post('/agent/reply', { agent: SESSION, message_id: asked.envelope.id, text: '' }))).body.error).toMatch(/the reply is empty/);
    expect(core.submitted).toHaveLength(1);
  });

  it('acks a message it has; 404 for one it does not', async () => {
    const message = core.deliver(SESSION, envelopeFor({ from: ASKER, to: [SESSION] }));
    expect((await json(await post('/agent/ack', { agent: SESSION, message_id: message.envelope.id }))).body).toEqual({ acked: message.envelope.id });
    expect((await post('/agent/ack', { agent: SESSION, message_id: UNKNOWN })).status).toBe(404);
    expect(core.acks).toHaveLength(1);
  });
});

describe('POST /agent/present', () => {
  it('makes the agent known to the hub; refuses what is not an address', async () => {
    expect((await json(await post('/agent/present', { agent: 'api:local/claude-desktop' }))).body).toEqual({ present: 'api:local/claude-desktop' });
    expect(core.presentAgents).toEqual(['api:local/claude-desktop']);
    expect((await post('/agent/present', { agent: 'desktop' })).status).toBe(400);
  });
});

describe('POST /hooks', () => {
  it('passes the Claude Code pid the hook script reports', async () => {
    await fetch(`${base}/hooks`, {
      method: 'POST',
      headers: { ...auth, 'Content-Type': 'application/json', 'X-Claude-Pid': '31337' },
      body: JSON.stringify({ session_id: 's1', hook_event_name: 'PreToolUse' }),
    });
    expect(core.hooks.at(-1)!.origin).toEqual({ claudePid: 31337, hookPid: undefined });
  });
});
