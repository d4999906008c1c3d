import { beforeEach, describe, expect, it } from 'vitest';
import { fakeBrowser } from 'wxt/testing';
import { alarmBackstop, DUE_ALARM } from '../../src/hub/alarm-backstop';

describe('the alarm backstop', () => {
  let now = 1_000_000;
  beforeEach(() => {
    fakeBrowser.reset();
    now = 1_000_000;
  });
  const scheduled = async () => (await fakeBrowser.alarms.get(DUE_ALARM))?.scheduledTime;

  it('arms at the due time, never sooner than a second from now', async () => {
    const arm = alarmBackstop(() => now);
    arm(now + 5_000);
    expect(await scheduled()).toBe(now + 5_000);
    const soon = alarmBackstop(() => now);
    fakeBrowser.reset();
    soon(now - 10);
    expect(await scheduled()).toBe(now + 1_000);
  });

  it('moves only to an earlier time while the armed one has not fired', async () => {
    const arm = alarmBackstop(() => now);
    arm(now + 5_000);
    arm(now + 9_000); // later: an early wake-up re-arms, so leave it
    expect(await scheduled()).toBe(now + 5_000);
    arm(now + 2_000);
    expect(await scheduled()).toBe(now + 2_000);
    now += 3_000; // the armed alarm has fired
    arm(now + 9_000);
    expect(await scheduled()).toBe(now + 9_000);
  });

  it('clears the alarm when nothing is due', async () => {
    const arm = alarmBackstop(() => now);
    arm(now + 5_000);
    arm(undefined);
    expect(await scheduled()).toBeUndefined();
  });
});
