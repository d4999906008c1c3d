/**
 * The local API's routes for agents that speak Switchboard's own message format — the MCP server
 * (native-host/mcp/) above all — and for the recovery view (issue 5):
 *
 *   GET  /agent/whoami?pids=P1,P2…      the Claude Code session whose hooks ran from the first of these processes
 *   GET  /agent/directory               the hub's agents and held destinations, as it last told the host
 *   GET  /agent/inbox?agent=&after=&limit=&unread=&seen=   an agent's messages here, oldest first, not consumed
 *   GET  /agent/wait?agent=&after=&timeout=          the first unread message after seq `after`; 204 when none came in time
 *   GET  /agent/message?agent=&id=      one whole message
 *   POST /agent/send    a SendRequest (src/protocol/envelope.ts) → {message_id}
 *   POST /agent/ack     {agent, message_id}
 *   POST /agent/reply   {agent, message_id, text} → {message_id}: to the message's replyTo, and acked
 *   POST /agent/present {agent}: the agent is here (the hub lists it, broadcast reaches it)
 *   GET  /recovery/status               every hold and open breaker, its reason and release time; rate-limited sessions
 *
 * Messages are never rendered here: text stays text, for the caller to frame.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { AgentAddress } from '../../src/protocol/address';
import { MessageId, parseOrThrow, parseSendRequest } from '../../src/protocol/envelope';
import type { DirectoryFrame } from '../../src/protocol/native';
import { NotFoundError, type HostCore, type InboxMessage } from '../ports';
import { HttpError, readJsonBody, sendJson } from './http-io';

type Route = (request: IncomingMessage, response: ServerResponse, url: URL) => Promise<void> | void;

export interface AgentRoutesOptions {
  core: HostCore;
  maxBodyBytes: number;
  /** throws 429 when `clientId` is over its rate */
  limit(clientId: string): void;
  /** aborted when the API closes: long waits end */
  stopping: AbortSignal;
  /** the usage monitor's report, for the limits it knows */
  usage?: { report(): unknown };
}

/** Below Node's fetch (undici) headers timeout of 300 s, which would end a longer wait as a failure. */
/** The agents that send through the host's API: its API clients, Claude Code sessions, Claude Desktop. */
export const SENDER_KINDS = ['api', 'claude-code', 'claude-desktop'] as const;

const WAIT_MAX_SECONDS = 240;

const count = (what: string, max: number) =>
  z
    .string()
    .regex(/^\d{1,15}$/, { error: `expected a whole number` })
    .transform(Number)
    .refine((n) => n <= max, { error: `at most ${max}${what}` });

const WhoamiQuery = z.strictObject({
  pids: z
    .string()
    .regex(/^\d{1,10}(,\d{1,10}){0,31}$/, { error: 'expected up to 32 process ids separated by commas, nearest first' })
    .transform((pids) => pids.split(',').map(Number)),
});
/** `seen=true`: the agent itself reads them (its MCP server): a session's hooks then do not put them in again. */
const Seen = z.enum(['true', 'false'], { error: 'expected true or false' }).optional();
const InboxQuery = z.strictObject({
  seen: Seen,
  agent: AgentAddress,
  after: count('', Number.MAX_SAFE_INTEGER).optional(),
  limit: count(' messages', 1_000).optional(),
  unread: z.enum(['true', 'false'], { error: 'expected true or false' }).optional(),
});
const WaitQuery = z.strictObject({
  seen: Seen,
  agent: AgentAddress,
  after: count('', Number.MAX_SAFE_INTEGER).optional(),
  timeout: count(' seconds', WAIT_MAX_SECONDS).optional(),
});
const MessageQuery = z.strictObject({ seen: Seen, agent: AgentAddress, id: MessageId });
const PresentBody = z.strictObject({ agent: AgentAddress });
const AckBody = z.strictObject({ agent: AgentAddress, message_id: MessageId });
const ReplyBody = z.strictObject({ agent: AgentAddress, message_id: MessageId, text: z.string().min(1, { error: 'the reply is empty' }).max(200_000) });

