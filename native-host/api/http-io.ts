/**
 * Reading request bodies and writing answers for the local API. Every error is JSON
 * `{"error": "<what was wrong>"}` with its status (issue 4), and no input can make the server throw.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** An answer that is not 2xx, thrown by a route and written by the server. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export function sendJson(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (response.headersSent) {
    response.end();
    return;
  }
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
    ...headers,
  });
  response.end(text);
}

export function sendError(response: ServerResponse, error: HttpError): void {
  sendJson(response, error.status, { error: error.message }, error.headers);
}

/**
 * The request body parsed as JSON. Refuses a body over `maxBytes` with 413 as soon as it is known
 * to be too large (from Content-Length, else while reading) and keeps none of it. The connection
 * stays usable: once the answer is sent, Node reads the rest of the body and throws it away. (Closing
 * instead would reset the connection with the unread bytes in it, and the client could lose the 413.)
 */
export function readJsonBody(request: IncomingMessage, maxBytes: number): Promise<unknown> {
  const tooLarge = () => new HttpError(413, `body is larger than ${maxBytes} bytes`);
  const declared = Number(request.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) return Promise.reject(tooLarge());

  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const stop = () => {
      request.off('data', onData);
      request.off('end', onEnd);
      request.off('error', onError);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        stop();
        chunks.length = 0;
        request.pause();
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      stop();
      if (size === 0) return reject(new HttpError(400, 'body is empty: expected JSON'));
      try {
        resolve(JSON.parse(Buffer.concat(chunks, size).toString('utf8')));
      } catch (error) {
        reject(new HttpError(400, `body is not valid JSON: ${(error as Error).message}`));
      }
    };
    const onError = (error: Error) => {
      stop();
      reject(new HttpError(400, `could not read the body: ${error.message}`));
    };
    request.on('data', onData);
    request.on('end', onEnd);
    request.on('error', onError);
  });
}

/**
 * Refuses a WebSocket upgrade with a JSON error. Before the upgrade the socket speaks plain HTTP,
 * so a client sees the same `{"error": …}` and status as on any other route.
 */
export function refuseUpgrade(socket: import('node:stream').Duplex, status: number, reason: string, message: string, headers: Record<string, string> = {}): void {
  const body = JSON.stringify({ error: message });
  const head = [
    `HTTP/1.1 ${status} ${reason}`,
    'Content-Type: application/json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
  ];
  socket.end(`${head.join('\r\n')}\r\n\r\n${body}`);
}
