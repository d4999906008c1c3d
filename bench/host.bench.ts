/**
 * `npm run bench:host` — the native host (issue 4), three figures:
 *
 * 1. Ingest: 16 concurrent API clients POST /api/send for a fixed time against the daemon (journal
 *    durable: each answer waits for its fsync), and the same clients against a bare Node HTTP server
 *    that reads the body and answers 200, in the same run, alternating. Target: ≥ half its rate.
 * 2. Round trip API → hub → WebSocket client, in a real Chromium with the built extension: one
 *    client posts to another that listens on /ws, at a steady rate; p50/p99 of the whole trip and of
 *    each hop (API answer = journaled; host → hub committed; hub delivered to the host; host → socket).
 *    Target: p50 < 10 ms, p99 < 30 ms.
 * 3. Daemon memory (RSS) at rest, and its peak while ingesting.
 *
 * Both servers run as their own processes (the daemon from the bundle, as installed), so the
 * clients here do not share their event loop.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Agent, request } from 'node:http';
import WebSocket from 'ws';
import { launchExtension, waitFor } from '../test/support/extension-browser';
import { freePort, installTestHost, HOST_DIST } from '../test/support/host-fixture';
import { machineDescription, percentile, median, fmt } from './lib';
import type { MessageStatus } from '../src/bus/bus';

const CLIENTS = 16;
const INGEST_SECONDS = Number(process.env.INGEST_SECONDS ?? 5);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const TRIPS = Number(process.env.TRIPS ?? 400);
const TRIP_RATE = 50; // per second
// The limiter is not what is measured: lift it for the clients of this run.
const UNLIMITED = { rateLimit: { perSecond: 100_000, burst: 100_000 } };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** CPU time a process has used, in µs (user + system, from /proc; 10 ms ticks). */
function cpuOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

function rssOf(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
  return Number(line?.split(/\s+/)[1] ?? 0) * 1024;
}

async function waitForHttp(url: string, headers: Record<string, string> = {}) {
  for (let i = 0; i < 200; i++) {
    try {
      await fetch(url, { headers });
      return;
    } catch {
      await sleep(50);
    }
  }
  throw new Error(`${url} did not answer`);
}

/** One POST on a kept-alive connection (node:http costs the client less than fetch, so the servers are what is measured). */
function postOnce(agent: Agent, url: URL, headers: Record<string, string>, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * 16 clients, each posting one request after another for `seconds`; returns requests per second and
 * the server's CPU per request (µs) — the second holds still on a busy machine when the first does not.
 */
async function ingest(url: string, headers: Record<string, string>, seconds: number, serverPid: number, onTick?: () => void) {
  const cpuBefore = cpuOf(serverPid);
  const end = performance.now() + seconds * 1_000;
  let done = 0;
  let failed = 0;
  const tick = setInterval(() => onTick?.(), 100);
  const agent = new Agent({ keepAlive: true, maxSockets: CLIENTS });
  const target = new URL(url);
  await Promise.all(
    Array.from({ length: CLIENTS }, async (_, client) => {
      const body = JSON.stringify({ from: `bench-${client}`, to: 'bench-sink', type: 'message', payload: `a message of about a hundred characters from client ${client}, to be journaled` });
      while (performance.now() < end) {
        if ((await postOnce(agent, target, headers, body)) === 200) done++;
        else failed++;
      }
    }),
  );
  agent.destroy();
  clearInterval(tick);
  if (failed) throw new Error(`${failed} requests failed`);
  return { rate: done / seconds, cpuPerRequest: (cpuOf(serverPid) - cpuBefore) / done };
}

function bareServer(port: number): ChildProcess {
  const source = `require('node:http').createServer((q, s) => { q.on('data', () => {}); q.on('end', () => { s.writeHead(200, {'content-type':'application/json'}); s.end('{"status":"sent"}'); }); }).listen(${port}, '127.0.0.1');`;
  return spawn(process.execPath, ['-e', source], { stdio: 'inherit' });
}

async function ingestFigures() {
  const home = await mkdtemp(join(tmpdir(), 'sb-bench-home-'));
  const port = await freePort();
  await writeFile(join(home, 'config.json'), JSON.stringify({ api: { port, ...UNLIMITED } }));
  const daemon = spawn(process.execPath, [join(HOST_DIST, 'daemon.mjs')], { env: { ...process.env, SWITCHBOARD_HOME: home }, stdio: ['ignore', 'ignore', 'inherit'] });
  const barePort = await freePort();
  const bare = bareServer(barePort);
  try {
    const token = await (async () => {
      for (let i = 0; i < 100; i++) {
        try {
          return readFileSync(join(home, 'token'), 'utf8').trim();
        } catch {
          await sleep(50);
        }
      }
      throw new Error('the daemon made no token');
    })();
    const auth = { authorization: `Bearer ${token}` };
    await waitForHttp(`http://127.0.0.1:${port}/health/live`, auth);
    await waitForHttp(`http://127.0.0.1:${barePort}/`);
    await sleep(1_000);
    const rssAtRest = rssOf(daemon.pid!);
    let rssPeak = rssAtRest;
    // Warm-up: both servers' code compiled and their sockets open before anything is counted.
    await ingest(`http://127.0.0.1:${barePort}/api/send`, {}, 1, bare.pid!);
    await ingest(`http://127.0.0.1:${port}/api/send`, auth, 1, daemon.pid!);
    const rounds = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const bareRun = await ingest(`http://127.0.0.1:${barePort}/api/send`, {}, INGEST_SECONDS, bare.pid!);
      const hostRun = await ingest(`http://127.0.0.1:${port}/api/send`, auth, INGEST_SECONDS, daemon.pid!, () => (rssPeak = Math.max(rssPeak, rssOf(daemon.pid!))));
      const [hostRate, bareRate] = [hostRun.rate, bareRun.rate];
      rounds.push({ round, hostRate, bareRate, ratio: hostRate / bareRate, hostCpuUs: hostRun.cpuPerRequest, bareCpuUs: bareRun.cpuPerRequest });
      console.log(
        `ingest round ${round}: daemon ${fmt(hostRate)}/s (${fmt(hostRun.cpuPerRequest)} µs CPU a request), bare server ${fmt(bareRate)}/s (${fmt(bareRun.cpuPerRequest)} µs), ratio ${fmt(hostRate / bareRate, 2)}`,
      );
    }
    const status = (await (await fetch(`http://127.0.0.1:${port}/api/status`, { headers: auth })).json()) as { journal: { records: number; bytes: number } };
    return { rounds, rssAtRest, rssPeak, journal: status.journal };
  } finally {
    daemon.kill('SIGTERM');
    bare.kill('SIGTERM');
    await sleep(300);
    await rm(home, { recursive: true, force: true });
  }
}

