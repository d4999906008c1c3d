import { describe, expect, it, vi } from 'vitest';
import { busFixture } from '../support/bus-fixture';
import { queryTerms, termsOf } from '../../src/bus/search-terms';

const SENDER = 'extension:local/popup';

describe('search terms', () => {
  it('folds case and accents, splits on anything but letters and digits, in any script', () => {
    expect(termsOf({ body: { text: 'Déployer le Café-bar: v2 OK! 日本語 a', code: [{ code: 'const fooBar = 1;' }] } })).toEqual([
      'deployer',
      'le',
      'cafe',
      'bar',
      'v2',
      'ok',
      '日本語',
      'const',
      'foobar',
    ]);
  });

  it('reads the last word of a query as a prefix while it is being typed', () => {
    expect(queryTerms('deploy scr')).toEqual({ whole: ['deploy'], prefix: 'scr' });
    expect(queryTerms('deploy script ')).toEqual({ whole: ['deploy', 'script'], prefix: undefined });
  });
});

describe('full-text search', () => {
  it('finds messages holding every word, newest first, through the index alone', async () => {
    const { make, db } = busFixture();
    const bus = make();
    await bus.start();
    const send = async (text: string) => (await bus.send({ from: SENDER, to: 'test:local/a', body: text })).id;
    const a = await send('Please review the deploy script');
    const b = await send('The deploy failed: see the logs');
    const c = await send('Café menu for Friday');
    await bus.settled();
    const scan = vi.spyOn(db.messages, 'toCollection');
    const ids = async (query: string) => (await bus.search(query)).map((e) => e.message.id);
    expect(await ids('deploy')).toEqual([b, a]);
    expect(await ids('deploy review')).toEqual([a]);
    expect(await ids('depl')).toEqual([b, a]);
    expect(await ids('cafe')).toEqual([c]);
    expect(await ids('CAFÉ')).toEqual([c]);
    expect(await ids('nothing here')).toEqual([]);
    expect(await ids('  ')).toEqual([]);
    expect(scan).not.toHaveBeenCalled();
    const [found] = await bus.search('menu');
    expect(found.message).not.toHaveProperty('terms');
    expect(found.deliveries).toHaveLength(1);
  });

  it('limits the results', async () => {
    const { make } = busFixture();
    const bus = make();
    await bus.start();
    for (let i = 0; i < 5; i++) await bus.send({ from: SENDER, to: 'test:local/a', body: `status report ${i}` });
    expect(await bus.search('report', 2)).toHaveLength(2);
  });
});

describe('the search indexer', () => {
  it('lets a search see a message the moment its send is accepted', async () => {
    const { make } = busFixture();
    const bus = make();
    await bus.start();
    const { id } = await bus.send({ from: SENDER, to: 'test:local/a', body: 'freshly accepted words' });
    expect((await bus.search('freshly')).map((e) => e.message.id)).toEqual([id]);
  });

  it('indexes at the next start what a stopped worker committed but did not index', async () => {
    const { make, db } = busFixture();
    const first = make();
    await first.start();
    const indexed = await first.send({ from: SENDER, to: 'test:local/a', body: 'indexed before the stop' });
    await first.search('indexed'); // flushes the indexer
    // Committed by a worker that stopped before its indexer wrote: in messages, not in searchIndex.
    const lost = { ...(await db.messages.get(indexed.id))!, id: '01ffffff-ffff-7fff-8fff-ffffffffffff', body: { text: 'committed then stopped' } };
    await db.messages.add(lost);
    expect(await db.searchIndex.get(lost.id)).toBeUndefined();

    const restarted = make();
    await restarted.start();
    expect((await restarted.search('stopped')).map((e) => e.message.id)).toEqual([lost.id]);
    expect((await restarted.search('indexed')).map((e) => e.message.id)).toEqual([indexed.id]);
  });
});
