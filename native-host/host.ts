/**
 * The daemon's core (HostCore): what it accepts from outside goes into the inbound journal before
 * anyone is answered, and leaves it only when the hub has committed it; what the hub hands over for
 * the host's agents goes into their inbox before the hub is told it arrived (issue 4: "Journal,
 * always in the path").
 *
 * One hub at a time: the browser's extension, connected through a shim. A newer connection replaces
 * an older one (a browser that restarted leaves a dead shim behind it for a moment).
 */
import { EventEmitter } from 'node:events';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { newMessageId, parseOrThrow, parseSendRequest, type SendRequest } from '../src/protocol/envelope';
import type { HostSettings } from './settings';
import { HookPayload, HubFrame, type DirectoryFrame, type HostFrame, type InboundRecord } from '../src/protocol/native';
import { frameMail, hookOutput, mailPointOf } from './claude-code/session-mail';
import type { Envelope } from '../src/protocol/envelope';

const isSession = (address: string) => address.startsWith('claude-code:');

/**
 * Whether the turn's last words answer this message: a prompt, a note or a command does; a reply,
 * a status or an event does not (two sessions would otherwise answer each other's answers for
 * ever), and neither does a message the session sent itself.
 */
const asksForAnswer = (envelope: Envelope, session: string) => envelope.from !== session && (envelope.kind === 'prompt' || envelope.kind === 'note' || envelope.kind === 'command');

/** How long after a hook's answer a spooled copy of its event can prove the answer lost (the hook's curl waits 2 s). */
const ANSWER_PROOF_MS = 5 * 60_000;
import { AgentAddress } from '../src/protocol/address';
import { MessageId } from '../src/protocol/envelope';
import { HoldRequest } from '../src/bus/destinations';
import type { Journal } from './journal';
import type { Inbox } from './inbox';
import { HostBusyError, NotFoundError, type HookAnswer, type HookOrigin, type HostCore, type HostEvent, type HostStatus, type InboxMessage } from './ports';
import type { HostMetrics } from './metrics';
import type { HookCopies } from './claude-code/hook-copies';

/** A connected hub, as the host sees it: frames out, frames in. */
export interface HubConnection {
  /** Sends a frame; returns how many bytes it took. */
  send(frame: HostFrame): number;
  close(reason: string): void;
}

/** How many journal records, and how many bytes of them, the hub may have been sent and not yet committed (one record always goes). */
export const HUB_WINDOW = 256;
export const HUB_WINDOW_BYTES = 16 * 1024 * 1024;

export interface HostOptions {
  journal: Journal<InboundRecord>;
  inbox: Inbox;
  version: string;
  device: string;
  /**
   * where the mail put into sessions and not answered yet is kept, so an answer after a daemon
   * restart still reaches the asker; default: memory only
   */
  answersFile?: string;
  /** where the hub's directory is kept, so it can be shown before the hub connects again; default: memory only */
  directoryFile?: string;
  /** mail waits for a session that has ended (config claudeCode.resumeExited decides what to do) */
  onEndedSessionMail?: (sessionId: string, project: string | undefined) => void;
  /** told of every hook event the host takes (the usage monitor follows transcripts with it) */
  onHook?: (payload: HookPayload, receivedAt: number) => void;
  /** the settings the dashboard reads and edits (native-host/settings.ts); without it they are refused */
  settings?: { read(): HostSettings; change(change: unknown): Promise<HostSettings> };
  /** drops the second copy of a hook event that was posted and then spooled too; default: every copy is taken */
  hookCopies?: HookCopies;
  /** refuse new records (HostBusyError) while the journal holds this many bytes; default unlimited */
  maxJournalBytes?: number;
  metrics?: HostMetrics;
  now?: () => number;
  log?: (line: string) => void;
}

