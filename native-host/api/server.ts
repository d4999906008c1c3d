/**
 * The host daemon's local API (issue 4): HTTP, WebSocket and SSE on a loopback address, every
 * request authenticated with the daemon's token. It speaks the wire protocol of the multi-agent
 * bridge Switchboard replaces (bridge-wire.ts); API clients are agents `api:<device>/<client id>`.
 *
 * Routes
 *   POST /api/send            {from, to, type, payload, require_ack?} → {status:"sent", message_id}
 *   GET  /api/messages        ?to=&since=&limit= → {count, messages}
 *   WS   /ws/<client_id>      live messages and sends (bridge-socket.ts); ?since= replays the inbox
 *   GET  /api/status          the core's status, the API's clients, webhook failures
 *   GET  /stream/events       HostEvents as Server-Sent Events (event-stream.ts)
 *   GET  /health/live         200 while the process serves
 *   GET  /health/ready        200 when the hub is connected and the journal writable, else 503
 *   GET  /metrics             Prometheus text (metrics.ts)
 *   POST /hooks               a Claude Code hook event → the hook's output (claude-code/); the hook
 *                             process's id in X-Switchboard-Hook-Pid, for a copy it may spool too
 *   POST /hooks/wait          an idle session's asyncRewake hook waits for mail
 *   POST /hooks/statusline    Claude Code's status line input (rate_limits) for the usage monitor
 *   GET  /usage               the usage monitor's report: blocks, limits, alerts and their history,
 *                             the thresholds in effect, the rate-limited sessions
 *   /agent/…, /recovery/status for the MCP server and the recovery view (agent-routes.ts)
 *
 * Errors are `{"error": "<what was wrong>"}`: 400 bad input (naming the field), 401, 404, 405
 * (with Allow), 413, 426 (a plain GET to /ws/…), 429 with Retry-After, 500 when the core fails.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { BlockList, isIP, type AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { HostBusyError, type HostCore } from '../ports';
import { HostMetrics } from '../metrics';
import type { WebhookFailure } from '../webhooks';
import { newMessageId, parseOrThrow, ValidationError } from '../../src/protocol/envelope';
import { authenticate } from './auth';
import { BridgeSockets } from './bridge-socket';
import { BridgeClientId, BridgeMessagesQuery, BridgeSendBody, clientAddress, toBridgeMessage, toSendRequest } from './bridge-wire';
import { EventStreams } from './event-stream';
import { agentRoutes } from './agent-routes';
import { HttpError, readJsonBody, refuseUpgrade, sendError, sendJson } from './http-io';
import { idempotentMessageId } from './idempotency';
import { DEFAULT_RATE_LIMIT, RateLimiter } from './rate-limit';
import { HOOK_PID_HEADER, hookPid } from '../claude-code/hook-copies';

export interface ApiOptions {
  core: HostCore;
  /** the bearer token every request must carry */
  token: string;
  /** default '127.0.0.1'; anything that is not a loopback address (127.0.0.0/8, ::1) is refused */
  host?: string;
  /** default 8737; 0 = any free port (see the returned `port`) */
  port?: number;
  /** default 'local': API clients are agents `api:<device>/<client_id>` */
  device?: string;
  /** largest request body or WebSocket message; default 16 MiB; larger ones get 413 */
  maxBodyBytes?: number;
  /** per client id; default 50/s with bursts of 200; over it, 429 with Retry-After (seconds) */
  rateLimit?: { perSecond: number; burst: number };
  /** where /metrics reads from; default a HostMetrics of the API's own. It is attached to `core`. */
  metrics?: HostMetrics;
  /** WebSocket pings and SSE heartbeats; default 30_000 */
  pingIntervalMs?: number;
  /** when given, /api/status shows `webhooks.failures` */
  webhooks?: { failures(): WebhookFailure[] };
  /** default: no logging */
  log?: (line: string) => void;
  /** the rate limiter's clock, for tests; default Date.now */
  now?: () => number;
  /** the usage monitor: `POST /hooks/statusline` feeds it, `GET /usage` reports it */
  usage?: { statusLine(input: unknown): void; report(): unknown };
}

export interface RunningApi {
  port: number;
  close(): Promise<void>;
}

export const DEFAULT_API_PORT = 8737;
const DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024;

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/** Throws unless `host` is a loopback IP address: the API must never be reachable from the network. */
export function assertLoopback(host: string): void {
  const family = isIP(host);
  if (family === 0 || !LOOPBACK.check(host, family === 6 ? 'ipv6' : 'ipv4')) {
    throw new Error(
      `refusing to listen on ${JSON.stringify(host)}: the local API serves only a loopback address (127.0.0.0/8 or ::1), given as an IP address`,
    );
  }
}

type Route = (request: IncomingMessage, response: ServerResponse, url: URL) => Promise<void> | void;

