import { describe, expect, it } from 'vitest';
import { GroupCommitter } from '../../src/bus/group-commit';

/** A commit that the test finishes by hand, and records the order things happen in. */
function manual() {
  const log: string[] = [];
  const open: { items: number[]; finish: () => void; fail: (e: Error) => void }[] = [];
  const commit = async (items: number[], turn: Promise<void>) => {
    log.push(`begin ${items.join(',')}`);
    await new Promise<void>((resolve, reject) => open.push({ items, finish: resolve, fail: reject }));
    await turn;
    log.push(`end ${items.join(',')}`);
    return items.map((i) => i * 10);
  };
  return { log, open, commit };
}
const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

/** Submits each item in a task of its own, so that each becomes a batch; resolves with their results. */
async function submitApart(committer: GroupCommitter<number, number>, ...items: number[]): Promise<Promise<number>[]> {
  const results: Promise<number>[] = [];
  for (const item of items) {
    results.push(committer.submit(item));
    results.at(-1)!.catch(() => {}); // a test awaits each itself
    await tick();
  }
  return results;
}

describe('group commit', () => {
  it('commits what arrives together in one batch, and what arrives during a commit in the next', async () => {
    const { log, open, commit } = manual();
    const committer = new GroupCommitter(commit);
    const first = [committer.submit(1), committer.submit(2)];
    await tick();
    const later = committer.submit(3);
    await tick();
    expect(log).toEqual(['begin 1,2']);
    expect(committer.queued).toBe(1);
    expect(committer.pending).toBe(3);
    open[0].finish();
    expect(await Promise.all(first)).toEqual([10, 20]);
    await tick();
    expect(log).toEqual(['begin 1,2', 'end 1,2', 'begin 3']);
    open[1].finish();
    expect(await later).toBe(30);
    await committer.flushed();
    expect(committer.pending).toBe(0);
  });

  it('with overlap, begins the next batch while one commits, and finishes them in order', async () => {
    const { log, open, commit } = manual();
    const committer = new GroupCommitter(commit, 2);
    const [a, b, c] = await submitApart(committer, 1, 2, 3);
    // Two running at once; the third waits for one of them.
    expect(log).toEqual(['begin 1', 'begin 2']);
    expect(committer.queued).toBe(1);
    // The second batch's writes finish first: it still ends after the first.
    open[1].finish();
    await tick();
    expect(log).toEqual(['begin 1', 'begin 2']);
    open[0].finish();
    expect(await Promise.all([a, b])).toEqual([10, 20]);
    expect(log.filter((entry) => entry.startsWith('end'))).toEqual(['end 1', 'end 2']);
    await tick();
    expect(log).toContain('begin 3'); // begun once the first had finished
    open[2].finish();
    expect(await c).toBe(30);
  });

  it('rejects only the batch that failed; the next one still takes its turn', async () => {
    const { log, open, commit } = manual();
    const committer = new GroupCommitter(commit, 2);
    const [a, b] = await submitApart(committer, 1, 2);
    open[0].fail(new Error('disk full'));
    open[1].finish();
    await expect(a).rejects.toThrow('disk full');
    expect(await b).toBe(20);
    expect(log).toEqual(['begin 1', 'begin 2', 'end 2']);
  });

  it('flushed() waits for every commit running or about to begin', async () => {
    const { open, commit } = manual();
    const committer = new GroupCommitter(commit, 2);
    void committer.submit(1);
    let flushed = false;
    const waiting = committer.flushed().then(() => (flushed = true));
    await tick();
    expect(flushed).toBe(false);
    open[0].finish();
    await waiting;
    expect(committer.pending).toBe(0);
  });
});
