import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Host, HUB_WINDOW, HUB_WINDOW_BYTES, type HubConnection } from '../../native-host/host';
import { HostBusyError } from '../../native-host/ports';
import { Journal } from '../../native-host/journal';
import { Inbox } from '../../native-host/inbox';
import type { HostFrame, InboundRecord } from '../../src/protocol/native';
import { newMessageId } from '../../src/protocol/envelope';
import { envelopeFor } from '../support/envelopes';
import type { HostEvent } from '../../native-host/ports';
import { HookCopies } from '../../native-host/claude-code/hook-copies';

class RecordingHub implements HubConnection {
  readonly frames: HostFrame[] = [];
  closedWith: string | undefined;
  send(frame: HostFrame) {
    this.frames.push(frame);
    return Buffer.byteLength(JSON.stringify(frame));
  }
  close(reason: string) {
    this.closedWith = reason;
  }
  inbound() {
    return this.frames.filter((f) => f.type === 'inbound') as Extract<HostFrame, { type: 'inbound' }>[];
  }
}

const envelopeTo = (recipient: string) =>
  envelopeFor({ from: 'claude-code:local/s1', to: [recipient], kind: 'reply', createdAt: 1_000, ackRequired: true });

describe('the host core', () => {
  let dir: string;
  let journal: Journal<InboundRecord>;
  let inbox: Inbox;
  let host: Host;
  let now: number;

  const open = async () => {
    journal = await Journal.open<InboundRecord>({ dir, name: 'inbound' });
    inbox = await Inbox.open({ dir });
    host = new Host({ journal, inbox, version: '0.1.0', device: 'local', now: () => now });
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'switchboard-host-'));
    now = 5_000;
    await open();
  });
  afterEach(async () => {
    await journal.close();
    await inbox.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('journals a message before answering, and keeps it until the hub has committed it', async () => {
    const { messageId } = await host.submit({ from: 'api:local/a', to: 'api:local/b', body: 'one' });
    expect(journal.entries()).toEqual([{ seq: expect.any(Number), record: { type: 'message', message: expect.objectContaining({ id: messageId, createdAt: 5_000, to: ['api:local/b'] }) } }]);

    const hub = new RecordingHub();
    host.attachHub(hub);
    expect(hub.frames[0]).toEqual({ type: 'hello', version: '0.1.0', device: 'local' });
    const [sent] = hub.inbound();
    expect(sent.record).toMatchObject({ type: 'message', message: { id: messageId } });
    expect(host.status()).toMatchObject({ hubConnected: true, journal: { records: 1, writable: true } });

    await host.receive(hub, { type: 'committed', results: [{ seq: sent.seq }] });
    expect(journal.entries()).toEqual([]);
  });

  it("answers the hub's settings frames: read, change, and a refused change with the reason", async () => {
    let stored = { thresholds: { tokenPercent: 80 }, webhooks: [] as unknown[] };
    await journal.close();
    await inbox.close();
    journal = await Journal.open<InboundRecord>({ dir, name: 'inbound' });
    inbox = await Inbox.open({ dir });
    host = new Host({
      journal,
      inbox,
      version: '0.1.0',
      device: 'local',
      now: () => now,
      settings: {
        read: () => stored as never,
        change: async (change) => {
          if ((change as { thresholds?: { tokenPercent: number } }).thresholds?.tokenPercent === 170) throw new Error('invalid settings: thresholds.tokenPercent: at most 100');
          stored = { ...stored, ...(change as object) };
          return stored as never;
        },
      },
    });
    const hub = new RecordingHub();
    host.attachHub(hub);
    await host.receive(hub, { type: 'settings', id: 's1' });
    await host.receive(hub, { type: 'settings', id: 's2', change: { thresholds: { tokenPercent: 60 } } });
    await host.receive(hub, { type: 'settings', id: 's3', change: { thresholds: { tokenPercent: 170 } } });
    expect(hub.frames.filter((f) => f.type === 'settings' || f.type === 'refused')).toEqual([
      { type: 'settings', id: 's1', settings: { thresholds: { tokenPercent: 80 }, webhooks: [] } },
      { type: 'settings', id: 's2', settings: { thresholds: { tokenPercent: 60 }, webhooks: [] } },
      { type: 'refused', id: 's3', reason: 'invalid settings: thresholds.tokenPercent: at most 100' },
    ]);
  });

  it('refuses settings when it keeps none', async () => {
    const hub = new RecordingHub();
    host.attachHub(hub);
    await host.receive(hub, { type: 'settings', id: 's1' });
    expect(hub.frames.at(-1)).toEqual({ type: 'refused', id: 's1', reason: 'this host keeps no settings' });
  });

  it('hands the hub its usage report when it changed, and the latest to each hub that connects', async () => {
    const hub = new RecordingHub();
    host.attachHub(hub);
    host.publishUsage({ snapshot: { tokens: 10 } });
    host.publishUsage({ snapshot: { tokens: 10 } }); // unchanged: not sent again
    host.publishUsage({ snapshot: { tokens: 12 } });
    expect(hub.frames.filter((f) => f.type === 'usage')).toEqual([
      { type: 'usage', at: 5_000, report: { snapshot: { tokens: 10 } } },
      { type: 'usage', at: 5_000, report: { snapshot: { tokens: 12 } } },
    ]);
    const next = new RecordingHub();
    host.attachHub(next);
    expect(next.frames.slice(0, 2)).toEqual([
      { type: 'hello', version: '0.1.0', device: 'local' },
      { type: 'usage', at: 5_000, report: { snapshot: { tokens: 12 } } },
    ]);
  });

  it('survives a restart: what was not committed is sent again, in order, with the same ids', async () => {
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push((await host.submit({ from: 'api:local/a', to: 'api:local/b', body: `m${i}` })).messageId);
    await journal.close();
    await inbox.close();
    await open();
    const hub = new RecordingHub();
    host.attachHub(hub);
    expect(hub.inbound().map((f) => (f.record as { message: { id: string } }).message.id)).toEqual(ids);
  });

  it('journals a hook event whole, with an id and when it happened, for the hub', async () => {
    const payload = { session_id: 'abc-1', hook_event_name: 'PreToolUse', cwd: '/p', tool_name: 'Bash', tool_input: { command: 'ls' } };
    expect(await host.hook(payload, 4_000)).toEqual({});
    expect(journal.entries()).toEqual([{ seq: expect.any(Number), record: { type: 'hook', event: { id: expect.any(String), receivedAt: 4_000, payload } } }]);
    await expect(host.hook({ session_id: 'abc-1' })).rejects.toThrow(/^invalid hook event: hook_event_name: /);
    expect(journal.entries()).toHaveLength(1);
  });

  it('journals a hold of an agent for the hub, and refuses one the bus could not apply, naming the field, journaling nothing', async () => {
    const hold = { address: 'claude-code:local/s-1', strategy: 'session_pause', reason: 'Claude Code hit a rate limit', until: 9_000_000 };
    expect(await host.holdAgent(hold)).toEqual(hold);
    expect(journal.entries()).toEqual([{ seq: expect.any(Number), record: { type: 'hold', hold } }]);
    const hub = new RecordingHub();
    host.attachHub(hub);
    expect(hub.inbound().map((f) => f.record)).toEqual([{ type: 'hold', hold }]);

    await expect(host.holdAgent({ ...hold, until: undefined })).rejects.toThrow('invalid hold: until: session_pause needs until: the time to resume');
    await expect(host.holdAgent({ ...hold, address: 'claude-code:local/' })).rejects.toThrow(/^invalid hold: address: /);
    await expect(host.holdAgent({ ...hold, strategy: 'wait' })).rejects.toThrow(/^invalid hold: strategy: /);
    await expect(host.holdAgent({ ...hold, reason: '' })).rejects.toThrow(/^invalid hold: reason: /);
    await expect(host.holdAgent('hold it')).rejects.toThrow(/^invalid hold: /);
    expect(journal.entries()).toHaveLength(1);
  });

  it('takes a hook event posted and then spooled (its answer came too late) once, and every distinct event', async () => {
    await journal.close();
    await inbox.close();
    journal = await Journal.open<InboundRecord>({ dir, name: 'inbound' });
    inbox = await Inbox.open({ dir });
    const seen: string[] = [];
    host = new Host({ journal, inbox, version: '0.1.0', device: 'local', now: () => now, hookCopies: new HookCopies(() => now), onHook: (p) => void seen.push(p.hook_event_name) });
    const prompt = { session_id: 's-1', hook_event_name: 'UserPromptSubmit', prompt: 'again' };
    await host.hook(prompt, 5_000, { hookPid: 4242 }); // the POST: journaled, but curl gave up before the answer
    expect(await host.hook(prompt, 7_000, { hookPid: 4242 })).toEqual({}); // the spooled copy, 2 s later: dropped
    expect(journal.entries()).toHaveLength(1);
    // The same words again are another event: another hook process, or a pid without the same payload.
    await host.hook(prompt, 8_000, { hookPid: 4243 });
    await host.hook({ ...prompt, prompt: 'once more' }, 8_500, { hookPid: 4242 });
    await host.hook(prompt, 9_000); // a hook script without the header
    await host.hook(prompt, 9_500); // and its spool file, named otherwise: both taken
    // A pair is done once matched: a third copy with that pid is taken (a reused pid, much later).
    await host.hook(prompt, 10_000, { hookPid: 4242 });
    expect(journal.entries().map((e) => e.record.type === 'hook' && e.record.event.receivedAt)).toEqual([5_000, 8_000, 8_500, 9_000, 9_500, 10_000]);
    expect(seen).toHaveLength(6);
  });

  it('accepts a resent id once', async () => {
    const id = newMessageId();
    const [a, b] = await Promise.all([
      host.submit({ id, from: 'api:local/a', to: 'api:local/b', body: 'x' }),
      host.submit({ id, from: 'api:local/a', to: 'api:local/b', body: 'x' }),
    ]);
    expect(a).toEqual({ messageId: id });
    expect(b).toEqual({ messageId: id });
    expect(journal.entries()).toHaveLength(1);
  });

  it('refuses a bad message with the field that was wrong, and journals nothing', async () => {
    await expect(host.submit({ from: 'api:local/a', to: 'nobody', body: 'x' })).rejects.toThrow(/^invalid message: to\[0\]: expected an address/);
    await expect(host.ack('not-an-id', 'api:local/a')).rejects.toThrow('invalid message id');
    expect(journal.entries()).toEqual([]);
  });

  it('sends the hub at most a window of uncommitted records, and the rest as it commits', async () => {
    await Promise.all(Array.from({ length: HUB_WINDOW + 10 }, (_, i) => host.submit({ from: 'api:local/a', to: 'api:local/b', body: `m${i}` })));
    const hub = new RecordingHub();
    host.attachHub(hub);
    expect(hub.inbound()).toHaveLength(HUB_WINDOW);
    await host.receive(hub, { type: 'committed', results: hub.inbound().slice(0, 5).map((f) => ({ seq: f.seq })) });
    expect(hub.inbound()).toHaveLength(HUB_WINDOW + 5);
    const seqs = hub.inbound().map((f) => f.seq);
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
  });

  it('keeps the uncommitted bytes within a window too, but always sends one record', async () => {
    const big = 'x'.repeat(150_000);
    for (let i = 0; i < 300; i++) await host.submit({ from: 'api:local/a', to: 'api:local/b', body: big });
    const hub = new RecordingHub();
    host.attachHub(hub);
    const sent = hub.inbound().length;
    expect(sent).toBeLessThan(HUB_WINDOW);
    expect(sent * 150_000).toBeGreaterThanOrEqual(HUB_WINDOW_BYTES);
    expect((sent - 1) * 150_000).toBeLessThan(HUB_WINDOW_BYTES);
    await host.receive(hub, { type: 'committed', results: hub.inbound().map((f) => ({ seq: f.seq })) });
    expect(hub.inbound().length).toBe(2 * sent);
  });

  it('refuses new records with a clear "busy" while its journal is full, and accepts again once the hub takes them', async () => {
    await journal.close();
    await inbox.close();
    journal = await Journal.open<InboundRecord>({ dir, name: 'inbound' });
    inbox = await Inbox.open({ dir });
    host = new Host({ journal, inbox, version: '0.1.0', device: 'local', maxJournalBytes: 2_000, now: () => now });
    while (journal.size.liveBytes < 2_000) await host.submit({ from: 'api:local/a', to: 'api:local/b', body: 'fill' });
    const error = await host.submit({ from: 'api:local/a', to: 'api:local/b', body: 'one too many' }).catch((e) => e);
    expect(error).toBeInstanceOf(HostBusyError);
    expect(error.message).toMatch(/^the host's journal is full \(\d+ bytes wait for the hub, which is not connected: start the browser\); try again later$/);
    expect(error.retryAfterSeconds).toBe(60);
    const hub = new RecordingHub();
    host.attachHub(hub);
    await host.receive(hub, { type: 'committed', results: hub.inbound().map((f) => ({ seq: f.seq })) });
    await host.submit({ from: 'api:local/a', to: 'api:local/b', body: 'room again' });
  });

  it('keeps what the hub hands over in the inbox before saying it is accepted, once per message', async () => {
    const hub = new RecordingHub();
    host.attachHub(hub);
    const events: HostEvent[] = [];
    host.onEvent((e) => events.push(e));
    const pushed: string[] = [];
    host.subscribe('api:local/bot', (m) => pushed.push(m.envelope.id));
    const envelope = envelopeTo('api:local/bot');
    await host.receive(hub, { type: 'deliver', id: 'd1', recipient: 'api:local/bot', envelope });
    await host.receive(hub, { type: 'deliver', id: 'd2', recipient: 'api:local/bot', envelope });
    expect(hub.frames.filter((f) => f.type === 'accepted')).toEqual([{ type: 'accepted', id: 'd1' }, { type: 'accepted', id: 'd2' }]);
    expect(host.messagesFor('api:local/bot', 0, 10).map((m) => m.envelope.id)).toEqual([envelope.id]);
    expect(pushed).toEqual([envelope.id]);
    expect(events.filter((e) => e.type === 'message-out')).toHaveLength(1);
  });

  it('journals an ack for the hub and marks the inbox', async () => {
    const hub = new RecordingHub();
    host.attachHub(hub);
    const envelope = envelopeTo('api:local/bot');
    await host.receive(hub, { type: 'deliver', id: 'd1', recipient: 'api:local/bot', envelope });
    await host.ack(envelope.id, 'api:local/bot');
    expect(hub.inbound().at(-1)!.record).toEqual({ type: 'ack', messageId: envelope.id, recipient: 'api:local/bot' });
    expect(host.messagesFor('api:local/bot', 0, 10)[0].ackedAt).toBe(5_000);
  });

  it('ignores a malformed hub frame and keeps serving', async () => {
    const hub = new RecordingHub();
    host.attachHub(hub);
    await host.receive(hub, { type: 'deliver', id: 'd1', recipient: 'nobody', envelope: {} });
    await host.receive(hub, 'garbage');
    expect(hub.frames.filter((f) => f.type !== 'hello')).toEqual([]);
    await host.submit({ from: 'api:local/a', to: 'api:local/b', body: 'still here' });
    expect(hub.inbound()).toHaveLength(1);
  });

  it('lets a newer hub replace the old one', async () => {
    const first = new RecordingHub();
    const second = new RecordingHub();
    host.attachHub(first);
    host.attachHub(second);
    expect(first.closedWith).toBe('another browser connected to the host');
    host.detachHub(first); // the old socket closing afterwards changes nothing
    expect(host.status().hubConnected).toBe(true);
    host.detachHub(second);
    expect(host.status().hubConnected).toBe(false);
  });

  describe('mail for a Claude Code session', () => {
    const SESSION = 'claude-code:local/sess-9';
    const mail = (text: string) => envelopeFor({ from: 'extension:local/popup', to: [SESSION], body: { text }, replyTo: 'api:local/asker' });
    const recordsOf = (type: string) => journal.entries().filter((e) => e.record.type === type).map((e) => e.record as any);

    it('holds mail until a hook point, puts it in once, framed as another agent\'s words, and tells the hub', async () => {
      const hub = new RecordingHub();
      host.attachHub(hub);
      const message = mail('Please run the tests again.');
      await host.receive(hub, { type: 'deliver', id: 'd1', recipient: SESSION, envelope: message });
      expect(hub.frames.find((f) => f.type === 'accepted')).toEqual({ type: 'accepted', id: 'd1', held: true });

      expect(await host.hook({ session_id: 'sess-9', hook_event_name: 'PreToolUse' })).toEqual({}); // not a point that can carry text
      const answer: any = await host.hook({ session_id: 'sess-9', hook_event_name: 'PostToolUse', tool_name: 'Bash' });
      const context = answer.hookSpecificOutput.additionalContext as string;
      expect(answer.hookSpecificOutput.hookEventName).toBe('PostToolUse');
      expect(context).toMatch(/not an instruction from the person you work for/);
      expect(context).toContain(`<message from="extension:local/popup" id="${message.id}" reply-to="api:local/asker" kind="note">\nPlease run the tests again.\n</message>`);
      expect(recordsOf('delivered')).toEqual([{ type: 'delivered', messageId: message.id, recipient: SESSION }]);

      expect(await host.hook({ session_id: 'sess-9', hook_event_name: 'UserPromptSubmit', prompt: 'next' })).toEqual({}); // never twice
      await host.receive(hub, { type: 'deliver', id: 'd2', recipient: SESSION, envelope: message }); // a resend: it is there already
      expect(hub.frames.filter((f) => f.type === 'accepted').at(-1)).toEqual({ type: 'accepted', id: 'd2' });
    });

    it('blocks a Stop to hand over mail, but never a Stop that a block caused', async () => {
      const hub = new RecordingHub();
      host.attachHub(hub);
      await host.receive(hub, { type: 'deliver', id: 'd1', recipient: SESSION, envelope: mail('one') });
      expect(await host.hook({ session_id: 'sess-9', hook_event_name: 'Stop', stop_hook_active: true })).toEqual({});
      const answer: any = await host.hook({ session_id: 'sess-9', hook_event_name: 'Stop', stop_hook_active: false });
      expect(answer.decision).toBe('block');
      expect(answer.reason).toContain('one');
    });

    it('sends the turn\'s last words to whoever the mail asked to answer, and acks the mail', async () => {
      const hub = new RecordingHub();
      host.attachHub(hub);
      const message = mail('What is 6 × 7?');
      await host.receive(hub, { type: 'deliver', id: 'd1', recipient: SESSION, envelope: message });
      await host.hook({ session_id: 'sess-9', hook_event_name: 'UserPromptSubmit', prompt: 'go on' });
      await host.hook({ session_id: 'sess-9', hook_event_name: 'Stop', stop_hook_active: false, last_assistant_message: '42.' });
      const [reply] = recordsOf('message');
      expect(reply.message).toMatchObject({ from: SESSION, to: ['api:local/asker'], inReplyTo: message.id, threadId: message.threadId, kind: 'reply', body: { text: '42.' } });
      expect(recordsOf('ack')).toEqual([{ type: 'ack', messageId: message.id, recipient: SESSION }]);
      // the next turn's words answer nothing
      await host.hook({ session_id: 'sess-9', hook_event_name: 'Stop', stop_hook_active: false, last_assistant_message: 'later' });
      expect(recordsOf('message')).toHaveLength(1);
    });

    it('routes an answer that comes after a daemon restart', async () => {
      const answersFile = join(dir, 'awaiting-answers.json');
      host = new Host({ journal, inbox, version: '0.1.0', device: 'local', now: () => now, answersFile });
      const hub = new RecordingHub();
      host.attachHub(hub);
      const message = mail('Still there?');
      await host.receive(hub, { type: 'deliver', id: 'd1', recipient: SESSION, envelope: message });
      await host.hook({ session_id: 'sess-9', hook_event_name: 'UserPromptSubmit', prompt: 'x' });
      // the daemon restarts before the turn ends
      host = new Host({ journal, inbox, version: '0.1.0', device: 'local', now: () => now, answersFile });
      await host.hook({ session_id: 'sess-9', hook_event_name: 'Stop', stop_hook_active: false, last_assistant_message: 'Yes.' });
      expect(recordsOf('message').map((r) => r.message)).toEqual([expect.objectContaining({ from: SESSION, inReplyTo: message.id, body: { text: 'Yes.' } })]);
    });

    it('wakes a waiting idle session when mail comes, and ends the wait when the session ends', async () => {
      const hub = new RecordingHub();
      host.attachHub(hub);
      const waiting = host.waitForMail({ session_id: 'sess-9', hook_event_name: 'Stop' }, new AbortController().signal);
      await new Promise((r) => setTimeout(r, 10));
      await host.receive(hub, { type: 'deliver', id: 'd1', recipient: SESSION, envelope: mail('wake up') });
      expect(await waiting).toContain('wake up');
      expect(recordsOf('delivered')).toHaveLength(1);

      const ended = host.waitForMail({ session_id: 'sess-9', hook_event_name: 'Stop' }, new AbortController().signal);
      await host.hook({ session_id: 'sess-9', hook_event_name: 'SessionEnd' });
      expect(await ended).toBeUndefined();
      const gone = new AbortController();
      const aborted = host.waitForMail({ session_id: 'sess-9', hook_event_name: 'Stop' }, gone.signal);
      gone.abort();
      expect(await aborted).toBeUndefined();
    });

    it('replies through MCP: to the mail\'s replyTo, acked, and the turn\'s last words then answer nothing', async () => {
      const hub = new RecordingHub();
      host.attachHub(hub);
      const message = mail('What is 6 × 7?');
      await host.receive(hub, { type: 'deliver', id: 'd1', recipient: SESSION, envelope: message });
      await host.hook({ session_id: 'sess-9', hook_event_name: 'UserPromptSubmit', prompt: 'go on' });
      await host.reply(SESSION, message.id, '42, through MCP');
      await host.hook({ session_id: 'sess-9', hook_event_name: 'Stop', stop_hook_active: false, last_assistant_message: 'I replied.' });
      expect(recordsOf('message').map((r) => r.message)).toEqual([expect.objectContaining({ from: SESSION, to: ['api:local/asker'], inReplyTo: message.id, body: { text: '42, through MCP' } })]);
      expect(recordsOf('ack')).toEqual([{ type: 'ack', messageId: message.id, recipient: SESSION }]);
      const UNKNOWN = newMessageId();
      await expect(host.reply(SESSION, UNKNOWN, 'x')).rejects.toThrow(`${SESSION} has no message ${UNKNOWN} in its inbox here`);
    });

    it('an ack through MCP of mail not yet put in keeps it from being put in', async () => {
      const hub = new RecordingHub();
      host.attachHub(hub);
      const message = mail('FYI only');
      await host.receive(hub, { type: 'deliver', id: 'd1', recipient: SESSION, envelope: message });
      await host.ack(message.id, SESSION);
      expect(await host.hook({ session_id: 'sess-9', hook_event_name: 'UserPromptSubmit', prompt: 'x' })).toEqual({});
    });

    it('finds a session by the Claude Code process its hooks ran from, the latest session of that process first', async () => {
      await host.hook({ session_id: 'sess-9', hook_event_name: 'SessionStart' }, undefined, { claudePid: 4242 });
      expect(host.sessionOf([4300, 4242, 1])).toBe(SESSION);
      expect(host.sessionOf([4300])).toBeUndefined();
      // /clear: a new session in the same process
      await host.hook({ session_id: 'sess-10', hook_event_name: 'SessionStart' }, undefined, { claudePid: 4242 });
      expect(host.sessionOf([4242])).toBe('claude-code:local/sess-10');
      await host.hook({ session_id: 'sess-11', hook_event_name: 'SessionStart' }, undefined, { claudePid: 1 }); // init is nobody's session
      expect(host.sessionOf([1])).toBeUndefined();
    });

    it('never answers a reply, a status or its own message with the turn\'s last words: two sessions do not answer each other for ever', async () => {
      const hub = new RecordingHub();
      host.attachHub(hub);
      const answer = envelopeFor({ from: 'claude-code:local/other', to: [SESSION], kind: 'reply', body: { text: 'Here is my answer.' } });
      const own = envelopeFor({ from: SESSION, to: [SESSION], kind: 'prompt', body: { text: 'Note to self' } });
      const question = mail('A real question');
      for (const [i, envelope] of [answer, own, question].entries()) await host.receive(hub, { type: 'deliver', id: `d${i}`, recipient: SESSION, envelope });
      await host.hook({ session_id: 'sess-9', hook_event_name: 'UserPromptSubmit', prompt: 'x' });
      await host.hook({ session_id: 'sess-9', hook_event_name: 'Stop', stop_hook_active: false, last_assistant_message: 'Done.' });
      expect(recordsOf('message').map((r) => r.message.inReplyTo)).toEqual([question.id]);
      expect(recordsOf('delivered').map((r) => r.messageId).sort()).toEqual([answer.id, own.id, question.id].sort());
    });

    it('takes mail its MCP server showed it as read: delivered, and no hook puts it in again', async () => {
      const hub = new RecordingHub();
      host.attachHub(hub);
      const message = mail('Read me through MCP');
      await host.receive(hub, { type: 'deliver', id: 'd1', recipient: SESSION, envelope: message });
      await host.markRead(SESSION, [message.id]);
      await host.markRead(SESSION, [message.id]); // again: nothing more
      await host.markRead('api:local/client', [message.id]); // not a session: nothing
      expect(recordsOf('delivered')).toEqual([{ type: 'delivered', messageId: message.id, recipient: SESSION }]);
      expect(await host.hook({ session_id: 'sess-9', hook_event_name: 'UserPromptSubmit', prompt: 'x' })).toEqual({});
      await host.hook({ session_id: 'sess-9', hook_event_name: 'Stop', stop_hook_active: false, last_assistant_message: 'Answered.' });
      expect(recordsOf('message').map((r) => [r.message.inReplyTo, r.message.body.text])).toEqual([[message.id, 'Answered.']]);
    });

    it('puts mail back when the hook answer that carried it never reached Claude Code (its event came again from the spool)', async () => {
      host = new Host({ journal, inbox, version: '0.1.0', device: 'local', now: () => now, hookCopies: new HookCopies(() => now) });
      const hub = new RecordingHub();
      host.attachHub(hub);
      const message = mail('Do not lose me');
      await host.receive(hub, { type: 'deliver', id: 'd1', recipient: SESSION, envelope: message });
      const prompt = { session_id: 'sess-9', hook_event_name: 'UserPromptSubmit', prompt: 'go' };
      expect(JSON.stringify(await host.hook(prompt, 5_000, { hookPid: 777 }))).toContain('Do not lose me'); // curl gave up before this arrived
      expect(await host.hook(prompt, 7_000, { hookPid: 777 })).toEqual({}); // the spooled copy: dropped, and it proves the answer lost
      // The next hook point puts it in, and the turn's words answer it once.
      expect(JSON.stringify(await host.hook({ session_id: 'sess-9', hook_event_name: 'PostToolUse', tool_name: 'Bash' }, 8_000, { hookPid: 778 }))).toContain('Do not lose me');
      await host.hook({ session_id: 'sess-9', hook_event_name: 'Stop', stop_hook_active: false, last_assistant_message: 'Kept.' }, 9_000, { hookPid: 779 });
      expect(recordsOf('message').map((r) => r.message.body.text)).toEqual(['Kept.']);
    });

    it('asks for the ended session to be resumed when mail comes after its end, or waits at its end', async () => {
      const resumes: string[] = [];
      host = new Host({ journal, inbox, version: '0.1.0', device: 'local', now: () => now, onEndedSessionMail: (id, project) => resumes.push(`${id} in ${project}`) });
      const hub = new RecordingHub();
      host.attachHub(hub);
      await host.hook({ session_id: 'sess-9', hook_event_name: 'SessionEnd', cwd: '/work/app' });
      expect(resumes).toEqual([]);
      await host.receive(hub, { type: 'deliver', id: 'd1', recipient: SESSION, envelope: mail('after the end') });
      expect(resumes).toEqual(['sess-9 in undefined']);
      // a session that ends with mail still waiting
      await host.hook({ session_id: 'sess-8', hook_event_name: 'PreToolUse' });
      await host.receive(hub, { type: 'deliver', id: 'd2', recipient: 'claude-code:local/sess-8', envelope: envelopeFor({ from: 'api:local/a', to: ['claude-code:local/sess-8'] }) });
      await host.hook({ session_id: 'sess-8', hook_event_name: 'SessionEnd', cwd: '/work/other' });
      expect(resumes).toEqual(['sess-9 in undefined', 'sess-8 in /work/other']);
      // A daemon that never saw the end: the hub's directory says the session ended, and where it worked.
      host = new Host({ journal, inbox, version: '0.1.0', device: 'local', now: () => now, onEndedSessionMail: (id, project) => resumes.push(`${id} in ${project}`) });
      host.attachHub(hub);
      await host.receive(hub, { type: 'directory', at: 1, agents: [{ address: 'claude-code:local/sess-7', state: 'ended', project: '/work/seven' }], destinations: [] });
      await host.receive(hub, { type: 'deliver', id: 'd3', recipient: 'claude-code:local/sess-7', envelope: envelopeFor({ from: 'api:local/a', to: ['claude-code:local/sess-7'] }) });
      expect(resumes.at(-1)).toBe('sess-7 in /work/seven');
    });
  });

  it('keeps the hub\'s directory, across a restart', async () => {
    const directoryFile = join(dir, 'hub-directory.json');
    host = new Host({ journal, inbox, version: '0.1.0', device: 'local', now: () => now, directoryFile });
    expect(host.directory()).toBeUndefined();
    const hub = new RecordingHub();
    host.attachHub(hub);
    const frame = { type: 'directory', at: 7_000, agents: [{ address: 'claude-ai:local/chat-1', title: 'Chat' }], destinations: [] } as const;
    await host.receive(hub, frame);
    expect(host.directory()).toEqual(frame);
    await host.receive(hub, { ...frame, agents: [{ address: 'nope' }] }); // refused: the last good one stays
    await host.directorySaved();
    host = new Host({ journal, inbox, version: '0.1.0', device: 'local', now: () => now, directoryFile });
    expect(host.directory()).toEqual(frame);
  });
});
