/**
 * Issue 3: the browser is closed while 200 messages are pending — some held, some waiting for a
 * retry — and started again on the same profile. All are delivered exactly once, in order per
 * destination, and the holds are still honoured.
 */
import { afterEach, expect, it } from 'vitest';
import { launchExtension, waitFor, type ExtensionBrowser } from '../support/extension-browser';
import type { Delivery } from '../../src/bus/delivery';
import type { SinkEffect } from '../../src/storage/db';
import type { SendRequest } from '../../src/protocol/envelope';

const FROM = 'extension:local/diagnostics';
const PAUSED = 'test:local/paused'; // session_pause until a time after the restart
const HELD = 'test:local/held'; // held until released by hand
let open: ExtensionBrowser[] = [];
afterEach(async () => {
  await Promise.all(open.map((b) => b.close()));
  open = [];
});

it('delivers 200 pending messages exactly once, in order per destination, after a browser restart, holds honoured', { timeout: 180_000 }, async () => {
  const first = await launchExtension();
  open.push(first);
  // Far enough ahead that the restart and every retry finish first, even on a slow machine.
  const resumeAt = Date.now() + 25_000;
  await first.page.evaluate(
    ({ paused, held, resumeAt }) =>
      Promise.all([
        window.switchboard.hold({ address: paused, strategy: 'session_pause', reason: 'usage limit', until: resumeAt }),
        window.switchboard.hold({ address: held, strategy: 'session_pause', reason: 'until told', until: resumeAt + 3_600_000 }),
      ]),
    { paused: PAUSED, held: HELD, resumeAt },
  );
  // 50 each to the two held destinations; 100 to 50 destinations (2 each) that fail twice first.
  const messages: SendRequest[] = Array.from({ length: 200 }, (_, i) => ({
    from: FROM,
    to: i % 4 === 0 ? PAUSED : i % 4 === 1 ? HELD : `test:local/fail-2.q${Math.floor(i / 4) % 50}`,
    body: `message ${i}`,
  }));
  // One task: ids are made on the page in this order, so id order is send order.
  const ids = await first.page.evaluate((list) => Promise.all(list.map((m) => window.switchboard.send(m as never).then((r) => r.id))), messages);

  const pending = await first.readStore<Delivery>('deliveries');
  expect(pending).toHaveLength(200);
  expect(pending.filter((d) => d.state === 'queued' || d.state === 'sent')).toHaveLength(200);
  await first.close({ keepProfile: true });
  open = [];

  const second = await launchExtension({ profileDir: first.profileDir });
  open.push(second);
  // The retries go through; the held ones do not.
  const effects = () => second.readStore<SinkEffect>('sinkEffects');
  await waitFor(effects, (e) => e.filter((x) => x.recipient.includes('fail-2')).length === 100, 60_000, 'the retried messages');
  expect(Date.now()).toBeLessThan(resumeAt);
  expect((await effects()).filter((e) => e.recipient === PAUSED || e.recipient === HELD)).toEqual([]);

  // The pause ends by itself at its time; the other hold only when released.
  await waitFor(effects, (e) => e.filter((x) => x.recipient === PAUSED).length === 50, 60_000, 'the paused destination to resume');
  expect(Date.now()).toBeGreaterThanOrEqual(resumeAt);
  expect((await effects()).filter((e) => e.recipient === HELD)).toEqual([]);
  await second.page.evaluate((held) => window.switchboard.release(held), HELD);
  const all = await waitFor(effects, (e) => e.length === 200, 60_000, 'the released destination');

  // Exactly once each.
  const count = new Map<string, number>();
  for (const e of all) count.set(e.messageId, (count.get(e.messageId) ?? 0) + 1);
  expect(ids.every((id) => count.get(id) === 1)).toBe(true);
  // In order per destination: effects were applied (seq) in send (id) order.
  const byDestination = new Map<string, SinkEffect[]>();
  for (const e of all) byDestination.set(e.recipient, [...(byDestination.get(e.recipient) ?? []), e]);
  for (const [recipient, list] of byDestination) {
    const applied = [...list].sort((a, b) => a.seq! - b.seq!).map((e) => e.messageId);
    expect(applied, recipient).toEqual([...applied].sort());
  }
  const status = await second.hubStatus();
  expect(status.deliveries).toMatchObject({ queued: 0, sent: 0, delivered: 200, failed: 0, expired: 0 });
});
