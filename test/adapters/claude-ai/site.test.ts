import { describe, expect, it } from 'vitest';
import { CANDIDATES, conversationIdOf, resetTimeOf } from '../../../src/adapters/claude-ai/site';

describe('the claude.ai site adapter', () => {
  it('reads reset times the way notices give them', () => {
    const now = new Date(2026, 10, 21, 13, 5).getTime(); // 1:05 PM local
    expect(resetTimeOf('Your limit resets at 3:00 PM.', now)).toBe(new Date(2026, 10, 21, 15, 0).getTime());
    expect(resetTimeOf('5-hour limit reached ∙ resets 3pm', now)).toBe(new Date(2026, 10, 21, 15, 0).getTime());
    expect(resetTimeOf('Message limit reached until 12:30 PM', now)).toBe(new Date(2026, 10, 22, 12, 30).getTime()); // passed today: tomorrow
    expect(resetTimeOf('until 09:15', now)).toBe(new Date(2026, 10, 22, 9, 15).getTime());
    expect(resetTimeOf('Try again in 2 hours', now)).toBe(now + 2 * 3_600_000);
    expect(resetTimeOf('resets in 45 minutes', now)).toBe(now + 45 * 60_000);
    expect(resetTimeOf('You are out of messages', now)).toBeUndefined();
    expect(resetTimeOf('resets at 3', now)).toBeUndefined(); // a bare number is not a time
    expect(resetTimeOf('resets at 13:00 PM', now)).toBeUndefined();
  });

  it('knows a conversation by its /chat/<id> only', () => {
    expect(conversationIdOf('/chat/0b9c1a52-6f4e-4d8b-9b0e-3f1c2d4e5a6b')).toBe('0b9c1a52-6f4e-4d8b-9b0e-3f1c2d4e5a6b');
    expect(conversationIdOf('/new')).toBeUndefined();
    expect(conversationIdOf('/project/abc')).toBeUndefined();
    expect(conversationIdOf('/chat/')).toBeUndefined();
    expect(conversationIdOf('/chat/x/../../evil')).toBeUndefined();
  });

  it('lists candidates for every part, each part with distinct selectors', () => {
    for (const [part, selectors] of Object.entries(CANDIDATES)) {
      expect(selectors.length, part).toBeGreaterThan(0);
      expect(new Set(selectors).size, part).toBe(selectors.length);
    }
  });
});
