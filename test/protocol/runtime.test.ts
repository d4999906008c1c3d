import { describe, expect, it } from 'vitest';
import { FRAME_LIMITS, frameBatcher, requestWeight } from '../../src/protocol/runtime';

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('frameBatcher', () => {
  it('carries what one task produces in one frame, and the next task in the next', async () => {
    const frames: number[][] = [];
    const post = frameBatcher<number>((items) => frames.push(items));
    post(1);
    post(2);
    post(3);
    expect(frames).toEqual([]);
    await tick();
    post(4);
    await tick();
    expect(frames).toEqual([[1, 2, 3], [4]]);
  });

  it('splits by count and by weight, never leaving an item out or reordering', async () => {
    const frames: number[][] = [];
    const post = frameBatcher<number>((items) => frames.push(items));
    for (let i = 0; i < FRAME_LIMITS.items * 2 + 5; i++) post(i);
    await tick();
    expect(frames.map((f) => f.length)).toEqual([FRAME_LIMITS.items, FRAME_LIMITS.items, 5]);
    expect(frames.flat()).toEqual(Array.from({ length: FRAME_LIMITS.items * 2 + 5 }, (_, i) => i));

    const heavy: string[][] = [];
    const postHeavy = frameBatcher<string>((items) => heavy.push(items), (item) => item.length);
    const big = 'x'.repeat(FRAME_LIMITS.weight / 2 + 1);
    postHeavy(big);
    postHeavy(big);
    postHeavy('small');
    postHeavy('x'.repeat(FRAME_LIMITS.weight * 2)); // larger than a frame: travels alone
    await tick();
    expect(heavy.map((f) => f.length)).toEqual([1, 2, 1]);
  });

  it('weighs a send by the text and data it carries', () => {
    expect(requestWeight({ request: { type: 'status', id: 'x' } })).toBe(512);
    expect(requestWeight({ request: { type: 'send', message: { body: 'hello' } } })).toBe(517);
    const body = { text: 'ab', code: [{ code: 'abc' }], attachments: [{ data: 'abcd' }, { data: 'e' }] };
    expect(requestWeight({ request: { type: 'send', message: { body } } })).toBe(512 + 2 + 3 + 5);
  });
});
