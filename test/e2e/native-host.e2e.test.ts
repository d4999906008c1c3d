/**
 * The native host for real (issue 4): the built extension in Chromium launches the shim through the
 * host manifest in its profile, the shim starts the daemon, and the test talks to the daemon's local
 * API as a bridge client would.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { launchExtension, waitFor, type ExtensionBrowser } from '../support/extension-browser';
import { installTestHost, type InstalledHost } from '../support/host-fixture';
import type { MessageStatus } from '../../src/bus/bus';
import type { StoredMessage } from '../../src/storage/db';
import { chmod, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runDoctor, type Check } from '../../native-host/doctor';
import { paths } from '../../native-host/config';

describe('the native host with a real Chromium', () => {
  let host: InstalledHost;
  let browser: ExtensionBrowser | undefined;

  const open = async () => (browser = await launchExtension({ profileDir: host.profileDir, env: host.env }));
  const connected = () => waitFor(() => browser!.hubStatus(), (s) => s.nativeHost.connected, 30_000, 'the hub to connect to the host');
  const statusOf = (id: string) => browser!.request<MessageStatus>({ type: 'status', id });
  const storedIds = async () => new Set((await browser!.readStore<StoredMessage>('messages')).map((m) => m.id));

  beforeEach(async () => {
    host = await installTestHost();
  });
  afterEach(async () => {
    await browser?.close({ keepProfile: true });
    browser = undefined;
    await host.remove();
  });

  it('commits a message posted to the API in the hub, and hands one from an extension page to a WebSocket client', async () => {
    await open();
    await connected();
    const id = await host.post({ from: 'e2e-poster', to: 'e2e-reader', type: 'request', payload: 'from the API' });
    const status = await waitFor(() => statusOf(id).catch(() => undefined), (s) => s !== undefined, 20_000, 'the message in the hub');
    expect(status!.message).toMatchObject({ from: 'api:local/e2e-poster', to: ['api:local/e2e-reader'], kind: 'prompt', body: { text: 'from the API' }, headers: { 'bridge-type': 'request' } });

    const socket = new WebSocket(`ws://127.0.0.1:${host.port}/ws/e2e-socket?token=${host.token}`);
    const frames: any[] = [];
    socket.on('message', (data) => frames.push(JSON.parse(String(data))));
    await waitFor(async () => frames, (f) => f.some((x) => x.type === 'connection_confirmed'), 10_000, 'the socket to be confirmed');

    const sent = await browser!.request<{ id: string }>({ type: 'send', message: { from: 'extension:local/popup', to: 'api:local/e2e-socket', body: 'to the socket', ackRequired: true } });
    const pushed: any = await waitFor(async () => frames.find((f) => f.type === 'message'), Boolean, 20_000, 'the message on the socket');
    expect(pushed.message).toMatchObject({ id: sent.id, from: 'extension:local/popup', to: 'e2e-socket', payload: 'to the socket', requires_ack: true });
    socket.send(JSON.stringify({ type: 'ack', message_id: sent.id }));
    await waitFor(() => statusOf(sent.id), (s) => s.deliveries[0]?.state === 'acked', 20_000, 'the ack to reach the hub');
    socket.close();
  });

  it('carries a 3 MB message from the host to the hub intact', async () => {
    await open();
    await connected();
    const payload = Array.from({ length: 3 * 1024 * 1024 }, (_, i) => String.fromCharCode(33 + (i % 90))).join('');
    const id = await host.post({ from: 'e2e-big', to: 'e2e-reader', type: 'message', payload });
    const status = await waitFor(() => statusOf(id).catch(() => undefined), (s) => s !== undefined, 30_000, 'the 3 MB message in the hub');
    const [attachment] = status!.message.body.attachments ?? [];
    expect(attachment.size).toBe(payload.length);
    expect(Buffer.from(attachment.data, 'base64').toString('utf8')).toBe(payload);
  });

  it('keeps 500 messages posted while the browser is closed, and hands every one to the hub when it starts', async () => {
    await open();
    await connected();
    await browser!.close({ keepProfile: true });
    browser = undefined;
    // The daemon outlives the browser: the API still answers.
    const ids: string[] = [];
    for (let batch = 0; batch < 500; batch += 25) {
      ids.push(...(await Promise.all(Array.from({ length: 25 }, (_, i) => host.post({ from: 'e2e-offline', to: 'e2e-reader', type: 'message', payload: `offline ${batch + i}` })))));
    }
    expect(new Set(ids).size).toBe(500);
    await open();
    const stored = await waitFor(storedIds, (s) => ids.every((id) => s.has(id)), 60_000, 'all 500 messages in the hub');
    expect(ids.filter((id) => stored.has(id))).toHaveLength(500);
    const journal = await waitFor(async () => (await (await host.api('/api/status')).json()) as any, (s) => s.journal.records === 0, 20_000, 'the journal to empty');
    expect(journal.hubConnected).toBe(true);
  });

  it('loses and duplicates nothing the API acknowledged when the daemon is killed mid-stream', async () => {
    await open();
    await connected();
    const acknowledged = new Map<string, string>(); // payload → id
    const attempted: string[] = [];
    let killed = false;
    const firstPid = host.daemonPid();
    const post = async (n: number) => {
      const payload = `stream ${n}`;
      attempted.push(payload);
      try {
        acknowledged.set(payload, await host.post({ from: 'e2e-stream', to: 'e2e-reader', type: 'message', payload }));
      } catch {
        // refused or cut off while the daemon was down: not acknowledged, so not owed
      }
    };
    for (let n = 0; n < 400; n += 8) {
      const batch = Promise.all(Array.from({ length: 8 }, (_, i) => post(n + i)));
      // SIGKILL with requests in flight: some are journaled and answered, some cut off.
      if (n === 200) {
        await new Promise((r) => setTimeout(r, 2));
        await host.killDaemon('SIGKILL');
        killed = true;
      }
      await batch;
    }
    expect(killed).toBe(true);
    // The hub's link reconnects, the browser starts a shim, the shim a new daemon; keep posting
    // until the new daemon answers, so both sides of the kill are covered.
    await waitFor(async () => host.daemonPid(), (pid) => pid !== undefined && pid !== firstPid, 30_000, 'a new daemon');
    for (let n = 600; n < 700; n += 8) await Promise.all(Array.from({ length: 8 }, (_, i) => post(n + i)));
    expect(acknowledged.size).toBeGreaterThan(300);

    const messages = await waitFor(
      async () => (await browser!.readStore<StoredMessage>('messages')).filter((m) => m.from === 'api:local/e2e-stream'),
      (all) => [...acknowledged.values()].every((id) => all.some((m) => m.id === id)),
      60_000,
      'every acknowledged message in the hub',
    );
    const texts = messages.map((m) => m.body.text);
    expect(new Set(texts).size).toBe(texts.length); // no payload twice
    for (const [payload, id] of acknowledged) expect(messages.find((m) => m.id === id)?.body.text).toBe(payload);
    // Whatever else arrived was journaled before the kill cut off its answer: posted, never invented.
    expect(texts.every((t) => attempted.includes(t))).toBe(true);
  });

  it('doctor passes a healthy install, then names each link as the test breaks it in turn', async () => {
    const doctor = async () => runDoctor({ home: host.home, userHome: join(host.home, 'no-user') });
    const broken = (checks: Check[]) => checks.filter((c) => !c.ok && !c.skipped).map((c) => c.name);
    await open();
    await connected();
    await waitFor(doctor, (checks) => broken(checks).length === 0, 20_000, 'a healthy doctor');

    // the API: the token file changed after the daemon started
    const token = paths(host.home).token;
    await writeFile(token, `${'0'.repeat(64)}\n`, { mode: 0o600 });
    let checks = await doctor();
    expect(broken(checks)).toEqual(['api']);
    expect(checks.find((c) => c.name === 'api')!.detail).toMatch(/refused the token/);
    await writeFile(token, `${host.token}\n`, { mode: 0o600 });

    // the hub: the browser is closed (the daemon outlives it)
    await browser!.close({ keepProfile: true });
    browser = undefined;
    checks = await doctor();
    expect(broken(checks)).toEqual(['hub', 'api']);
    expect(checks.find((c) => c.name === 'hub')!.detail).toBe('the daemon answers, but no browser extension is connected to it');

    // the daemon: stopped, and no browser to start it again
    await host.killDaemon();
    checks = await doctor();
    expect(broken(checks)).toEqual(['daemon']);
    expect(checks.filter((c) => c.skipped).map((c) => c.name)).toEqual(['hub', 'api']);

    // the launcher: not executable
    await chmod(paths(host.home).launcher, 0o644);
    checks = await doctor();
    expect(broken(checks)).toContain('launcher');
    expect(checks.find((c) => c.name === 'launcher')!.fix).not.toBe('');
    await chmod(paths(host.home).launcher, 0o755);

    // the manifest: gone from the profile
    await rm(join(host.profileDir, 'NativeMessagingHosts', 'dev.switchboard.host.json'));
    checks = await doctor();
    expect(broken(checks)).toContain('manifest');
    expect(checks.find((c) => c.name === 'manifest')!.fix).toMatch(/switchboard host install/);
  });
});