export class Host implements HostCore {
  private hub: HubConnection | undefined;
  private readonly events = new EventEmitter();
  private readonly startedAt: number;
  private readonly now: () => number;
  /** ids of messages in the journal (or on their way in), so a resent request is not journaled twice */
  private readonly journaledIds = new Map<string, Promise<number>>();
  private readonly idOfSeq = new Map<number, string>();
  /** seqs sent to the current hub and not yet committed by it, with their size */
  private readonly inFlight = new Map<number, number>();
  private inFlightBytes = 0;
  /** the journal's records in order, as of the hub's connect plus what came since; `next` is the first not sent */
  private outbox: { seq: number; record: InboundRecord }[] = [];
  private next = 0;
  /** idle sessions' hooks waiting for mail (asyncRewake), by session address */
  private readonly mailWaiters = new Map<string, Set<(why: 'mail' | 'end') => void>>();
  /** mail put into a session whose answer (its turn's last words) has not come yet */
  private readonly awaitingAnswer = new Map<string, Envelope[]>();
  private mailLock: Promise<unknown> = Promise.resolve();
  private readonly endedSessions = new Set<string>();
  /** when each journaled record was accepted, for the latency of API → hub committed */
  private readonly acceptedAt = new Map<number, number>();
  /**
   * The Claude Code process each session last ran a hook from (the hook's parent), by pid: the MCP
   * server Claude Code starts finds its session by its own parent (sessionOf).
   */
  private readonly sessionByPid = new Map<number, { session: string; at: number }>();
  /** the hub's agents and holds, as it last told them */
  private hubDirectory: DirectoryFrame | undefined;
  private usage: Extract<HostFrame, { type: 'usage' }> | undefined;
  private usageJson = '';
  private directoryWrite: Promise<void> = Promise.resolve();
  /** the mail each recent hook answer carried, by hook pid, in case the answer never arrives */
  private readonly answeredMail = new Map<number, { session: string; ids: string[]; at: number }>();

  constructor(private readonly options: HostOptions) {
    this.now = options.now ?? Date.now;
    this.startedAt = this.now();
    if (options.answersFile) {
      try {
        const saved = JSON.parse(readFileSync(options.answersFile, 'utf8')) as Record<string, Envelope[]>;
        for (const [session, envelopes] of Object.entries(saved)) this.awaitingAnswer.set(session, envelopes);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') options.log?.(`warning: could not read ${options.answersFile}: ${(error as Error).message}`);
      }
    }
    if (options.directoryFile) {
      try {
        this.hubDirectory = JSON.parse(readFileSync(options.directoryFile, 'utf8')) as DirectoryFrame;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') options.log?.(`warning: could not read ${options.directoryFile}: ${(error as Error).message}`);
      }
    }
    this.events.setMaxListeners(0);
    for (const { seq, record } of options.journal.entries()) {
      if (record.type === 'message' && record.message.id) {
        this.journaledIds.set(record.message.id, Promise.resolve(seq));
        this.idOfSeq.set(seq, record.message.id);
      }
    }
  }

  async submit(input: SendRequest): Promise<{ messageId: string }> {
    const parsed = parseSendRequest(input);
    const id = parsed.id ?? newMessageId();
    const earlier = this.journaledIds.get(id);
    if (earlier) return earlier.then(() => ({ messageId: id }));
    // The id and the creation time are fixed here, so a replay after a crash is the same message.
    const message = { ...parsed, id, createdAt: parsed.createdAt ?? this.now() };
    const appended = this.append({ type: 'message', message });
    this.journaledIds.set(id, appended);
    const seq = await appended.catch((error) => {
      this.journaledIds.delete(id);
      throw error;
    });
    this.idOfSeq.set(seq, id);
    this.emit({ type: 'message-in', messageId: id, from: parsed.from, to: parsed.to, kind: parsed.kind, at: this.now() });
    return { messageId: id };
  }

