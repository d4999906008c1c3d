import { describe, expect, it } from 'vitest';
import { cleanMessageFilters, deliveryHistory, filterEntries, messageRows, summaryOf } from '../../../src/ui/dashboard/derive-messages';
import type { StoredEntry } from '../../../src/bus/ports';
import type { Delivery } from '../../../src/bus/delivery';

const T0 = Date.UTC(2026, 10, 21, 12);
const delivery = (messageId: string, recipient: string, state: Delivery['state'], history: Delivery['history'] = []): Delivery => ({
  messageId,
  recipient,
  state,
  priority: 2,
  attempts: 1,
  ackRequired: false,
  once: false,
  history,
});
function entry(id: string, from: string, to: string[], text: string, extra: Partial<StoredEntry['message']> = {}, states: Delivery['state'][] = ['delivered']): StoredEntry {
  return {
    message: { id, from, to, replyTo: from, threadId: extra.threadId ?? id, kind: 'note', body: { text }, priority: 'normal', ttl: 'medium', createdAt: T0, hops: 0, ackRequired: false, ...extra },
    deliveries: to.map((r, i) => delivery(id, r, states[i] ?? states[0])),
  };
}
const entries = [
  entry('m1', 'api:local/a', ['claude-code:local/s1'], 'first line\nsecond line', { kind: 'prompt', threadId: 't1' }),
  entry('m2', 'claude-code:local/s1', ['api:local/a'], 'an answer', { kind: 'reply', threadId: 't1', inReplyTo: 'm1' }, ['acked']),
  entry('m3', 'api:local/b', ['topic:x', 'api:local/c'], '<img src=x onerror=alert(1)>', {}, ['queued', 'failed']),
];

describe('message filters', () => {
  it('keeps blank fields out and refuses unknown states and kinds with the choices', () => {
    expect(cleanMessageFilters({ query: ' hello ', agent: '', threadId: 't1', state: 'acked', kind: 'reply' })).toEqual({
      filters: { query: 'hello', threadId: 't1', state: 'acked', kind: 'reply' },
      errors: {},
    });
    const bad = cleanMessageFilters({ state: 'lost', kind: 'gossip', query: 'x'.repeat(501), threadId: 't'.repeat(101) });
    expect(bad.filters).toEqual({});
    expect(bad.errors).toEqual({
      state: 'expected one of queued, sent, delivered, acked, failed, expired, rerouted',
      kind: 'expected one of prompt, reply, note, event, command, status',
      query: 'at most 500 characters',
      threadId: 'a thread id is at most 100 characters',
    });
  });

  it('narrows by agent (sender, recipient or delivery), thread, state and kind', () => {
    const ids = (filters: Parameters<typeof filterEntries>[1]) => filterEntries(entries, filters).map((e) => e.message.id);
    expect(ids({ agent: 'api:local/a' })).toEqual(['m1', 'm2']);
    expect(ids({ agent: 'api:local/c' })).toEqual(['m3']);
    expect(ids({ threadId: 't1', kind: 'reply' })).toEqual(['m2']);
    expect(ids({ state: 'failed' })).toEqual(['m3']);
    expect(ids({})).toEqual(['m1', 'm2', 'm3']);
  });

  it('leaves out what is not a stored message', () => {
    expect(filterEntries([null, { message: {} }, 4, entries[0]], {})).toEqual([entries[0]]);
    expect(filterEntries('x', {})).toEqual([]);
  });
});

describe('message rows and detail', () => {
  it('summarises each message by its first line and its recipients’ states', () => {
    const [first, , third] = messageRows(entries);
    expect(first).toMatchObject({ id: 'm1', from: 'api:local/a', to: 'claude-code:local/s1', kind: 'prompt', summary: 'first line' });
    expect(third.states).toEqual([
      { recipient: 'topic:x', state: 'queued' },
      { recipient: 'api:local/c', state: 'failed' },
    ]);
    // Text stays text: the row carries the string as it came, for Preact to render as text.
    expect(third.summary).toBe('<img src=x onerror=alert(1)>');
    expect(summaryOf('')).toBe('(no text)');
    expect(summaryOf(undefined)).toBe('(no text)');
    expect(summaryOf('x'.repeat(200), 10)).toBe('xxxxxxxxx…');
  });

  it('lists every delivery step of a message in time order', () => {
    const status = {
      message: entries[2].message,
      deliveries: [
        delivery('m3', 'api:local/c', 'failed', [
          { state: 'queued', at: T0 },
          { state: 'failed', at: T0 + 50, note: 'no such client' },
        ]),
        delivery('m3', 'topic:x', 'queued', [{ state: 'queued', at: T0 + 10 }, null as never]),
      ],
    };
    expect(deliveryHistory(status).map((r) => [r.recipient, r.state, r.at - T0, r.note])).toEqual([
      ['api:local/c', 'queued', 0, undefined],
      ['topic:x', 'queued', 10, undefined],
      ['api:local/c', 'failed', 50, 'no such client'],
    ]);
    expect(deliveryHistory(undefined)).toEqual([]);
    expect(deliveryHistory({ message: entries[0].message, deliveries: 'x' as never })).toEqual([]);
  });
});
