/**
 * `WS /ws/<client_id>`: a bridge client connected live (issue 4). The server sends
 * `{type:"connection_confirmed"}`, pushes `{type:"message", message}` for each message to the
 * client, pings, and answers the client's `send`, `ack` and `ping`; errors come as
 * `{type:"error", error}` and the socket stays open.
 *
 * Messages that came while the client was away: connect with `?since=<ISO time>` and they are
 * pushed first, oldest first, before anything new (the bridge's clients poll `/api/messages` for
 * the same thing; a client that gives no `since` gets only what arrives from now on, as with the
 * bridge). The inbox keeps them either way.
 *
 * Liveness: every `pingIntervalMs` each socket gets a WebSocket ping frame (browsers and `ws`
 * answer it by themselves) and a JSON `{type:"ping"}` for clients written against the bridge; a
 * socket that answered no ping frame and sent nothing since the last round is dropped.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import type { HostCore, InboxMessage } from '../ports';
import type { HostMetrics } from '../metrics';
import { newMessageId, parseOrThrow, ValidationError } from '../../src/protocol/envelope';
import { BridgeSocketFrame, clientAddress, toBridgeMessage, toSendRequest } from './bridge-wire';
import type { RateLimiter } from './rate-limit';

export interface BridgeSocketOptions {
  core: HostCore;
  device: string;
  limiter: RateLimiter;
  maxMessageBytes: number;
  pingIntervalMs: number;
  metrics?: HostMetrics;
  log: (line: string) => void;
}

/** A client that reads this far behind is dropped; its messages wait in the inbox for `?since=`. */
const MAX_BUFFERED_BYTES = 64 * 1024 * 1024;
/** Messages pushed on connect for `?since=`, at most; older ones are read with `/api/messages`. */
const MAX_BACKLOG = 10_000;

interface Client {
  id: string;
  alive: boolean;
  /** the client's frames, answered one at a time so `sent` answers come in the order of the sends */
  work: Promise<void>;
  stop: () => void;
}

export class BridgeSockets {
  private readonly server: WebSocketServer;
  private readonly clients = new Map<WebSocket, Client>();
  private readonly pinger: NodeJS.Timeout;

  constructor(private readonly options: BridgeSocketOptions) {
    this.server = new WebSocketServer({ noServer: true, maxPayload: options.maxMessageBytes });
    this.pinger = setInterval(() => this.pingAll(), options.pingIntervalMs);
    this.pinger.unref();
  }

  /** Client ids connected now, each once. */
  connectedClients(): string[] {
    return [...new Set([...this.clients.values()].map((client) => client.id))].sort();
  }

  get size(): number {
    return this.clients.size;
  }

  /** Takes over an authenticated upgrade request for `clientId`. */
  accept(request: IncomingMessage, socket: Duplex, head: Buffer, clientId: string, since: number | undefined): void {
    this.server.handleUpgrade(request, socket, head, (ws) => {
      this.connected(ws, clientId, since).catch((error: Error) => {
        this.options.log(`api: ws ${clientId}: ${error.message}`);
        ws.close(1011, 'host error');
      });
    });
  }

