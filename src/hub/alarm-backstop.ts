/**
 * The backstop for the bus's in-worker timers: one alarm at the next due time, so a stopped worker
 * is started again when something is due. Chrome fires alarms no sooner than 30 s in a packed
 * extension (ARCHITECTURE.md), so short waits still run on the worker's own timers.
 */
import { browser } from 'wxt/browser';

export const DUE_ALARM = 'switchboard/due';

export function alarmBackstop(now = () => Date.now()): (at: number | undefined) => void {
  let armedFor: number | undefined;
  return (at) => {
    if (at === undefined) {
      if (armedFor !== undefined) void browser.alarms.clear(DUE_ALARM);
      armedFor = undefined;
      return;
    }
    // An alarm that fires early costs one wake-up that finds nothing due and re-arms; re-arming on
    // every change would cost a browser call per message. So move it only to an earlier time, or
    // when the armed one has already fired.
    if (armedFor !== undefined && armedFor <= at && armedFor > now()) return;
    armedFor = Math.max(at, now() + 1_000);
    void browser.alarms.create(DUE_ALARM, { when: armedFor });
  };
}
