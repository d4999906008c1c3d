/** The timeline's pieces rendered to HTML (no browser): what a screen reader and a keyboard get, and payloads as text. */
import { describe, expect, it } from 'vitest';
import { h } from 'preact';
import { renderToString } from 'preact-render-to-string';
import { EventDetails } from '../../../src/ui/dashboard/event-details';
import { TimelineLanes, eventCategory } from '../../../src/ui/dashboard/timeline-lanes';
import { buildTimeline } from '../../../src/ui/dashboard/derive-timeline';
import type { StoredHookEvent } from '../../../src/storage/events-db';

const T0 = Date.UTC(2026, 10, 21, 12);
const event = (id: string, sessionId: string, name: string, at: number, payload: Record<string, unknown> = {}): StoredHookEvent => ({
  id,
  sessionId,
  name,
  receivedAt: at,
  payload: { session_id: sessionId, hook_event_name: name, ...payload },
});
const events = [
  event('e3', 'a', 'Stop', T0 + 9_000),
  event('e2', 'a', 'PreToolUse', T0 + 5_000, { tool_name: 'Bash', tool_input: { command: 'echo "<img src=x onerror=alert(1)>"' } }),
  event('e1', 'b', 'UserPromptSubmit', T0),
];

describe('the timeline, rendered', () => {
  it('shows a payload as text: markup in it is escaped, never parsed', () => {
    const html = renderToString(h(EventDetails, { events: [], event: events[1], onPick: () => {} }));
    expect(html).toContain('&lt;img src=x onerror=alert(1)>');
    expect(html).not.toContain('<img');
    expect(html).toContain('aria-label="Payload of PreToolUse"');
    expect(html).toContain('tabindex="0"');
  });

  it('gives each lane one keyboard stop and each marker a name', () => {
    const html = renderToString(h(TimelineLanes, { timeline: buildTimeline(events, new Map()), selected: undefined, onSelect: () => {} }));
    expect(html.match(/role="group"/g)).toHaveLength(2);
    expect(html.match(/tabindex="0"/g)).toHaveLength(2);
    expect(html).toMatch(/aria-label="PreToolUse Bash at [^"]+"/);
    expect(html).toContain('aria-label="Events of a"');
  });

  it('colours markers by what happened', () => {
    expect(['PreToolUse', 'UserPromptSubmit', 'StopFailure', 'SessionEnd', 'several'].map(eventCategory)).toEqual(['tool', 'prompt', 'alert', 'session', 'several']);
  });
});