async function roundTrips() {
  const host = await installTestHost();
  await writeFile(join(host.home, 'config.json'), JSON.stringify({ api: { port: host.port, ...UNLIMITED } }));
  const browser = await launchExtension({ profileDir: host.profileDir, env: host.env });
  try {
    await waitFor(() => browser.hubStatus(), (s) => s.nativeHost.connected, 30_000, 'the hub to connect to the host');
    const socket = new WebSocket(`ws://127.0.0.1:${host.port}/ws/bench-listener?token=${host.token}`);
    const arrived = new Map<string, number>();
    /** when the host's inbox took each message (the bridge message's timestamp) */
    const inboxAt = new Map<string, number>();
    socket.on('message', (data) => {
      const at = Date.now();
      const frame = JSON.parse(String(data));
      if (frame.type !== 'message') return;
      arrived.set(frame.message.id, at);
      inboxAt.set(frame.message.id, Date.parse(frame.message.timestamp));
    });
    await new Promise((r) => socket.once('open', r));
    await sleep(500);
    const trips: { id: string; postedAt: number; answeredAt: number }[] = [];
    const post = async () => {
      const postedAt = Date.now();
      const id = await host.post({ from: 'bench-sender', to: 'bench-listener', type: 'message', payload: 'ping' });
      trips.push({ id, postedAt, answeredAt: Date.now() });
    };
    // warm-up
    for (let i = 0; i < 20; i++) await post();
    trips.length = 0;
    const start = Date.now();
    const pending: Promise<void>[] = [];
    for (let i = 0; i < TRIPS; i++) {
      const due = start + (i * 1_000) / TRIP_RATE;
      if (due > Date.now()) await sleep(due - Date.now());
      pending.push(post());
    }
    await Promise.all(pending);
    await waitFor(async () => trips.filter((t) => arrived.has(t.id)).length, (n) => n === trips.length, 60_000, 'every message on the socket');
    socket.close();
    // Hub-side times from the hub's own record of each message.
    const rows: { total: number; apiJournaled: number; hostToHub: number; hubToHostInbox: number; inboxToSocket: number }[] = [];
    for (const trip of trips) {
      const status = await browser.request<MessageStatus>({ type: 'status', id: trip.id });
      const delivery = status.deliveries[0];
      const queuedAt = delivery.history.find((h) => h.state === 'queued')!.at;
      const arrivedAt = arrived.get(trip.id)!;
      const tookAt = inboxAt.get(trip.id)!;
      rows.push({
        total: arrivedAt - trip.postedAt,
        apiJournaled: trip.answeredAt - trip.postedAt,
        hostToHub: queuedAt - status.message.createdAt,
        hubToHostInbox: tookAt - queuedAt,
        inboxToSocket: arrivedAt - tookAt,
      });
    }
    const stat = (key: keyof (typeof rows)[number]) => ({ p50: median(rows.map((r) => r[key])), p99: percentile(rows.map((r) => r[key]), 99) });
    return {
      trips: rows.length,
      total: stat('total'),
      hops: { apiJournaled: stat('apiJournaled'), hostToHub: stat('hostToHub'), hubToHostInbox: stat('hubToHostInbox'), inboxToSocket: stat('inboxToSocket') },
    };
  } finally {
    await browser.close();
    await host.remove();
  }
}

const machine = machineDescription();
console.log(`machine: ${machine}`);
const ingestResult = await ingestFigures();
const trips = await roundTrips();
const ratios = ingestResult.rounds.map((r) => r.ratio);
console.log(`ingest: daemon/bare median ratio ${fmt(median(ratios), 2)} (target ≥ 0.5)`);
console.log(`daemon RSS at rest ${fmt(ingestResult.rssAtRest / 2 ** 20, 1)} MiB, peak under load ${fmt(ingestResult.rssPeak / 2 ** 20, 1)} MiB`);
console.log(`round trip API → hub → WebSocket (${trips.trips} at ${TRIP_RATE}/s): p50 ${fmt(trips.total.p50, 1)} ms, p99 ${fmt(trips.total.p99, 1)} ms (targets 10 / 30)`);
for (const [hop, s] of Object.entries(trips.hops)) console.log(`  ${hop}: p50 ${fmt(s.p50, 1)} ms, p99 ${fmt(s.p99, 1)} ms`);
const out = resolve(import.meta.dirname, 'results');
mkdirSync(out, { recursive: true });
writeFileSync(join(out, 'host-latest.json'), JSON.stringify({ machine, date: new Date().toISOString(), ingest: ingestResult, trips }, null, 2));
process.exit(0);