  async ack(messageId: string, recipient: string): Promise<void> {
    parseOrThrow(MessageId, messageId, 'message id');
    parseOrThrow(AgentAddress, recipient, 'recipient');
    const at = this.now();
    await this.options.inbox.ack(recipient, messageId, at);
    await this.append({ type: 'ack', messageId, recipient });
    // A session that acked it itself (through MCP) has dealt with it: its turn's last words are not the answer.
    const answering = this.awaitingAnswer.get(recipient);
    if (answering?.some((envelope) => envelope.id === messageId)) {
      const rest = answering.filter((envelope) => envelope.id !== messageId);
      if (rest.length) this.awaitingAnswer.set(recipient, rest);
      else this.awaitingAnswer.delete(recipient);
      this.saveAnswers();
    }
    this.emit({ type: 'ack', messageId, recipient, at });
  }

  async reply(agent: string, messageId: string, text: string): Promise<{ messageId: string }> {
    parseOrThrow(AgentAddress, agent, 'agent');
    parseOrThrow(MessageId, messageId, 'message id');
    const original = this.options.inbox.list(agent, 0, Number.MAX_SAFE_INTEGER).find((m) => m.envelope.id === messageId);
    if (!original) throw new NotFoundError(`${agent} has no message ${messageId} in its inbox here`);
    const { envelope } = original;
    const sent = await this.submit({ from: agent, to: envelope.replyTo, inReplyTo: envelope.id, threadId: envelope.threadId, kind: 'reply', body: text });
    await this.ack(messageId, agent);
    return sent;
  }

  async hook(input: unknown, receivedAt = this.now(), origin: HookOrigin = {}): Promise<HookAnswer> {
    const payload = parseOrThrow(HookPayload, input, 'hook event');
    const journal = async () => void (await this.append({ type: 'hook', event: { id: newMessageId(), receivedAt, payload } }));
    const taken = this.options.hookCopies ? await this.options.hookCopies.take(origin.hookPid, payload, receivedAt, journal) : (await journal(), true);
    if (!taken) {
      // Its first copy was journaled; the hook spooled this one because the answer came too late,
      // so Claude Code never saw what the answer carried: that mail is waiting again.
      this.log(`dropped the second copy of a ${payload.hook_event_name} hook event of session ${payload.session_id} (hook process ${origin.hookPid})`);
      await this.takeBack(origin.hookPid);
      return {};
    }
    if (origin.claudePid !== undefined && Number.isSafeInteger(origin.claudePid) && origin.claudePid > 1) this.noteSessionPid(origin.claudePid, payload.session_id);
    this.options.metrics?.hookEvent(payload.hook_event_name);
    this.emit({ type: 'hook', sessionId: payload.session_id, event: payload.hook_event_name, at: receivedAt });
    this.options.onHook?.(payload, receivedAt);
    const session = this.sessionAddress(payload.session_id);
    if (!session) return {};
    const name = payload.hook_event_name;
    // The turn that read mail ends here: what the session said last is its answer to that mail.
    if ((name === 'Stop' || name === 'StopFailure') && typeof payload.last_assistant_message === 'string') {
      await this.routeAnswers(session, payload.last_assistant_message, name === 'StopFailure');
    }
    if (name === 'SessionEnd') {
      this.endedSessions.add(session);
      this.endWaits(session);
      // Mail that came during the last turn and found no hook point after it.
      if (this.options.inbox.list(session, 0, 1_000).some((m) => !m.ackedAt)) this.options.onEndedSessionMail?.(payload.session_id, payload.cwd);
    } else this.endedSessions.delete(session); // a resumed session is alive again
    const point = mailPointOf(name, payload);
    if (point === 'none') return {};
    const mail = await this.takeMail(session);
    if (!mail) return {};
    if (origin.hookPid !== undefined) this.rememberAnswer(origin.hookPid, session, mail.ids);
    return hookOutput(point, name, mail.text);
  }

  private rememberAnswer(hookPid: number, session: string, ids: string[]): void {
    const now = this.now();
    this.answeredMail.set(hookPid, { session, ids, at: now });
    // Only a copy within minutes can prove an answer lost: forget older ones.
    for (const [pid, answer] of this.answeredMail) {
      if (now - answer.at < ANSWER_PROOF_MS && this.answeredMail.size <= 1_024) break;
      this.answeredMail.delete(pid);
    }
  }

