/**
 * `GET /stream/events`: the host's events as Server-Sent Events (issue 4), for dashboards and
 * `switchboard tail`. Each HostEvent is `event: <type>\ndata: <json>\n\n`; a comment line every
 * heartbeat keeps idle connections (and the proxies some people put in front) from timing out, and
 * lets the server notice a client that went away.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HostCore, HostEvent } from '../ports';

/** A client that reads this far behind is dropped rather than buffered without end. */
const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;

export class EventStreams {
  private readonly streams = new Map<ServerResponse, () => void>();
  private readonly heartbeat: NodeJS.Timeout;

  constructor(
    private readonly core: HostCore,
    heartbeatMs: number,
    private readonly log: (line: string) => void,
  ) {
    this.heartbeat = setInterval(() => this.writeAll(`: heartbeat ${new Date().toISOString()}\n\n`), heartbeatMs);
    this.heartbeat.unref();
  }

  get size(): number {
    return this.streams.size;
  }

  open(request: IncomingMessage, response: ServerResponse): void {
    response.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    // The first bytes go out at once, so a client knows it is subscribed before any event.
    response.write(': connected\n\n');
    const unsubscribe = this.core.onEvent((event) => this.write(response, frame(event)));
    this.streams.set(response, unsubscribe);
    const end = () => {
      unsubscribe();
      this.streams.delete(response);
    };
    request.on('close', end);
    response.on('close', end);
  }

  close(): void {
    clearInterval(this.heartbeat);
    for (const [response, unsubscribe] of this.streams) {
      unsubscribe();
      response.end();
    }
    this.streams.clear();
  }

  private writeAll(text: string): void {
    for (const response of this.streams.keys()) this.write(response, text);
  }

  private write(response: ServerResponse, text: string): void {
    if (response.writableEnded || response.destroyed) return;
    if (response.writableLength > MAX_BUFFERED_BYTES) {
      this.log('api: an event stream reads too slowly: closed');
      response.destroy();
      return;
    }
    response.write(text);
  }
}

function frame(event: HostEvent): string {
  // JSON.stringify never writes a raw newline, so one `data:` line carries the whole event.
  return `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
}
