/**
 * The backstop for the bus's in-worker timers: one alarm at the next due time, so a stopped worker
 * is started again when something is due. Chrome fires alarms no sooner than 30 s in a packed
 * extension (ARCHITECTURE.md), so short waits still run on the worker's own timers.
 */
import { browser } from 'wxt/browser';

export const DUE_ALARM = 'switchboard/due';

export function alarmBackstop(): (at: number | undefined) => void {
  let armedFor: number | undefined;
  return (at) => {
    if (at === armedFor) return;
    armedFor = at;
    if (at === undefined) void browser.alarms.clear(DUE_ALARM);
    else void browser.alarms.create(DUE_ALARM, { when: Math.max(at, Date.now() + 1_000) });
  };
}