/** A message as agents read it: its text whole, attachments by name (their data stays in the hub). */
export function agentMessage(message: InboxMessage) {
  const { envelope } = message;
  return {
    seq: message.seq,
    id: envelope.id,
    from: envelope.from,
    to: message.recipient,
    kind: envelope.kind,
    priority: envelope.priority,
    threadId: envelope.threadId,
    replyTo: envelope.replyTo,
    ...(envelope.inReplyTo ? { inReplyTo: envelope.inReplyTo } : {}),
    text: envelope.body.text,
    ...(envelope.body.code?.length ? { code: envelope.body.code } : {}),
    ...(envelope.body.attachments?.length ? { attachments: envelope.body.attachments.map((a) => ({ name: a.name, mimeType: a.mimeType, size: a.size })) } : {}),
    createdAt: envelope.createdAt,
    receivedAt: message.receivedAt,
    read: message.ackedAt !== undefined,
  };
}
export type AgentMessage = ReturnType<typeof agentMessage>;

/** The recovery view: what is held and why, until when; which sessions are rate-limited. */
export function recoveryStatus(directory: DirectoryFrame | undefined, hubConnected: boolean, usage: unknown, now: number) {
  const destinations = directory?.destinations ?? [];
  return {
    now,
    hubConnected,
    /** when the hub last told the host (null: never); older than now when the hub is away */
    asOf: directory?.at ?? null,
    holds: destinations
      .filter((d) => d.hold || d.breaker !== 'closed')
      .map((d) => ({
        address: d.address,
        breaker: d.breaker,
        ...(d.hold ? { strategy: d.hold.strategy, reason: d.hold.reason, since: d.hold.since, probes: d.hold.probes } : {}),
        // When it lets work through next: the end of a pause, the next probe, or the breaker's cool-down.
        releaseAt: d.hold?.until ?? d.hold?.nextProbeAt ?? d.reopenAt ?? null,
        ...(d.hold?.fallback ? { fallback: d.hold.fallback } : {}),
        history: d.history,
      })),
    recent: destinations.filter((d) => !d.hold && d.breaker === 'closed').map((d) => ({ address: d.address, history: d.history })),
    rateLimitedSessions: (directory?.agents ?? []).filter((a) => a.state === 'rate-limited').map((a) => ({ address: a.address, title: a.title, project: a.project, lastSeen: a.lastSeen })),
    ...(usage !== undefined ? { limits: (usage as { limits?: unknown }).limits ?? null } : {}),
  };
}

