/**
 * The host daemon: one per user, long-lived, started by the first shim that finds none (or by
 * `switchboard daemon`). It outlives the browser, so what arrives while the browser is closed waits
 * in the journal (issue 4).
 *
 * Only one daemon may own a home: two would write the same journal. The API's TCP port is the lock
 * — the kernel frees it the moment its owner dies, which a lock file cannot promise — and the socket
 * is claimed only after it. A second daemon finds the port taken and a live daemon on the socket,
 * and leaves quietly.
 */
import { mkdir, writeFile, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { ensureHome, loadConfig, paths, type HostConfig } from './config';
import { Journal } from './journal';
import { Inbox } from './inbox';
import { Host } from './host';
import { HostMetrics } from './metrics';
import { startApi } from './api/server';
import { Webhooks, WebhookConfig } from './webhooks';
import { listenForShims } from './shim-listener';
import { encodeFrame } from './frames';
import type { InboundRecord } from '../src/protocol/native';
import { parseOrThrow } from '../src/protocol/envelope';
import { z } from 'zod';

export const HOST_VERSION = '0.1.0';

export interface RunningDaemon {
  apiPort: number;
  host: Host;
  stop(): Promise<void>;
}

/** Thrown when another daemon already serves this home. */
export class AlreadyRunning extends Error {
  constructor(socket: string) {
    super(`a Switchboard daemon already answers on ${socket}`);
    this.name = 'AlreadyRunning';
  }
}

/** Whether a daemon answers `ping` on the socket. */
export function daemonAnswers(socketPath: string, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(socketPath);
    const done = (answer: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answer);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once('connect', () => socket.write(encodeFrame({ type: 'ping' })));
    socket.once('data', () => done(true));
    socket.once('error', () => done(false));
  });
}

export async function startDaemon(options: { home: string; config?: HostConfig; log?: (line: string) => void }): Promise<RunningDaemon> {
  const { home } = options;
  const log = options.log ?? ((line: string) => process.stderr.write(`${new Date().toISOString()} ${line}\n`));
  const report = ensureHome(home);
  for (const line of [...report.fixed, ...report.warnings]) log(line);
  const config = options.config ?? loadConfig(home);
  const files = paths(home);

  if (await daemonAnswers(files.socket)) throw new AlreadyRunning(files.socket);

  await mkdir(files.journal, { recursive: true, mode: 0o700 });
  const onWarning = (text: string) => log(`warning: ${text}`);
  const journal = await Journal.open<InboundRecord>({
    dir: files.journal,
    name: 'inbound',
    groupCommitMs: config.journal.groupCommitMs,
    compactAfterBytes: config.journal.compactAfterBytes,
    onWarning,
  });
  const inbox = await Inbox.open({ dir: files.journal, retentionMs: config.inbox.retentionHours * 3_600_000, onWarning });
  const metrics = new HostMetrics();
  const host = new Host({ journal, inbox, version: HOST_VERSION, device: config.device, log });
  const detachMetrics = metrics.attach(host);
  const hooks = parseOrThrow(z.array(WebhookConfig), config.webhooks, 'webhooks in config.json');
  const webhooks = new Webhooks({ hooks, failuresFile: `${home}/webhook-failures.jsonl`, onFailure: () => metrics.webhookFailure() });
  const detachWebhooks = webhooks.attach(host);

  // The port first: it is the lock (see above). A port of 0 (tests) takes no lock.
  let api: Awaited<ReturnType<typeof startApi>>;
  try {
    api = await startApi({
      core: host,
      token: report.token,
      host: config.api.host,
      port: config.api.port,
      device: config.device,
      maxBodyBytes: config.api.maxBodyBytes,
      rateLimit: config.api.rateLimit,
      metrics,
      webhooks,
      log,
    });
  } catch (error) {
    await Promise.all([journal.close(), inbox.close()]);
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE' && (await daemonAnswers(files.socket))) throw new AlreadyRunning(files.socket);
    throw error;
  }
  const shims = await listenForShims({ path: files.socket, host, allowed: config.extensions, apiPort: api.port, log });
  await writeFile(files.pid, `${process.pid}\n`, { mode: 0o600 });

  const pruning = setInterval(() => void inbox.prune(Date.now()).catch((error) => log(`inbox prune failed: ${error.message}`)), 3_600_000);
  pruning.unref();
  log(`daemon ${HOST_VERSION} started: API on http://${config.api.host}:${api.port}, socket ${files.socket}, ${journal.size.records} journal records waiting for the hub`);

  return {
    apiPort: api.port,
    host,
    async stop() {
      clearInterval(pruning);
      detachWebhooks();
      detachMetrics();
      // Notifications still being retried are kept as failures, not dropped.
      await webhooks.close();
      await shims.close();
      await api.close();
      await Promise.all([journal.close(), inbox.close()]);
      await rm(files.pid, { force: true });
    },
  };
}