  async close(): Promise<void> {
    clearInterval(this.pinger);
    const closed = [...this.clients].map(([ws, client]) => {
      client.stop();
      ws.close(1001, 'host shutting down');
      return new Promise((resolve) => ws.once('close', resolve));
    });
    // Sockets that do not finish the closing handshake promptly are cut.
    if (closed.length > 0) await Promise.race([Promise.all(closed), new Promise((resolve) => setTimeout(resolve, 500).unref())]);
    for (const ws of this.clients.keys()) ws.terminate();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async connected(ws: WebSocket, clientId: string, since: number | undefined): Promise<void> {
    const { core, device } = this.options;
    const address = clientAddress(device, clientId);
    let lastSeq = -1;
    const push = (message: InboxMessage) => {
      if (message.seq <= lastSeq || ws.readyState !== WebSocket.OPEN) return;
      lastSeq = message.seq;
      this.send(ws, { type: 'message', message: toBridgeMessage(device, message) });
      this.options.metrics?.observeDelivery('hub_to_client', (Date.now() - message.receivedAt) / 1000);
    };
    // Subscribe before anything else so nothing falls between the backlog and live pushes;
    // live messages wait until the backlog is out.
    let waiting: InboxMessage[] | undefined = [];
    const unsubscribe = core.subscribe(address, (message) => (waiting ? waiting.push(message) : push(message)));
    const client: Client = { id: clientId, alive: true, work: Promise.resolve(), stop: unsubscribe };
    this.clients.set(ws, client);
    this.options.metrics?.setWsClients(this.clients.size);

    ws.on('pong', () => (client.alive = true));
    ws.on('message', (data, isBinary) => {
      client.alive = true;
      client.work = client.work.then(() => this.answer(ws, client, data, isBinary));
    });
    ws.on('close', () => {
      unsubscribe();
      this.clients.delete(ws);
      this.options.metrics?.setWsClients(this.clients.size);
    });
    ws.on('error', (error) => this.options.log(`api: ws ${clientId}: ${error.message}`));

    await core.present(address);
    this.send(ws, { type: 'connection_confirmed', client_id: clientId, timestamp: new Date().toISOString() });
    if (since !== undefined) for (const message of this.backlog(address, since)) push(message);
    const live = waiting;
    waiting = undefined;
    for (const message of live) push(message);
  }

  /** Inbox messages after `since`, oldest first, read in pages. */
  private *backlog(address: string, since: number): Generator<InboxMessage> {
    const page = 1_000;
    let cursor = since;
    let count = 0;
    while (count < MAX_BACKLOG) {
      const messages = this.options.core.messagesFor(address, cursor, page);
      yield* messages;
      count += messages.length;
      if (messages.length < page) return;
      const last = messages[messages.length - 1].receivedAt;
      // Messages received in the same millisecond as the last of a page are read again (and skipped
      // by seq) rather than lost; a page that does not move forward ends the backlog.
      if (last - 1 <= cursor) return;
      cursor = last - 1;
    }
  }

  private async answer(ws: WebSocket, client: Client, data: RawData, isBinary: boolean): Promise<void> {
    try {
      if (isBinary) throw new ValidationError('frame', [{ field: '', problem: 'expected a JSON text frame, got binary' }]);
      let json: unknown;
      try {
        json = JSON.parse(rawText(data));
      } catch (error) {
        throw new ValidationError('frame', [{ field: '', problem: `not valid JSON: ${(error as Error).message}` }]);
      }
      const frame = parseOrThrow(BridgeSocketFrame, json, 'frame');
      const { core, device, limiter } = this.options;
      switch (frame.type) {
        case 'ping':
          return this.send(ws, { type: 'pong', timestamp: new Date().toISOString() });
        case 'pong':
          return;
        case 'ack':
          await core.ack(frame.message_id, clientAddress(device, client.id));
          return this.send(ws, { type: 'acked', message_id: frame.message_id });
        case 'send': {
          const decision = limiter.take(client.id);
          if (!decision.allowed) {
            return this.send(ws, {
              type: 'error',
              error: `rate limit exceeded for client ${client.id}: retry after ${decision.retryAfterSeconds} s`,
              retry_after: decision.retryAfterSeconds,
            });
          }
          const started = performance.now();
          const request = toSendRequest(
            device,
            { from: client.id, to: frame.to, type: frame.msg_type, payload: frame.payload, requireAck: frame.require_ack },
            newMessageId(),
          );
          const { messageId } = await core.submit(request);
          this.options.metrics?.observeDelivery('api_to_journal', (performance.now() - started) / 1000);
          return this.send(ws, { type: 'sent', message_id: messageId });
        }
      }
    } catch (error) {
      if (!(error instanceof ValidationError)) this.options.log(`api: ws ${client.id}: ${(error as Error).message}`);
      const message = error instanceof ValidationError ? error.message : `could not do that: ${(error as Error).message}`;
      this.send(ws, { type: 'error', error: message });
    }
  }

  private send(ws: WebSocket, frame: unknown): void {
    if (ws.readyState !== WebSocket.OPEN) return;
    if (ws.bufferedAmount > MAX_BUFFERED_BYTES) {
      this.options.log(`api: ws ${this.clients.get(ws)?.id}: dropped, reading too slowly`);
      ws.terminate();
      return;
    }
    ws.send(JSON.stringify(frame));
  }

  private pingAll(): void {
    const ping = JSON.stringify({ type: 'ping', timestamp: new Date().toISOString() });
    for (const [ws, client] of this.clients) {
      if (!client.alive) {
        this.options.log(`api: ws ${client.id}: no answer to the last ping, dropped`);
        ws.terminate();
        continue;
      }
      client.alive = false;
      ws.ping();
      if (ws.readyState === WebSocket.OPEN) ws.send(ping);
    }
  }
}

function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data as ArrayBuffer).toString('utf8');
}