  /** The mail a hook's answer carried, when that answer never reached Claude Code: unread again, and not awaiting an answer. */
  private async takeBack(hookPid: number | undefined): Promise<void> {
    const answer = hookPid === undefined ? undefined : this.answeredMail.get(hookPid);
    if (!answer || this.now() - answer.at > ANSWER_PROOF_MS) return;
    this.answeredMail.delete(hookPid!);
    for (const id of answer.ids) await this.options.inbox.unack(answer.session, id);
    const rest = (this.awaitingAnswer.get(answer.session) ?? []).filter((envelope) => !answer.ids.includes(envelope.id));
    if (rest.length) this.awaitingAnswer.set(answer.session, rest);
    else this.awaitingAnswer.delete(answer.session);
    this.saveAnswers();
    this.log(`the answer carrying ${answer.ids.length} message(s) never reached session ${answer.session}: they wait for its next hook point`);
    this.mailArrived(answer.session);
  }

  /**
   * Waits for mail for the session of a hook payload (the asyncRewake hook of an idle session);
   * resolves with the framed text, marked delivered, or undefined when the wait ends without mail
   * (the session ended, the daemon stops, or `signal` aborts: the hook went away).
   */
  async waitForMail(input: unknown, signal: AbortSignal): Promise<string | undefined> {
    const payload = parseOrThrow(HookPayload, input, 'hook event');
    const session = this.sessionAddress(payload.session_id);
    if (!session) return undefined;
    for (;;) {
      if (signal.aborted || this.endedSessions.has(session)) return undefined;
      // Listen before looking, so mail that comes in between is not missed.
      const waiters = this.mailWaiters.get(session) ?? new Set<(why: 'mail' | 'end') => void>();
      this.mailWaiters.set(session, waiters);
      let waiter!: (why: 'mail' | 'end') => void;
      const onAbort = () => waiter('end');
      const woken = new Promise<'mail' | 'end'>((resolve) => {
        waiter = (why) => {
          waiters.delete(waiter);
          signal.removeEventListener('abort', onAbort);
          resolve(why);
        };
      });
      waiters.add(waiter);
      signal.addEventListener('abort', onAbort);
      const mail = await this.takeMail(session);
      if (mail) {
        waiter('mail');
        return mail.text;
      }
      if ((await woken) === 'end') return undefined;
    }
  }

  private noteSessionPid(pid: number, sessionId: string): void {
    const session = this.sessionAddress(sessionId);
    if (!session) return;
    this.sessionByPid.delete(pid); // re-inserted last: the map stays in order of use
    this.sessionByPid.set(pid, { session, at: this.now() });
    // Processes come and go: keep the most recent few thousand.
    if (this.sessionByPid.size > 4_096) this.sessionByPid.delete(this.sessionByPid.keys().next().value!);
  }

  sessionOf(pids: number[]): string | undefined {
    for (const pid of pids) {
      const found = this.sessionByPid.get(pid);
      if (found) return found.session;
    }
    return undefined;
  }

  directory(): DirectoryFrame | undefined {
    return this.hubDirectory;
  }

  /**
   * The usage monitor's report, for the hub's dashboard: sent now when it changed, and to every hub
   * that connects. A snapshot: the next replaces it, so it is never journaled.
   */
  publishUsage(report: object): void {
    const json = JSON.stringify(report);
    if (json === this.usageJson) return;
    this.usageJson = json;
    this.usage = { type: 'usage', at: this.now(), report: report as Record<string, unknown> };
    this.hub?.send(this.usage);
  }

  /** The session's address, or undefined for a session id that cannot be one. */
  private sessionAddress(sessionId: string): string | undefined {
    const address = `claude-code:${this.options.device}/${sessionId}`;
    return AgentAddress.safeParse(address).success ? address : undefined;
  }

