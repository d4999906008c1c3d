/**
 * The daemon as a whole, in this process: its real journal, socket and API, with the test playing
 * the shim (the browser's side of the socket) and an API client.
 */
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AlreadyRunning, startDaemon, type RunningDaemon } from '../../native-host/daemon';
import { encodeFrame, FrameReader } from '../../native-host/frames';
import { paths } from '../../native-host/config';
import { Reassembler, MAX_NATIVE_MESSAGE_BYTES } from '../../src/protocol/chunking';
import { EXTENSION_ID } from '../../src/extension-identity';
import { SESSION, assistantLine, rateLimitLine } from './claude-code/fixtures/transcript-lines';

const ORIGIN = `chrome-extension://${EXTENSION_ID}/`;

/** A connection to the daemon's socket that collects every frame it is sent. */
class SocketPeer {
  readonly frames: any[] = [];
  closed = false;
  private readonly reader = new FrameReader();
  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk) => this.reader.push(chunk, (value) => this.frames.push(value)));
    socket.on('close', () => (this.closed = true));
  }
  static open(path: string): Promise<SocketPeer> {
    return new Promise((resolve, reject) => {
      const socket = connect(path);
      socket.once('connect', () => resolve(new SocketPeer(socket)));
      socket.once('error', reject);
    });
  }
  send(value: unknown) {
    this.socket.write(encodeFrame(value));
  }
  async next(match: (frame: any) => boolean, timeoutMs = 5_000): Promise<any> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const found = this.frames.find(match);
      if (found) return found;
      if (Date.now() > end) throw new Error(`no such frame; got ${JSON.stringify(this.frames).slice(0, 400)}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

describe('the daemon', () => {
  let home: string;
  let daemon: RunningDaemon;
  let token: string;
  const api = (path: string, init: RequestInit = {}) =>
    fetch(`http://127.0.0.1:${daemon.apiPort}${path}`, { ...init, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...init.headers } });

  beforeEach(async () => {
    home = await mkdtemp(join(tmpdir(), 'sb-daemon-'));
    await writeFile(join(home, 'config.json'), JSON.stringify({ api: { port: 0 } }));
    daemon = await startDaemon({ home, log: () => {} });
    token = (await import('node:fs')).readFileSync(paths(home).token, 'utf8').trim();
  });
  afterEach(async () => {
    await daemon.stop();
    await rm(home, { recursive: true, force: true });
  });

  it('answers a ping on its socket with its status', async () => {
    const peer = await SocketPeer.open(paths(home).socket);
    peer.send({ type: 'ping' });
    expect(await peer.next((f) => f.type === 'pong')).toMatchObject({ type: 'pong', version: expect.any(String), hubConnected: false, apiPort: daemon.apiPort });
  });

  it('refuses a second daemon on the same home', async () => {
    await expect(startDaemon({ home, log: () => {} })).rejects.toThrow(AlreadyRunning);
  });

  it('takes the hook events spooled while it was down, in order, and hands them to the hub', async () => {
    await daemon.stop();
    const { mkdir } = await import('node:fs/promises');
    await mkdir(join(home, 'spool'), { recursive: true });
    const names = ['SessionStart', 'UserPromptSubmit', 'Stop'];
    for (const [i, name] of names.entries()) {
      await writeFile(join(home, 'spool', `${String(1_700_000_000_000_000_000n + BigInt(i))}-42.json`), JSON.stringify({ session_id: 'spooled-1', hook_event_name: name }));
    }
    await writeFile(join(home, 'spool', `${String(1_700_000_000_000_000_009n)}-42.json`), '{"not": "a hook event"}');
    daemon = await startDaemon({ home, log: () => {} });
    const hub = await SocketPeer.open(paths(home).socket);
    hub.send({ type: 'shim', args: [ORIGIN] });
    for (let i = 0; i < 200 && hub.frames.filter((f) => f.type === 'inbound').length < 3; i++) await new Promise((r) => setTimeout(r, 10));
    const hooks = hub.frames.filter((f) => f.type === 'inbound' && f.record.type === 'hook').map((f) => f.record.event.payload.hook_event_name);
    expect(hooks).toEqual(names);
    const { readdir } = await import('node:fs/promises');
    expect((await readdir(join(home, 'spool'))).filter((f) => f.endsWith('.json'))).toEqual([]);
    expect(await readdir(join(home, 'spool', 'bad'))).toHaveLength(1);
  });

  it('reports usage, with Claude Code\'s own rate-limit numbers from the status line', async () => {
    const posted = await api('/hooks/statusline', { method: 'POST', body: JSON.stringify({ session_id: 's', rate_limits: { five_hour: { used_percentage: 61, resets_at: Math.floor(Date.now() / 1000) + 3600 } } }) });
    expect(posted.status).toBe(204);
    const usage = await (await api('/usage')).json();
    expect(usage.limits.fiveHour).toMatchObject({ source: 'statusLine', usedPercentage: 61 });
    expect(usage).toMatchObject({ records: 0, transcripts: 0, alerts: [] });
  });

  it('drops the spooled copy of a hook event it took by POST — also across a restart — and takes a distinct event with the same words', async () => {
    const payload = { session_id: 'dup-1', hook_event_name: 'UserPromptSubmit', prompt: 'the same words' };
    // The hook's POST reached the daemon, but curl gave up on the answer: the hook spooled it too.
    const posted = await api('/hooks', { method: 'POST', headers: { 'x-switchboard-hook-pid': '4242' }, body: JSON.stringify(payload) });
    expect(posted.status).toBe(200);
    await daemon.stop();
    await mkdir(join(home, 'spool'), { recursive: true });
    const spooledAt = BigInt(Date.now() + 2_000) * 1_000_000n;
    await writeFile(join(home, 'spool', `${spooledAt}-4242.json`), JSON.stringify(payload));
    // Another hook process sending the same words is another event.
    await writeFile(join(home, 'spool', `${spooledAt + 1n}-4243.json`), JSON.stringify(payload));
    daemon = await startDaemon({ home, log: () => {} });
    const hub = await SocketPeer.open(paths(home).socket);
    hub.send({ type: 'shim', args: [ORIGIN] });
    const hooks = () => hub.frames.filter((f) => f.type === 'inbound' && f.record.type === 'hook');
    for (let i = 0; i < 300 && (hooks().length < 2 || (await readdir(join(home, 'spool'))).some((f) => f.endsWith('.json'))); i++) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 100));
    expect(hooks().map((f) => f.record.event.payload)).toEqual([payload, payload]);
    expect((await readdir(join(home, 'spool'))).filter((f) => f.endsWith('.json'))).toEqual([]);
  });

  it('takes over the socket a crashed daemon left behind', async () => {
    await daemon.stop();
    const { createServer } = await import('node:net');
    // a socket file with nobody behind it, as after a SIGKILL
    const stale = createServer();
    await new Promise<void>((r) => stale.listen(paths(home).socket, r));
    (stale as unknown as { _handle: { close(): void } })._handle.close();
    daemon = await startDaemon({ home, log: () => {} });
    const peer = await SocketPeer.open(paths(home).socket);
    peer.send({ type: 'ping' });
    await peer.next((f) => f.type === 'pong');
  });

  it('turns away a shim that another extension started, and keeps serving', async () => {
    const peer = await SocketPeer.open(paths(home).socket);
    peer.send({ type: 'shim', args: ['chrome-extension://abcdefghijklmnopabcdefghijklmnop/'] });
    expect(await peer.next((f) => f.type === 'error')).toEqual({ type: 'error', error: 'the calling extension is not allowed (chrome-extension://abcdefghijklmnopabcdefghijklmnop/)' });
    const firefox = await SocketPeer.open(paths(home).socket);
    firefox.send({ type: 'shim', args: ['/path/to/manifest.json', 'someone-else@example.com'] });
    expect(await firefox.next((f) => f.type === 'error')).toMatchObject({ error: expect.stringContaining('not allowed') });
    const good = await SocketPeer.open(paths(home).socket);
    good.send({ type: 'shim', args: [ORIGIN] });
    expect(await good.next((f) => f.type === 'hello')).toMatchObject({ device: 'local' });
  });

  it('says what was wrong with a frame of a wrong length, closes that connection only', async () => {
    const peer = await SocketPeer.open(paths(home).socket);
    const garbage = Buffer.alloc(8);
    garbage.writeUInt32LE(0xfffffff0, 0);
    peer.socket.write(garbage);
    expect((await peer.next((f) => f.type === 'error')).error).toMatch(/^frame of 4294967280 bytes is over the limit of/);
    const other = await SocketPeer.open(paths(home).socket);
    other.send({ type: 'ping' });
    await other.next((f) => f.type === 'pong');
    expect((await api('/health/live')).status).toBe(200);
  });

  it('journals what the API accepts and hands it to the hub when one connects; drops it once committed', async () => {
    const posted = await api('/api/send', { method: 'POST', body: JSON.stringify({ from: 'bot-a', to: 'bot-b', type: 'request', payload: 'hello' }) });
    expect(posted.status).toBe(200);
    const { message_id } = await posted.json();
    expect(daemon.host.status().journal.records).toBe(1);

    const hub = await SocketPeer.open(paths(home).socket);
    hub.send({ type: 'shim', args: [ORIGIN] });
    const inbound = await hub.next((f) => f.type === 'inbound');
    expect(inbound.record).toMatchObject({ type: 'message', message: { id: message_id, from: 'api:local/bot-a', to: ['api:local/bot-b'], kind: 'prompt', headers: { 'bridge-type': 'request' } } });
    hub.send({ type: 'committed', results: [{ seq: inbound.seq }] });
    for (let i = 0; i < 100 && daemon.host.status().journal.records > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(daemon.host.status().journal.records).toBe(0);
  });

  it('splits a frame over the browser limit into chunks that reassemble', async () => {
    const hub = await SocketPeer.open(paths(home).socket);
    hub.send({ type: 'shim', args: [ORIGIN] });
    await hub.next((f) => f.type === 'hello');
    const big = 'x'.repeat(3 * 1024 * 1024);
    const posted = await api('/api/send', { method: 'POST', body: JSON.stringify({ from: 'bot-a', to: 'bot-b', type: 'message', payload: big }) });
    expect(posted.status).toBe(200);
    const chunks = await (async () => {
      for (let i = 0; i < 500; i++) {
        const pieces = hub.frames.filter((f) => f.type === 'chunk');
        if (pieces.length && pieces.length === pieces[0].count) return pieces;
        await new Promise((r) => setTimeout(r, 10));
      }
      throw new Error('the chunks did not all arrive');
    })();
    for (const chunk of chunks) expect(Buffer.byteLength(JSON.stringify(chunk))).toBeLessThan(MAX_NATIVE_MESSAGE_BYTES);
    const reassembler = new Reassembler();
    const whole = chunks.map((c) => reassembler.push(c)).find((v) => v !== undefined) as any;
    expect(whole.type).toBe('inbound');
    const attachment = whole.record.message.body.attachments?.[0];
    const carried = attachment ? Buffer.from(attachment.data, 'base64').toString('utf8') : whole.record.message.body.text;
    expect(carried).toBe(big);
  });
});

