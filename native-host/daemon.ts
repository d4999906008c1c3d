/**
 * The host daemon: one per user, long-lived, started by the first shim that finds none (or by
 * `switchboard daemon`). It outlives the browser, so what arrives while the browser is closed waits
 * in the journal (issue 4).
 *
 * Only one daemon may own a home: two would write the same journal. The socket is the lock: a
 * daemon that finds another answering on it leaves quietly; one that finds a dead socket file
 * (its owner crashed) takes it over — and only then opens the journals. (Two daemons starting in
 * the same instant over a dead socket could both take it; the browser starts one shim at a time.)
 */
import { mkdir, writeFile, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { ensureHome, loadConfig, paths, pricesFilePath, type HostConfig } from './config';
import { Journal } from './journal';
import { Inbox } from './inbox';
import { Host } from './host';
import { HostMetrics } from './metrics';
import { startApi } from './api/server';
import { Webhooks, WebhookConfig } from './webhooks';
import { changeSettings, settingsOf } from './settings';
import { listenForShims } from './shim-listener';
import { encodeFrame } from './frames';
import type { InboundRecord } from '../src/protocol/native';
import { parseOrThrow, ValidationError } from '../src/protocol/envelope';
import { drainSpool, RejectedPayload } from './claude-code/spool';
import { UsageMonitor } from './claude-code/usage-monitor';
import { SessionResumer } from './claude-code/resume';
import { HookCopies } from './claude-code/hook-copies';
import { join } from 'node:path';
import { z } from 'zod';

export { HOST_VERSION } from './version';
import { HOST_VERSION } from './version';
const SPOOL_DRAIN_MS = 5_000;
const USAGE_REFRESH_MS = 60_000;

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
  // Claim the socket before the journals are even opened: opening one may truncate a torn tail,
  // which must never happen under a daemon that is already writing it.
  let hostReady!: { resolve: (host: Host) => void; reject: (error: Error) => void };
  const ready = new Promise<Host>((resolve, reject) => (hostReady = { resolve, reject }));
  ready.catch(() => {});
  let apiPort = 0;
  const shims = await listenForShims({ path: files.socket, host: ready, allowed: config.extensions, apiPort: () => apiPort, log });

  const opened: { close(): Promise<void> }[] = [];
  let host: Host;
  let api: Awaited<ReturnType<typeof startApi>>;
  let inbox: Inbox;
  let journal: Journal<InboundRecord>;
  let metrics: HostMetrics;
  let webhooks: Webhooks;
  let usage: UsageMonitor;
  const hookCopies = new HookCopies();
  const hookCopiesFile = join(files.journal, 'hook-copies.json');
  try {
    await mkdir(files.journal, { recursive: true, mode: 0o700 });
    const onWarning = (text: string) => log(`warning: ${text}`);
    journal = await Journal.open<InboundRecord>({
      dir: files.journal,
      name: 'inbound',
      groupCommitMs: config.journal.groupCommitMs,
      compactAfterBytes: config.journal.compactAfterBytes,
      onWarning,
    });
    opened.push(journal);
    inbox = await Inbox.open({ dir: files.journal, retentionMs: config.inbox.retentionHours * 3_600_000, onWarning });
    opened.push(inbox);
    metrics = new HostMetrics();
    usage = await UsageMonitor.open({
      home,
      log,
      thresholds: config.claudeCode.alerts,
      pricesFile: pricesFilePath(home, config),
      onAlert: (alert) => void host.alert(alert.severity, alert.text).catch((error) => log(`could not raise an alert: ${error.message}`)),
      // A rate-limited session: its deliveries wait in the hub until the reset (or a probe gets through).
      onHold: (hold) =>
        void host
          .holdAgent({ address: `claude-code:${config.device}/${hold.sessionId}`, strategy: hold.strategy, reason: hold.reason, ...(hold.until !== undefined ? { until: hold.until } : {}) })
          .catch((error: Error) => log(`could not hold the rate-limited session ${hold.sessionId}: ${error.message}`)),
    });
    const monitor = usage;
    let current = config;
    await hookCopies.load(hookCopiesFile, (line) => log(`warning: ${line}`));
    const resumer = new SessionResumer({
      enabled: config.claudeCode.resumeExited,
      command: config.claudeCode.command,
      logDir: join(home, 'logs'),
      log,
      stillWaiting: (sessionId) => inbox.list(`claude-code:${config.device}/${sessionId}`, 0, 1_000).some((m) => !m.ackedAt),
    });
    host = new Host({
      journal,
      inbox,
      version: HOST_VERSION,
      device: config.device,
      maxJournalBytes: config.journal.maxBytes,
      answersFile: join(files.journal, 'awaiting-answers.json'),
      directoryFile: join(files.journal, 'hub-directory.json'),
      log,
      hookCopies,
      onEndedSessionMail: (sessionId, project) => resumer.resume(sessionId, project),
      // The dashboard's editors: config.json changes, and the running monitor and webhooks with it.
      settings: {
        read: () => settingsOf(current),
        change: async (change) => {
          const { config: next, settings } = await changeSettings(home, change);
          current = next;
          monitor.setThresholds(settings.thresholds);
          webhooks.setHooks(settings.webhooks);
          log('settings changed from the dashboard: usage alert thresholds and webhooks');
          return settings;
        },
      },
      onHook: (payload, receivedAt) => {
        monitor.hook(payload, receivedAt);
        resumer.track(payload.session_id, payload.cwd);
        // A turn's usage is in its transcript once it ends.
        if (payload.hook_event_name === 'Stop' || payload.hook_event_name === 'StopFailure' || payload.hook_event_name === 'SessionEnd') {
          void monitor
            .refresh()
            .then(() => host.publishUsage(monitor.report()))
            .catch((error) => log(`usage refresh failed: ${error.message}`));
        }
      },
    });
    const hooks = parseOrThrow(z.array(WebhookConfig), config.webhooks, 'webhooks in config.json');
    webhooks = new Webhooks({ hooks, failuresFile: `${home}/webhook-failures.jsonl`, onFailure: () => metrics.webhookFailure() });
    opened.push(webhooks);
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
      usage: { statusLine: (input) => usage.statusLine(input), report: () => usage.report() },
      log,
    }).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'EADDRINUSE') throw error;
      throw new Error(`the API port ${config.api.port} is taken by another program (or a daemon of another home): set api.port in ${files.config}`);
    });
    apiPort = api.port;
  } catch (error) {
    hostReady.reject(error as Error);
    await shims.close();
    for (const part of opened.reverse()) await part.close().catch(() => {});
    throw error;
  }
  const detachMetrics = metrics.attach(host);
  const detachWebhooks = webhooks.attach(host);
  hostReady.resolve(host);
  await writeFile(files.pid, `${process.pid}\n`, { mode: 0o600 });

  // Hook events spooled while no daemon answered: taken now, and every few seconds (a hook that
  // timed out under load spools too).
  const spool = join(home, 'spool');
  const saveHookCopies = () => hookCopies.save(hookCopiesFile).catch((error: Error) => log(`warning: could not save ${hookCopiesFile}: ${error.message}`));
  const drain = () =>
    drainSpool(
      spool,
      async (payload, receivedAt, pid) => {
        try {
          await host.hook(payload, receivedAt, { hookPid: pid });
        } catch (error) {
          if (error instanceof ValidationError) throw new RejectedPayload(error.message);
          throw error;
        }
      },
      { warn: (line) => log(`warning: ${line}`) },
    )
      .catch((error: Error) => log(`spool drain failed: ${error.message}`))
      // What was taken is remembered across a restart, so a copy spooled meanwhile is still known.
      .then(() => saveHookCopies());
  void drain();
  const draining = setInterval(() => void drain(), SPOOL_DRAIN_MS);
  draining.unref();

  // Each refresh also hands the report to the hub (the dashboard's charts), when it changed.
  const refreshUsage = () =>
    usage
      .refresh()
      .then(() => host.publishUsage(usage.report()))
      .catch((error: Error) => log(`usage refresh failed: ${error.message}`));
  void refreshUsage();
  const usageTimer = setInterval(() => void refreshUsage(), USAGE_REFRESH_MS);
  usageTimer.unref();

  const pruning = setInterval(() => void inbox.prune(Date.now()).catch((error) => log(`inbox prune failed: ${error.message}`)), 3_600_000);
  pruning.unref();
  log(`daemon ${HOST_VERSION} started: API on http://${config.api.host}:${api.port}, socket ${files.socket}, ${journal.size.records} journal records waiting for the hub`);

  return {
    apiPort: api.port,
    host,
    async stop() {
      clearInterval(pruning);
      clearInterval(draining);
      clearInterval(usageTimer);
      detachWebhooks();
      detachMetrics();
      // Notifications still being retried are kept as failures, not dropped.
      await webhooks.close();
      await shims.close();
      await api.close();
      await saveHookCopies();
      await usage.settled();
      await Promise.all([journal.close(), inbox.close()]);
      await rm(files.pid, { force: true });
    },
  };
}
