/**
 * The daemon's Unix socket (a named pipe on Windows). Two kinds of caller open it, and the first
 * frame says which:
 *   {type:'shim', args}  a shim the browser launched; `args` are the shim's command line, where the
 *                        browser names the calling extension. Only our extension is let through; the
 *                        connection then carries hub frames both ways until either side closes.
 *   {type:'ping'}        `doctor` or the CLI asking whether the daemon lives: answered with
 *                        {type:'pong', ...status} and closed.
 * A connection that breaks the framing or says anything else is told why and closed; the daemon
 * goes on serving the others.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { rm } from 'node:fs/promises';
import { z } from 'zod';
import { Reassembler, splitFrame } from '../src/protocol/chunking';
import type { HostFrame } from '../src/protocol/native';
import { readFrames } from './frames';
import type { Host, HubConnection } from './host';

const Opening = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('shim'), args: z.array(z.string()).max(10) }),
  z.strictObject({ type: z.literal('ping') }),
]);

export interface AllowedCallers {
  /** Chrome, Chromium, Edge, Brave, Vivaldi: extension ids, passed as `chrome-extension://<id>/` */
  chrome: string[];
  /** Firefox: add-on ids, passed as the second argument */
  firefox: string[];
}

/** Which allowed extension the shim's command line names, or undefined when none does. */
export function callerOf(args: string[], allowed: AllowedCallers): string | undefined {
  const origin = args.find((arg) => arg.startsWith('chrome-extension://'));
  if (origin) return allowed.chrome.find((id) => origin === `chrome-extension://${id}/`);
  // Firefox passes the path of the host's manifest, then the calling add-on's id.
  return allowed.firefox.find((id) => args.includes(id));
}

export interface ShimListenerOptions {
  path: string;
  /**
   * The core, once it is ready: the socket is claimed before the journals are opened (it is the
   * daemon's lock), and connections that come meanwhile wait.
   */
  host: Promise<Host>;
  allowed: AllowedCallers;
  /** the local API's port, told to `ping` callers (with a configured port of 0, only the daemon knows it) */
  apiPort: () => number;
  log: (line: string) => void;
}

/** Frames for the browser are sent as one or more native messages of at most 1 MB each. Returns the bytes written. */
function writeJson(socket: Socket, json: string): number {
  let bytes = 0;
  for (const piece of splitFrame(json)) {
    const body = Buffer.from(piece, 'utf8');
    const header = Buffer.allocUnsafe(4);
    header.writeUInt32LE(body.length, 0);
    socket.write(Buffer.concat([header, body]));
    bytes += 4 + body.length;
  }
  return bytes;
}

export interface ShimListener {
  /** Stops listening and closes every connection. */
  close(): Promise<void>;
}

export async function listenForShims({ path, host: ready, allowed, apiPort, log }: ShimListenerOptions): Promise<ShimListener> {
  const open = new Set<Socket>();
  const server: Server = createServer((socket) => {
    open.add(socket);
    socket.on('close', () => open.delete(socket));
    socket.pause();
    ready.then(
      (host) => {
        socket.resume();
        serve(host, socket);
      },
      () => socket.destroy(),
    );
  });

  function serve(host: Host, socket: Socket): void {
    let connection: HubConnection | undefined;
    const reassembler = new Reassembler();
    const refuse = (error: string) => {
      log(`refused a connection on the socket: ${error}`);
      writeJson(socket, JSON.stringify({ type: 'error', error }));
      socket.end();
    };
    socket.on('error', (error) => log(`socket connection failed: ${error.message}`));
    socket.on('close', () => connection && host.detachHub(connection));
    readFrames(
      socket,
      {},
      (value) => {
        if (connection) {
          const frame = reassembler.push(value);
          if (frame !== undefined) void host.receive(connection, frame).catch((error) => log(`a hub frame failed: ${error.message}`));
          return;
        }
        const opening = Opening.safeParse(value);
        if (!opening.success) return refuse('the first frame must be {"type":"shim","args":[…]} or {"type":"ping"}');
        if (opening.data.type === 'ping') {
          writeJson(socket, JSON.stringify({ type: 'pong', ...host.status(), apiPort: apiPort() }));
          socket.end();
          return;
        }
        const caller = callerOf(opening.data.args, allowed);
        if (!caller) return refuse(`the calling extension is not allowed (${opening.data.args.join(' ') || 'no origin given'})`);
        const hub: HubConnection = {
          send: (frame: HostFrame) => (socket.destroyed ? 0 : writeJson(socket, JSON.stringify(frame))),
          close: (reason) => {
            writeJson(socket, JSON.stringify({ type: 'error', error: reason }));
            socket.end();
          },
        };
        connection = hub;
        log(`the extension ${caller} connected`);
        host.attachHub(hub);
      },
      (error) => {
        log(`closing a socket connection: ${error.message}`);
        if (!socket.destroyed) refuse(error.message);
      },
    );
  }

  if (process.platform !== 'win32') await rm(path, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of open) socket.destroy();
      }),
  };
}