  /**
   * Takes the session's mail that fits one injection: marks each message put in (the inbox's ack, on
   * disk) and journals `delivered` for the hub before the hook answers, so a crash after the answer
   * cannot put the same message in twice. Messages are taken one caller at a time.
   */
  private takeMail(session: string, only?: ReadonlySet<string>): Promise<{ text: string; ids: string[] } | undefined> {
    const run = this.mailLock.then(async () => {
      const waiting = this.options.inbox.list(session, 0, 1_000).filter((m) => !m.ackedAt && (!only || only.has(m.envelope.id)));
      if (!waiting.length) return undefined;
      const { text, taken } = only ? { text: '', taken: waiting } : frameMail(waiting);
      const at = this.now();
      for (const message of taken) {
        await this.options.inbox.ack(session, message.envelope.id, at);
        await this.append({ type: 'delivered', messageId: message.envelope.id, recipient: session });
      }
      const answering = this.awaitingAnswer.get(session) ?? [];
      answering.push(...taken.map((m) => m.envelope).filter((envelope) => asksForAnswer(envelope, session)));
      if (answering.length) this.awaitingAnswer.set(session, answering);
      this.saveAnswers();
      return taken.length ? { text, ids: taken.map((m) => m.envelope.id) } : undefined;
    });
    this.mailLock = run.then(() => undefined, () => undefined);
    return run;
  }

  /**
   * The session read these messages itself (its MCP server returned them): they are delivered, and
   * no hook puts them in again. Their answer is its reply, or else its turn's last words.
   */
  async markRead(agent: string, ids: string[]): Promise<void> {
    if (!isSession(agent) || !ids.length) return;
    await this.takeMail(agent, new Set(ids));
  }

  /** Sends the session's last words to whoever the mail it read asked to answer, and acks that mail. */
  private async routeAnswers(session: string, text: string, failed: boolean): Promise<void> {
    const answered = this.awaitingAnswer.get(session);
    if (!answered?.length || failed) return;
    this.awaitingAnswer.delete(session);
    this.saveAnswers();
    for (const envelope of answered) {
      await this.submit({
        from: session,
        to: envelope.replyTo,
        inReplyTo: envelope.id,
        threadId: envelope.threadId,
        kind: 'reply',
        body: text.slice(0, 200_000) || '(no text)',
      });
      await this.ack(envelope.id, session);
    }
  }

  /** Small and rare (once per injection and per answer): written whole, atomically. */
  private saveAnswers(): void {
    const file = this.options.answersFile;
    if (!file) return;
    try {
      writeFileSync(`${file}.tmp`, JSON.stringify(Object.fromEntries(this.awaitingAnswer)), { mode: 0o600 });
      renameSync(`${file}.tmp`, file);
    } catch (error) {
      this.log(`warning: could not save ${file}: ${(error as Error).message}`);
    }
  }

  /** When the hub's agents or holds change (at most every few hundred ms): written whole, atomically, off the event loop's way. */
  private saveDirectory(): void {
    const file = this.options.directoryFile;
    if (!file) return;
    const frame = this.hubDirectory;
    this.directoryWrite = this.directoryWrite.then(async () => {
      if (frame !== this.hubDirectory) return; // a newer one follows
      try {
        await writeFile(`${file}.tmp`, JSON.stringify(frame), { mode: 0o600 });
        await rename(`${file}.tmp`, file);
      } catch (error) {
        this.log(`warning: could not save ${file}: ${(error as Error).message}`);
      }
    });
  }

  /** Resolves once the directory on disk is the latest (for tests and a clean stop). */
  directorySaved(): Promise<void> {
    return this.directoryWrite;
  }

  private mailArrived(session: string): void {
    for (const waiter of [...(this.mailWaiters.get(session) ?? [])]) waiter('mail');
  }

  private endWaits(session: string): void {
    for (const waiter of [...(this.mailWaiters.get(session) ?? [])]) waiter('end');
  }

