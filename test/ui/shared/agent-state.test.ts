import { describe, expect, it } from 'vitest';
import { h } from 'preact';
import { renderToString } from 'preact-render-to-string';
import { Countdown, StateBadge, formatRemaining } from '../../../src/ui/shared/agent-state';

describe('formatRemaining', () => {
  it('shows hours and minutes, minutes and seconds, or seconds', () => {
    expect(formatRemaining((72 * 60 + 30) * 1000)).toBe('1 h 12 min');
    expect(formatRemaining((4 * 60 + 5) * 1000)).toBe('4 min 05 s');
    expect(formatRemaining(12_000)).toBe('12 s');
    expect(formatRemaining(11_001)).toBe('12 s');
    expect(formatRemaining(0)).toBe('0 s');
    expect(formatRemaining(-5_000)).toBe('0 s');
    expect(formatRemaining(50 * 3600_000)).toBe('2 d 2 h');
  });
});

describe('StateBadge and Countdown', () => {
  it('says the state in words, with its colour class', () => {
    const out = renderToString(h(StateBadge, { state: 'rate-limited', detail: 'hit a rate limit' }));
    expect(out).toContain('class="badge state-rate-limited"');
    expect(out).toContain('rate-limited');
    expect(out).toContain('title="hit a rate limit"');
  });

  it('counts down to the reset', () => {
    const out = renderToString(h(Countdown, { until: Date.now() + (72 * 60 + 10) * 1000 }));
    expect(out).toContain('resets in 1 h 12 min');
    expect(renderToString(h(Countdown, { until: Date.now() - 1 }))).toContain('any moment now');
  });
});
