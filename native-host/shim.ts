/**
 * The native-messaging host the browser launches (`dev.switchboard.host`). It stays small and
 * dumb: it connects to the long-lived daemon's socket — starting the daemon when none answers — says
 * who called it, and then copies bytes both ways. The browser and the socket speak the same framing
 * (4-byte length + JSON), so no frame is parsed here; the daemon splits frames for the browser's
 * 1 MB limit. stdout is the protocol: every word for a person goes to stderr (ARCHITECTURE.md).
 */
import { spawn } from 'node:child_process';
import { openSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { encodeFrame } from './frames';
import { defaultHome, ensureHome, paths } from './config';

const CONNECT_ATTEMPTS = 50;
const CONNECT_PAUSE_MS = 100;

function tryConnect(path: string): Promise<Socket | undefined> {
  return new Promise((resolve) => {
    const socket = connect(path);
    socket.once('connect', () => resolve(socket));
    socket.once('error', () => resolve(undefined));
  });
}

/** Starts the daemon in the background, detached from the browser, so it outlives it. */
function startDaemon(home: string): void {
  const files = paths(home);
  const log = openSync(files.log, 'a');
  const daemon = join(dirname(process.argv[1] ?? ''), 'daemon.mjs');
  const child = spawn(process.execPath, [daemon], {
    detached: true,
    stdio: ['ignore', log, log],
    env: { ...process.env, SWITCHBOARD_HOME: home },
  });
  child.unref();
}

async function main(): Promise<void> {
  const home = defaultHome();
  ensureHome(home);
  const socketPath = paths(home).socket;
  let socket = await tryConnect(socketPath);
  if (!socket) {
    startDaemon(home);
    for (let i = 0; i < CONNECT_ATTEMPTS && !socket; i++) {
      await new Promise((resolve) => setTimeout(resolve, CONNECT_PAUSE_MS));
      socket = await tryConnect(socketPath);
    }
  }
  if (!socket) {
    const error = `Switchboard: the host daemon did not start; see ${paths(home).log}`;
    process.stderr.write(`${error}\n`);
    process.stdout.write(encodeFrame({ type: 'error', error }));
    process.exitCode = 1;
    return;
  }
  socket.write(encodeFrame({ type: 'shim', args: process.argv.slice(2) }));
  process.stdin.pipe(socket);
  socket.pipe(process.stdout);
  // Either side going away ends the shim: the browser closed the port, or the daemon stopped (the
  // extension then reconnects, which starts a new daemon).
  process.stdin.on('end', () => socket.end());
  socket.on('close', () => process.exit(0));
  socket.on('error', (error) => {
    process.stderr.write(`Switchboard: the daemon's socket failed: ${error.message}\n`);
    process.exit(1);
  });
}

void main();