describe('the daemon watching Claude Code usage', () => {
  let home: string;
  let daemon: RunningDaemon;
  let token: string;
  let receiver: Server;
  let notified: any[];
  const api = (path: string, init: RequestInit = {}) =>
    fetch(`http://127.0.0.1:${daemon.apiPort}${path}`, { ...init, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...init.headers } });
  const waitFor = async <T>(find: () => T | undefined, what: string): Promise<T> => {
    for (let i = 0; i < 500; i++) {
      const found = find();
      if (found !== undefined) return found;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`no ${what}`);
  };

  beforeEach(async () => {
    home = await mkdtemp(join(tmpdir(), 'sb-daemon-usage-'));
    notified = [];
    // A real webhook receiver on 127.0.0.1, as the person's Slack or CI would be.
    receiver = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk) => (body += chunk));
      request.on('end', () => {
        notified.push(JSON.parse(body));
        response.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const webhook = { url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/usage`, format: 'json', events: ['alert'] };
    await writeFile(join(home, 'config.json'), JSON.stringify({ api: { port: 0 }, webhooks: [webhook], claudeCode: { alerts: { costPerBlockUsd: 0.000_001, sessionHours: null } } }));
    daemon = await startDaemon({ home, log: () => {} });
    token = (await import('node:fs')).readFileSync(paths(home).token, 'utf8').trim();
  });
  afterEach(async () => {
    await daemon.stop();
    await new Promise((resolve) => receiver.close(resolve));
    await rm(home, { recursive: true, force: true });
  });

  it('sends a usage alert to the webhooks, and shows it in GET /usage with the thresholds in effect', async () => {
    const transcript = join(home, 'session.jsonl');
    await writeFile(transcript, assistantLine({ id: 'msg_costly', at: Date.now() - 60_000, output: 20_000 }) + '\n');
    expect((await api('/hooks', { method: 'POST', body: JSON.stringify({ session_id: 's-cost', hook_event_name: 'Stop', transcript_path: transcript }) })).status).toBe(200);
    const alert = await waitFor(() => notified.find((n) => n.type === 'alert'), 'alert at the webhook');
    expect(alert).toMatchObject({ type: 'alert', severity: 'warning', text: expect.stringMatching(/^This 5-hour block has cost \$0\.\d\d so far, past the \$0\.000001 alert\.$/) });
    const usage = await (await api('/usage')).json();
    expect(usage.thresholds).toEqual({ tokenPercent: 80, sessionHours: null, costPerBlockUsd: 0.000_001, rateLimitPercent: 90 });
    expect(usage.history).toEqual([expect.objectContaining({ kind: 'cost', severity: 'warning', text: alert.text })]);
    expect(usage.prices).toEqual({ file: null, models: expect.any(Number) });
  });

  it('holds a session whose transcript shows a rate limit though its StopFailure never came, and says so', async () => {
    const transcript = join(home, `${SESSION}.jsonl`);
    await writeFile(transcript, rateLimitLine(Date.now() - 30_000, 'uuid-429-daemon') + '\n');
    await api('/hooks', { method: 'POST', body: JSON.stringify({ session_id: SESSION, hook_event_name: 'SessionEnd', transcript_path: transcript }) });
    const hub = await SocketPeer.open(paths(home).socket);
    hub.send({ type: 'shim', args: [ORIGIN] });
    const hold = await waitFor(() => hub.frames.find((f) => f.type === 'inbound' && f.record.type === 'hold'), 'hold record');
    expect(hold.record.hold).toEqual({
      address: `claude-code:local/${SESSION}`,
      strategy: 'exponential_backoff',
      reason: expect.stringMatching(/^Claude Code hit a rate limit: API Error: Request rejected \(429\).*; no reset time known, probing$/),
    });
    const alert = await waitFor(() => notified.find((n) => n.type === 'alert' && n.severity === 'critical'), 'rate-limit alert');
    expect(alert.text).toContain(`Claude Code session ${SESSION} hit a rate limit`);

    // The status line shows the full window: the session is paused until it resets.
    const resetsAt = Math.floor(Date.now() / 1000) + 3_600;
    await api('/hooks/statusline', { method: 'POST', body: JSON.stringify({ session_id: SESSION, rate_limits: { five_hour: { used_percentage: 100, resets_at: resetsAt } } }) });
    const pause = await waitFor(() => hub.frames.find((f) => f.type === 'inbound' && f.record.type === 'hold' && f.record.hold.strategy === 'session_pause'), 'pause');
    expect(pause.record.hold).toMatchObject({ address: `claude-code:local/${SESSION}`, until: resetsAt * 1000 });
    const usage = await (await api('/usage')).json();
    expect(usage.rateLimited).toEqual([expect.objectContaining({ sessionId: SESSION, resetsAt: resetsAt * 1000, held: { strategy: 'session_pause', until: resetsAt * 1000, by: 'host' } })]);
    expect(usage.history.map((a: { kind: string }) => a.kind)).toContain('rate-limited');
  });
});