  /** Raises an alert: an event for the webhooks and the event stream, and a status message for the popup. */
  async alert(severity: 'info' | 'warning' | 'critical', text: string): Promise<void> {
    const at = this.now();
    this.emit({ type: 'alert', severity, text, at });
    await this.submit({ from: `api:${this.options.device}/switchboard-usage`, to: 'extension:local/popup', kind: 'status', body: text, ttl: 'long', priority: severity === 'critical' ? 'high' : 'normal' });
  }

  /**
   * Asks the hub to hold an agent (HoldRequest: address, strategy, reason, until…): journaled like a
   * message, so it reaches the hub even when the browser starts later. The usage monitor holds a
   * Claude Code session that hit a rate limit, until its reset when it knows it. Throws
   * ValidationError naming the field, journaling nothing, for a hold the bus could not apply.
   */
  async holdAgent(input: unknown): Promise<HoldRequest> {
    const hold = parseOrThrow(HoldRequest, input, 'hold');
    await this.append({ type: 'hold', hold });
    const until = hold.until === undefined ? '' : ` until ${new Date(hold.until).toISOString()}`;
    this.log(`asked the hub to hold ${hold.address} (${hold.strategy}${until}): ${hold.reason}`);
    return hold;
  }

  async present(address: string): Promise<void> {
    parseOrThrow(AgentAddress, address, 'address');
    await this.append({ type: 'agent', address });
  }

  messagesFor(recipient: string, since: number, limit: number): InboxMessage[] {
    return this.options.inbox.list(recipient, since, limit);
  }

  subscribe(recipient: string, listener: (message: InboxMessage) => void): () => void {
    return this.options.inbox.subscribe(recipient, listener);
  }

  onEvent(listener: (event: HostEvent) => void): () => void {
    this.events.on('event', listener);
    return () => this.events.off('event', listener);
  }

  status(): HostStatus {
    const { records, bytes } = this.options.journal.size;
    return {
      version: this.options.version,
      device: this.options.device,
      startedAt: this.startedAt,
      hubConnected: this.hub !== undefined,
      journal: { records, bytes, writable: this.options.journal.writable },
      inbox: { messages: this.options.inbox.count },
    };
  }

  /** A hub connected: greet it and send it everything the journal holds, in order. */
  attachHub(connection: HubConnection): void {
    if (this.hub) this.hub.close('another browser connected to the host');
    this.hub = connection;
    this.log('hub connected');
    this.inFlight.clear();
    this.inFlightBytes = 0;
    this.outbox = this.options.journal.entries();
    this.next = 0;
    connection.send({ type: 'hello', version: this.options.version, device: this.options.device });
    if (this.usage) connection.send(this.usage);
    this.pump();
    this.emit({ type: 'hub', connected: true, at: this.now() });
  }

  detachHub(connection: HubConnection): void {
    if (this.hub !== connection) return;
    this.hub = undefined;
    this.log('hub disconnected');
    this.emit({ type: 'hub', connected: false, at: this.now() });
  }

