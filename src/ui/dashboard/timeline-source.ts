/**
 * How the timeline gets its events from the hub ('events': newest first, paged by the oldest id
 * seen): the whole history once (up to a cap), then on each reload only what is newer than what the
 * page has. A page whose answer is too large for a port message (big tool outputs) is asked again
 * in smaller pieces.
 */
import type { StoredHookEvent } from '../../storage/events-db';
import type { EventsPage } from './dashboard-hub';
import { mergeEvents } from './derive-timeline';

export type AskEvents = (page: EventsPage) => Promise<StoredHookEvent[]>;

/** The most events the page keeps (the hub keeps a week). */
export const EVENTS_CAP = 20_000;
/** Events per request when loading the history. */
export const HISTORY_PAGE = 2_000;
/** Events per request when looking for new ones. */
export const NEWEST_PAGE = 50;

/** One page; a page too large to send is asked for in quarters, down to one event. */
async function page(ask: AskEvents, limit: number, before: string | undefined): Promise<{ events: StoredHookEvent[]; limit: number }> {
  try {
    return { events: await ask({ limit, ...(before ? { before } : {}) }), limit };
  } catch (error) {
    if (limit <= 1 || !/too large/i.test((error as Error).message)) throw error;
    return page(ask, Math.max(1, Math.floor(limit / 4)), before);
  }
}

/**
 * `known` with what the hub has that is newer (all of its history when `known` is empty), newest
 * first; `known` itself when nothing is new.
 */
export async function loadEvents(ask: AskEvents, known: StoredHookEvent[], cap = EVENTS_CAP): Promise<StoredHookEvent[]> {
  const ids = new Set(known.map((e) => e.id));
  let size = known.length ? NEWEST_PAGE : HISTORY_PAGE;
  const fetched: StoredHookEvent[] = [];
  let before: string | undefined;
  for (;;) {
    const { events: got, limit } = await page(ask, size, before);
    fetched.push(...got);
    size = limit; // the next page as small as the one that could be sent
    // Done when the hub has no more, a page reached what the page knows, or the cap is met.
    if (!got.length || got.length < limit || got.some((e) => ids.has(e.id)) || fetched.length >= cap) break;
    before = got[got.length - 1].id;
  }
  return mergeEvents(known, fetched, cap);
}