export async function startApi(options: ApiOptions): Promise<RunningApi> {
  const host = options.host ?? '127.0.0.1';
  assertLoopback(host);
  if (!options.token) throw new Error('the local API needs a token');
  const { core } = options;
  const device = options.device ?? 'local';
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const pingIntervalMs = options.pingIntervalMs ?? 30_000;
  const log = options.log ?? (() => {});
  const metrics = options.metrics ?? new HostMetrics();
  const detachMetrics = metrics.attach(core);
  const limiter = new RateLimiter(options.rateLimit ?? DEFAULT_RATE_LIMIT, options.now);
  const sockets = new BridgeSockets({ core, device, limiter, maxMessageBytes: maxBodyBytes, pingIntervalMs, metrics, log });
  const streams = new EventStreams(core, pingIntervalMs, log);
  let port = 0;

  const limit = (clientId: string) => {
    const decision = limiter.take(clientId);
    if (!decision.allowed) {
      throw new HttpError(429, `rate limit exceeded for client ${clientId}: retry after ${decision.retryAfterSeconds} s`, {
        'Retry-After': String(decision.retryAfterSeconds),
      });
    }
  };

  const send: Route = async (request, response) => {
    const started = performance.now();
    const body = parseOrThrow(BridgeSendBody, await readJsonBody(request, maxBodyBytes), 'send request');
    limit(body.from);
    const key = request.headers['idempotency-key'];
    const id = typeof key === 'string' ? idempotentMessageId(body.from, key) : newMessageId();
    const sendRequest = toSendRequest(device, { from: body.from, to: body.to, type: body.type, payload: body.payload, requireAck: body.require_ack }, id);
    const { messageId } = await core.submit(sendRequest);
    metrics.observeDelivery('api_to_journal', (performance.now() - started) / 1000);
    sendJson(response, 200, { status: 'sent', message_id: messageId });
  };

  /** A Claude Code hook event (the hook script posts its stdin); answered with what the hook prints. */
  const hook: Route = async (request, response) => {
    // The hook script says which hook process sent it (a late copy it spools too is dropped) and
    // which Claude Code process ran it (the MCP server finds its session by it).
    const claudePid = Number(request.headers['x-claude-pid']);
    const answer = await core.hook(await readJsonBody(request, maxBodyBytes), undefined, {
      hookPid: hookPid(request.headers[HOOK_PID_HEADER]),
      ...(Number.isSafeInteger(claudePid) ? { claudePid } : {}),
    });
    sendJson(response, 200, answer);
  };

  /**
   * The asyncRewake hook of an idle session waits here: 200 with the text that wakes it when mail
   * comes, 204 when the wait ends without (the session ended, the daemon stops). No time limit: the
   * hook's own curl decides how long it waits.
   */
  const stopping = new AbortController();
  const hookWait: Route = async (request, response) => {
    const payload = await readJsonBody(request, maxBodyBytes);
    const gone = new AbortController();
    response.on('close', () => gone.abort());
    stopping.signal.addEventListener('abort', () => gone.abort());
    const text = await core.waitForMail(payload, gone.signal);
    if (response.destroyed) return;
    if (text === undefined) {
      response.writeHead(204).end();
      return;
    }
    response.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' }).end(text);
  };

  const messages: Route = (_request, response, url) => {
    const query = parseOrThrow(BridgeMessagesQuery, queryOf(url), 'query');
    limit(query.to);
    const found = core.messagesFor(clientAddress(device, query.to), query.since ?? 0, query.limit);
    sendJson(response, 200, { count: found.length, messages: found.map((message) => toBridgeMessage(device, message)) });
  };

  const status: Route = (_request, response) => {
    sendJson(response, 200, {
      ...core.status(),
      api: { port, clients: sockets.connectedClients(), websockets: sockets.size, eventStreams: streams.size },
      ...(options.webhooks ? { webhooks: { failures: options.webhooks.failures() } } : {}),
    });
  };

  const ready: Route = (_request, response) => {
    const facts = core.status();
    const notReady = [
      ...(facts.hubConnected ? [] : ['hub not connected']),
      ...(facts.journal.writable ? [] : ['journal not writable']),
    ];
    if (notReady.length === 0) return sendJson(response, 200, { ok: true });
    sendJson(response, 503, { ok: false, error: `not ready: ${notReady.join(', ')}`, notReady });
  };

  const metricsText: Route = async (_request, response) => {
    const text = await metrics.render();
    response.writeHead(200, { 'Content-Type': metrics.contentType, 'Cache-Control': 'no-store' });
    response.end(text);
  };

  const routes: Record<string, Partial<Record<string, Route>>> = {
    '/api/send': { POST: send },
    '/hooks': { POST: hook },
    '/hooks/wait': { POST: hookWait },
    // Claude Code's status line input (its rate_limits win over estimates); best effort, never an error for the hook.
    '/hooks/statusline': {
      POST: async (request, response) => {
        options.usage?.statusLine(await readJsonBody(request, maxBodyBytes));
        response.writeHead(204).end();
      },
    },
    '/usage': { GET: (_request, response) => sendJson(response, options.usage ? 200 : 404, options.usage ? options.usage.report() : { error: 'no usage monitor' }) },
    '/api/messages': { GET: messages },
    '/api/status': { GET: status },
    '/stream/events': { GET: (request, response) => streams.open(request, response) },
    '/health/live': { GET: (_request, response) => sendJson(response, 200, { ok: true }) },
    '/health/ready': { GET: ready },
    '/metrics': { GET: metricsText },
    ...agentRoutes({ core, maxBodyBytes, limit, stopping: stopping.signal, usage: options.usage }),
  };

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    // A target URL cannot parse (`//`, `/\\`): answered, never thrown — it comes before the token check.
    const url = targetOf(request);
    if (!url) return sendJson(response, 400, { error: `not a request target: ${JSON.stringify(request.url)}` });
    try {
      const auth = authenticate(request, url, options.token);
      if (!auth.ok) throw new HttpError(401, auth.error, { 'WWW-Authenticate': 'Bearer' });
      if (url.pathname.startsWith('/ws/')) throw new HttpError(426, 'this route is a WebSocket: send an Upgrade request', { Upgrade: 'websocket' });
      const methods = routes[url.pathname];
      if (!methods) throw new HttpError(404, `no route ${url.pathname}`);
      const route = methods[request.method ?? ''];
      if (!route) {
        const allowed = Object.keys(methods).join(', ');
        throw new HttpError(405, `${request.method} is not allowed on ${url.pathname}: use ${allowed}`, { Allow: allowed });
      }
      await route(request, response, url);
    } catch (error) {
      if (error instanceof HttpError) {
        if (error.status >= 500) log(`api: ${request.method} ${url.pathname}: ${error.message}`);
        return sendError(response, error);
      }
      if (error instanceof ValidationError) return sendJson(response, 400, { error: error.message });
      if (error instanceof HostBusyError) return sendJson(response, 503, { error: error.message }, { 'Retry-After': String(error.retryAfterSeconds) });
      log(`api: ${request.method} ${url.pathname}: ${(error as Error).stack ?? error}`);
      sendJson(response, 500, { error: `the host could not do that: ${(error as Error).message}` });
    }
  };

  const upgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => {}); // a client that resets during the handshake must not crash the daemon
    const url = targetOf(request);
    if (!url) return refuseUpgrade(socket, 400, 'Bad Request', `not a request target: ${JSON.stringify(request.url)}`);
    const auth = authenticate(request, url, options.token);
    if (!auth.ok) return refuseUpgrade(socket, 401, 'Unauthorized', auth.error, { 'WWW-Authenticate': 'Bearer' });
    const match = /^\/ws\/([^/]+)$/.exec(url.pathname);
    if (!match) return refuseUpgrade(socket, 404, 'Not Found', `no WebSocket route ${url.pathname}: use /ws/<client_id>`);
    try {
      const clientId = parseOrThrow(BridgeClientId, decodeURIComponent(match[1]), 'client id');
      const since = url.searchParams.has('since')
        ? parseOrThrow(BridgeMessagesQuery, { to: clientId, since: url.searchParams.get('since') }, 'query').since
        : undefined;
      const decision = limiter.take(clientId);
      if (!decision.allowed) {
        return refuseUpgrade(socket, 429, 'Too Many Requests', `rate limit exceeded for client ${clientId}: retry after ${decision.retryAfterSeconds} s`, {
          'Retry-After': String(decision.retryAfterSeconds),
        });
      }
      sockets.accept(request, socket, head, clientId, since);
    } catch (error) {
      const message = error instanceof ValidationError ? error.message : `bad WebSocket request: ${(error as Error).message}`;
      refuseUpgrade(socket, 400, 'Bad Request', message);
    }
  };

  const server = createServer((request, response) =>
    handle(request, response).catch((error) => log(`api: ${request.method} ${request.url}: ${(error as Error).stack ?? error}`)),
  );
  server.on('upgrade', upgrade);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? DEFAULT_API_PORT, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  port = (server.address() as AddressInfo).port;
  server.on('error', (error) => log(`api: server error: ${error.message}`));
  log(`api: listening on http://${host.includes(':') ? `[${host}]` : host}:${port}`);

  let closing: Promise<void> | undefined;
  return {
    port,
    close() {
      closing ??= (async () => {
        stopping.abort(); // waiting hooks are answered 204 (no mail) before the server goes
        detachMetrics();
        streams.close();
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        await sockets.close();
        server.closeAllConnections();
        await closed;
      })();
      return closing;
    },
  };
}

/** The query without the token, which is authentication, not a parameter of the route. */
function queryOf(url: URL): Record<string, string> {
  const query = Object.fromEntries(url.searchParams);
  delete query.token;
  return query;
}

/** The request's URL, or undefined when its target does not parse as one. */
function targetOf(request: IncomingMessage): URL | undefined {
  try {
    return new URL(request.url ?? '/', 'http://localhost');
  } catch {
    return undefined;
  }
}