  /** A frame from the hub. Bad frames are answered in the log, never with a crash. */
  async receive(connection: HubConnection, input: unknown): Promise<void> {
    const parsed = HubFrame.safeParse(input);
    if (!parsed.success) {
      this.log(`ignored a frame from the hub: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
      return;
    }
    const frame = parsed.data;
    if (frame.type === 'committed') {
      const seqs = frame.results.map((r) => r.seq);
      for (const result of frame.results) {
        if (result.error) this.log(`the hub refused journal record ${result.seq}: ${result.error}`);
        const accepted = this.acceptedAt.get(result.seq);
        if (accepted !== undefined) this.options.metrics?.observeDelivery('api_to_hub', (this.now() - accepted) / 1000);
        this.acceptedAt.delete(result.seq);
      }
      await this.options.journal.remove(seqs);
      for (const seq of seqs) {
        this.inFlightBytes -= this.inFlight.get(seq) ?? 0;
        this.inFlight.delete(seq);
      }
      // The hub has them now and dedupes a resend by id itself.
      for (const seq of seqs) {
        const id = this.idOfSeq.get(seq);
        if (id !== undefined) this.journaledIds.delete(id);
        this.idOfSeq.delete(seq);
      }
      this.pump();
    } else if (frame.type === 'directory') {
      this.hubDirectory = frame;
      this.saveDirectory();
    } else if (frame.type === 'settings') {
      const settings = this.options.settings;
      if (!settings) connection.send({ type: 'refused', id: frame.id, reason: 'this host keeps no settings' });
      else {
        try {
          const now = frame.change ? await settings.change(frame.change) : settings.read();
          connection.send({ type: 'settings', id: frame.id, settings: now as unknown as Extract<HostFrame, { type: 'settings' }>['settings'] });
        } catch (error) {
          connection.send({ type: 'refused', id: frame.id, reason: error instanceof Error ? error.message : String(error) });
        }
      }
    } else if (frame.type === 'deliver') {
      try {
        const receivedAt = this.now();
        const added = await this.options.inbox.add(frame.recipient, frame.envelope, receivedAt);
        if (added) {
          this.emit({ type: 'message-out', messageId: frame.envelope.id, recipient: frame.recipient, kind: frame.envelope.kind, at: receivedAt });
        }
        // A session takes it only at a hook point: held until then (or already put in: a resend).
        const held = isSession(frame.recipient) && !this.options.inbox.list(frame.recipient, 0, Number.MAX_SAFE_INTEGER).find((m) => m.envelope.id === frame.envelope.id)?.ackedAt;
        connection.send(held ? { type: 'accepted', id: frame.id, held: true } : { type: 'accepted', id: frame.id });
        if (held) {
          this.mailArrived(frame.recipient);
          // Ended as this daemon saw it, or as the hub knows it (this daemon may have started since).
          const known = this.hubDirectory?.agents.find((agent) => agent.address === frame.recipient);
          if (this.endedSessions.has(frame.recipient) || known?.state === 'ended') {
            this.options.onEndedSessionMail?.(frame.recipient.slice(frame.recipient.indexOf('/') + 1), known?.project);
          }
        }
      } catch (error) {
        connection.send({ type: 'refused', id: frame.id, reason: error instanceof Error ? error.message : String(error) });
      }
    }
    // Chunks are reassembled before they reach here.
  }

  private async append(record: InboundRecord): Promise<number> {
    const max = this.options.maxJournalBytes;
    const held = this.options.journal.size.liveBytes;
    if (max !== undefined && held >= max) {
      throw new HostBusyError(
        `the host's journal is full (${held} bytes wait for the hub${this.hub ? '' : ', which is not connected: start the browser'}); try again later`,
        this.hub ? 5 : 60,
      );
    }
    const seq = await this.options.journal.append(record);
    this.acceptedAt.set(seq, this.now());
    // Appends resolve in seq order, so the outbox stays in journal order.
    if (this.hub) this.outbox.push({ seq, record });
    this.pump();
    return seq;
  }

  /**
   * Sends the hub the journal's records it has not been sent yet, in order, keeping at most
   * HUB_WINDOW records and HUB_WINDOW_BYTES uncommitted: a journal that filled while the browser
   * was closed must not flood it, nor the daemon's memory.
   */
  private pump(): void {
    const hub = this.hub;
    if (!hub) return;
    while (this.next < this.outbox.length && this.inFlight.size < HUB_WINDOW && (this.inFlight.size === 0 || this.inFlightBytes < HUB_WINDOW_BYTES)) {
      const { seq, record } = this.outbox[this.next++]!;
      const bytes = hub.send({ type: 'inbound', seq, record });
      this.inFlight.set(seq, bytes);
      this.inFlightBytes += bytes;
    }
    // What has been sent is no longer needed here: keep the outbox from growing for ever.
    if (this.next > 1_024) {
      this.outbox = this.outbox.slice(this.next);
      this.next = 0;
    }
  }

  private emit(event: HostEvent): void {
    this.events.emit('event', event);
  }

  private log(line: string): void {
    this.options.log?.(line);
  }
}