export function agentRoutes(options: AgentRoutesOptions): Record<string, Partial<Record<string, Route>>> {
  const { core, maxBodyBytes, limit } = options;
  const query = (url: URL) => {
    const all = Object.fromEntries(url.searchParams);
    delete all.token;
    return all;
  };
  const inboxOf = (agent: string) => core.messagesFor(agent, 0, Number.MAX_SAFE_INTEGER);

  const whoami: Route = (_request, response, url) => {
    const { pids } = parseOrThrow(WhoamiQuery, query(url), 'query');
    const agent = core.sessionOf(pids);
    if (!agent) {
      throw new HttpError(404, `no Claude Code session has run a Switchboard hook from process ${pids.join(' or ')}: is \`switchboard claude-code install\` done, and has the session started?`);
    }
    sendJson(response, 200, { agent });
  };

  const directory: Route = (_request, response) => {
    const known = core.directory();
    sendJson(response, 200, { hubConnected: core.status().hubConnected, asOf: known?.at ?? null, agents: known?.agents ?? [], destinations: known?.destinations ?? [] });
  };

  const inbox: Route = async (_request, response, url) => {
    const q = parseOrThrow(InboxQuery, query(url), 'query');
    limit(q.agent);
    const after = q.after ?? -1;
    const found = inboxOf(q.agent).filter((m) => m.seq > after && (q.unread !== 'true' || m.ackedAt === undefined));
    const shown = found.slice(0, q.limit ?? 100);
    const view = shown.map(agentMessage); // as they were before this read marked them
    if (q.seen === 'true') await core.markRead(q.agent, shown.filter((m) => m.ackedAt === undefined).map((m) => m.envelope.id));
    sendJson(response, 200, { agent: q.agent, messages: view, more: found.length > shown.length });
  };

  const wait: Route = async (request, response, url) => {
    const q = parseOrThrow(WaitQuery, query(url), 'query');
    limit(q.agent);
    const after = q.after ?? -1;
    const first = () => inboxOf(q.agent).find((m) => m.seq > after && m.ackedAt === undefined);
    const message = await new Promise<InboxMessage | undefined>((resolve) => {
      // Listen before looking, so a message that comes in between is not missed.
      const done = (found: InboxMessage | undefined) => {
        unsubscribe();
        clearTimeout(timer);
        options.stopping.removeEventListener('abort', stop);
        response.off('close', stop);
        resolve(found);
      };
      const unsubscribe = core.subscribe(q.agent, (m) => m.seq > after && done(m));
      const stop = () => done(undefined);
      const timer = setTimeout(stop, (q.timeout ?? 60) * 1_000);
      options.stopping.addEventListener('abort', stop);
      response.on('close', stop);
      const already = first();
      if (already) done(already);
    });
    if (response.destroyed) return;
    if (!message) {
      response.writeHead(204, { 'Cache-Control': 'no-store' }).end();
      return;
    }
    const view = agentMessage(message);
    if (q.seen === 'true') await core.markRead(q.agent, [message.envelope.id]);
    sendJson(response, 200, { message: view });
  };

  const one: Route = async (_request, response, url) => {
    const q = parseOrThrow(MessageQuery, query(url), 'query');
    limit(q.agent);
    const found = inboxOf(q.agent).find((m) => m.envelope.id === q.id);
    if (!found) throw new HttpError(404, `${q.agent} has no message ${q.id} here`);
    const view = agentMessage(found);
    if (q.seen === 'true' && found.ackedAt === undefined) await core.markRead(q.agent, [q.id]);
    sendJson(response, 200, { message: view });
  };

  const send: Route = async (request, response) => {
    const sendRequest = parseSendRequest(await readJsonBody(request, maxBodyBytes));
    // Agents that speak through this host only: never the person's own pages, nor a claude.ai tab.
    const device = core.status().device;
    if (!SENDER_KINDS.some((kind) => sendRequest.from.startsWith(`${kind}:${device}/`))) {
      throw new HttpError(400, `from: an agent of this host, ${SENDER_KINDS.map((kind) => `${kind}:${device}/…`).join(' or ')}; got ${JSON.stringify(sendRequest.from)}`);
    }
    limit(sendRequest.from);
    const { messageId } = await core.submit(sendRequest);
    sendJson(response, 200, { message_id: messageId });
  };

  const ack: Route = async (request, response) => {
    const body = parseOrThrow(AckBody, await readJsonBody(request, maxBodyBytes), 'ack');
    limit(body.agent);
    if (!inboxOf(body.agent).some((m) => m.envelope.id === body.message_id)) throw new HttpError(404, `${body.agent} has no message ${body.message_id} here`);
    await core.ack(body.message_id, body.agent);
    sendJson(response, 200, { acked: body.message_id });
  };

  const reply: Route = async (request, response) => {
    const body = parseOrThrow(ReplyBody, await readJsonBody(request, maxBodyBytes), 'reply');
    limit(body.agent);
    try {
      const { messageId } = await core.reply(body.agent, body.message_id, body.text);
      sendJson(response, 200, { message_id: messageId });
    } catch (error) {
      if (error instanceof NotFoundError) throw new HttpError(404, error.message);
      throw error;
    }
  };

  const present: Route = async (request, response) => {
    const body = parseOrThrow(PresentBody, await readJsonBody(request, maxBodyBytes), 'present');
    limit(body.agent);
    await core.present(body.agent);
    sendJson(response, 200, { present: body.agent });
  };

  const recovery: Route = (_request, response) => {
    sendJson(response, 200, recoveryStatus(core.directory(), core.status().hubConnected, options.usage?.report(), Date.now()));
  };

  return {
    '/agent/whoami': { GET: whoami },
    '/agent/directory': { GET: directory },
    '/agent/inbox': { GET: inbox },
    '/agent/wait': { GET: wait },
    '/agent/message': { GET: one },
    '/agent/send': { POST: send },
    '/agent/ack': { POST: ack },
    '/agent/reply': { POST: reply },
    '/agent/present': { POST: present },
    '/recovery/status': { GET: recovery },
  };
}
