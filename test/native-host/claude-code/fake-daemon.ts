/**
 * For the Claude Code hook tests: a stand-in for the daemon's /hooks endpoints on 127.0.0.1 (port 0)
 * that records what the scripts post, and a way to run a script as Claude Code does.
 */
import { spawn } from 'node:child_process';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Posted {
  method: string;
  url: string;
  authorization: string | undefined;
  contentType: string | undefined;
  /** X-Switchboard-Hook-Pid: the hook process that posted */
  hookPid: string | undefined;
  body: Buffer;
}

export type Answer = (posted: Posted, response: ServerResponse) => void;

export interface FakeDaemon {
  port: number;
  posted: Posted[];
  /** what the next requests get; default 200 with `{}` */
  answer: Answer;
  /** resolves once `count` requests have arrived */
  received(count: number, timeoutMs?: number): Promise<Posted[]>;
  close(): Promise<void>;
}

export async function startFakeDaemon(answer: Answer = (_posted, response) => response.end('{}')): Promise<FakeDaemon> {
  const posted: Posted[] = [];
  const waiters: (() => void)[] = [];
  const daemon: FakeDaemon = {
    port: 0,
    posted,
    answer,
    async received(count, timeoutMs = 5_000) {
      const deadline = Date.now() + timeoutMs;
      while (posted.length < count) {
        if (Date.now() > deadline) throw new Error(`expected ${count} requests, got ${posted.length}`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 50);
        });
      }
      return posted;
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const entry: Posted = {
        method: request.method ?? '',
        url: request.url ?? '',
        authorization: request.headers.authorization,
        contentType: request.headers['content-type'],
        hookPid: request.headers['x-switchboard-hook-pid'] as string | undefined,
        body: Buffer.concat(chunks),
      };
      posted.push(entry);
      for (const wake of waiters.splice(0)) wake();
      daemon.answer(entry, response);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  daemon.port = (server.address() as AddressInfo).port;
  return daemon;
}

/** A port on 127.0.0.1 that nothing listens on (it was free a moment ago). */
export async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs `file` (or `sh -c command` with `shell`) with `input` on stdin, asynchronously (the fake daemon shares this process). */
export function run(file: string, args: string[], input: string | Buffer, options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<Run> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env: options.env ?? process.env, cwd: options.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', reject);
    child.on('close', (code) =>
      resolve({ code, stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8'), ms: Date.now() - started }),
    );
    child.stdin.on('error', () => {}); // a command that does not read its input
    child.stdin.end(input);
  });
}
