/**
 * The shim as the browser runs it: the built `shim.mjs` as a child process, stdio as the native
 * messaging channel, the test playing the browser. (`npm test` and `npm run test:host` build it.)
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeFrame, FrameReader } from '../../native-host/frames';
import { paths } from '../../native-host/config';
import { daemonAnswers } from '../../native-host/daemon';
import { EXTENSION_ID } from '../../src/extension-identity';
import { envelopeFor } from '../support/envelopes';

const DIST = resolve(import.meta.dirname, '../../dist/native-host');

class BrowserSide {
  readonly frames: any[] = [];
  readonly exited: Promise<number | null>;
  stderr = '';
  constructor(readonly child: ChildProcessWithoutNullStreams) {
    const reader = new FrameReader();
    child.stdout.on('data', (chunk) => reader.push(chunk, (frame) => this.frames.push(frame)));
    child.stderr.on('data', (chunk) => (this.stderr += chunk));
    this.exited = new Promise((r) => child.on('exit', (code) => r(code)));
  }
  async next(match: (frame: any) => boolean, timeoutMs = 10_000) {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const found = this.frames.find(match);
      if (found) return found;
      if (Date.now() > end) throw new Error(`no such frame from the shim; got ${JSON.stringify(this.frames).slice(0, 300)}; stderr: ${this.stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

describe('the shim', () => {
  let home: string;
  const launch = (...args: string[]) =>
    new BrowserSide(spawn(process.execPath, [join(home, 'host', 'shim.mjs'), ...args], { env: { ...process.env, SWITCHBOARD_HOME: home } }));
  const stopDaemon = async () => {
    const pid = Number(readFileSync(paths(home).pid, 'utf8'));
    process.kill(pid, 'SIGTERM');
    for (let i = 0; i < 100 && (await daemonAnswers(paths(home).socket, 200)); i++) await new Promise((r) => setTimeout(r, 50));
  };

  beforeEach(async () => {
    if (!existsSync(join(DIST, 'shim.mjs'))) throw new Error('the host is not built: run `npm run build:host`');
    home = await mkdtemp(join(tmpdir(), 'sb-shim-'));
    await cp(DIST, join(home, 'host'), { recursive: true });
    const { writeFile } = await import('node:fs/promises');
    await writeFile(join(home, 'config.json'), JSON.stringify({ api: { port: 0 } }));
  });
  afterEach(async () => {
    if (existsSync(paths(home).pid)) await stopDaemon().catch(() => {});
    await rm(home, { recursive: true, force: true });
  });

  it('starts the daemon, carries frames both ways, and leaves the daemon running when the browser goes', async () => {
    expect(await daemonAnswers(paths(home).socket)).toBe(false);
    const browser = launch(`chrome-extension://${EXTENSION_ID}/`);
    expect(await browser.next((f) => f.type === 'hello')).toMatchObject({ type: 'hello', device: 'local' });
    // a frame from the browser reaches the daemon: a deliver is answered
    const envelope = envelopeFor({ from: 'claude-code:local/s1', to: ['api:local/bot'], body: { text: 'through the shim' } });
    browser.child.stdin.write(encodeFrame({ type: 'deliver', id: 'd1', recipient: 'api:local/bot', envelope }));
    expect(await browser.next((f) => f.type === 'accepted')).toEqual({ type: 'accepted', id: 'd1' });
    browser.child.stdin.end(); // the browser closes the port
    expect(await browser.exited).toBe(0);
    expect(await daemonAnswers(paths(home).socket)).toBe(true);
  });

  it('tells an extension that is not ours why it is refused', async () => {
    const browser = launch('chrome-extension://abcdefghijklmnopabcdefghijklmnop/');
    expect(await browser.next((f) => f.type === 'error')).toEqual({
      type: 'error',
      error: 'the calling extension is not allowed (chrome-extension://abcdefghijklmnopabcdefghijklmnop/)',
    });
    expect(await browser.exited).toBe(0);
  });

  it('a frame with a wrong length ends that connection with the reason; the daemon keeps serving', async () => {
    const browser = launch(`chrome-extension://${EXTENSION_ID}/`);
    await browser.next((f) => f.type === 'hello');
    const wrong = Buffer.alloc(8);
    wrong.writeUInt32LE(0x7fffffff, 0);
    browser.child.stdin.write(wrong);
    expect((await browser.next((f) => f.type === 'error')).error).toMatch(/^frame of 2147483647 bytes is over the limit of \d+/);
    expect(await browser.exited).toBe(0);
    expect(await daemonAnswers(paths(home).socket)).toBe(true);
    const again = launch(`chrome-extension://${EXTENSION_ID}/`);
    await again.next((f) => f.type === 'hello');
    again.child.stdin.end();
  });
});
