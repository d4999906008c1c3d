/**
 * Everything Switchboard knows about claude.ai's page, in one versioned place (issue 6, STYLE.md).
 * The site changes without notice, so each part of the page is found through candidates in order —
 * the first is what the site used when this version was written, the others what it used before or
 * what a redesign would most likely keep — and a self-check on load names what was not found
 * ("adapter broken: …") instead of typing into a page nobody understands.
 *
 * Sources: ARCHITECTURE.md ("claude.ai"), and what maintained extensions targeted in 2025–26.
 * When claude.ai changes: add the new selector first, keep the old ones, bump SITE_ADAPTER_VERSION,
 * and give the fixture (test/support/claude-site/) a variant for it.
 */

export const SITE_ADAPTER_VERSION = 'claude.ai/2026-11.1';

/** The parts of the page the adapter uses, each with its candidate selectors, most current first. */
export const CANDIDATES = {
  /** the ProseMirror prompt editor */
  composer: [
    'div[aria-label="Write your prompt to Claude"] div.ProseMirror[contenteditable="true"]',
    'div.ProseMirror[contenteditable="true"]',
    'fieldset div[contenteditable="true"][role="textbox"]',
  ],
  /** sends the prompt; disabled while the editor is empty */
  send: ['button[aria-label="Send message"]', 'button[aria-label="Send Message"]', 'fieldset button[type="submit"]'],
  /** shown only while an answer streams */
  stop: ['button[aria-label="Stop response"]', 'button[aria-label="Stop Response"]'],
  /** one per turn the person (or Switchboard) sent */
  userMessage: ['[data-testid="user-message"]', '.font-user-message'],
  /** one per answer */
  answer: ['.font-claude-response', '.font-claude-message'],
  /** the composer's file input */
  fileInput: ['input[data-testid="file-upload"]', 'fieldset input[type="file"]'],
  /** the model picker in the composer */
  modelPicker: ['button[data-testid="model-selector-dropdown"]', 'button[aria-label="Select model"]'],
  /** an artifact's card inside an answer */
  artifact: ['[data-testid="artifact-block"]', '.artifact-block-cell'],
} as const satisfies Record<string, readonly string[]>;

export type Part = keyof typeof CANDIDATES;

/** Parts that every conversation page has; the self-check requires them. */
const REQUIRED_ON_COMPOSER_PAGE: Part[] = ['composer', 'send', 'fileInput'];

/** The streaming marker on an answer's container while it is written. */
const STREAMING = '[data-is-streaming]';

export interface Found<E extends Element = Element> {
  element: E;
  /** which candidate matched: 0 is the current one, higher a fallback */
  candidate: number;
}

/** The first candidate of `part` that matches in `root`. */
export function find<E extends Element = HTMLElement>(root: ParentNode, part: Part): Found<E> | undefined {
  const candidates = CANDIDATES[part];
  for (let candidate = 0; candidate < candidates.length; candidate++) {
    const element = root.querySelector<E & Element>(candidates[candidate]);
    if (element) return { element, candidate };
  }
  return undefined;
}

/** Every element of `part`, in document order, through the first candidate that matches any. */
export function findAll<E extends Element = HTMLElement>(root: ParentNode, part: Part): { elements: E[]; candidate: number } {
  const candidates = CANDIDATES[part];
  for (let candidate = 0; candidate < candidates.length; candidate++) {
    const elements = [...root.querySelectorAll<E & Element>(candidates[candidate])];
    if (elements.length) return { elements, candidate };
  }
  return { elements: [], candidate: -1 };
}

export interface SelfCheck {
  ok: boolean;
  /** what was not found, in words, for "adapter broken: …" */
  missing: string[];
  /** per part found: which candidate matched */
  matched: Partial<Record<Part, number>>;
}

const PART_NAMES: Record<Part, string> = {
  composer: 'the prompt editor',
  send: 'the send button',
  stop: 'the stop button',
  userMessage: 'the sent messages',
  answer: 'the answers',
  fileInput: 'the file input',
  modelPicker: 'the model picker',
  artifact: 'the artifact cards',
};

/**
 * Whether the adapter understands this page: on a conversation page the editor, send button and
 * file input must be there, and a conversation with turns must show them as turns.
 */
export function selfCheck(doc: Document): SelfCheck {
  const matched: Partial<Record<Part, number>> = {};
  const missing: string[] = [];
  for (const part of REQUIRED_ON_COMPOSER_PAGE) {
    const found = find(doc, part);
    if (found) matched[part] = found.candidate;
    // While an answer streams the stop button may take the send button's place.
    else if (!(part === 'send' && find(doc, 'stop'))) missing.push(PART_NAMES[part]);
  }
  for (const part of ['userMessage', 'answer', 'modelPicker'] as const) {
    const found = find(doc, part);
    if (found) matched[part] = found.candidate;
  }
  // Turns rendered (their containers carry a render count) but none recognised: the markup moved.
  if (doc.querySelector('[data-test-render-count]') && matched.userMessage === undefined && matched.answer === undefined) {
    missing.push(`${PART_NAMES.userMessage} and ${PART_NAMES.answer}`);
  }
  return { ok: missing.length === 0, missing, matched };
}

export type PageState =
  | { state: 'ready' }
  | { state: 'answering' }
  | { state: 'loading' }
  | { state: 'signed-out' }
  | { state: 'rate-limited'; text: string; resetAt?: number }
  | { state: 'error'; text: string }
  | { state: 'broken'; missing: string[] };

const SIGNED_OUT_PATHS = /^\/(login|logout|signup)\b/;
const USAGE_LIMIT = /(usage|message) limit|limit reached|out of (free )?messages/i;
const ERROR_TEXT = /something went wrong|an error occurred|error sending|failed to send|couldn.t (send|connect)/i;
/** Notices are shown as alerts or status banners near the composer. */
const NOTICES = '[role="alert"], [role="status"], [data-testid="usage-limit-notice"], [data-testid="error-notice"]';

/**
 * What the page is doing now, and the self-check it was judged by (one look at the page for both);
 * `now` dates a reset time given as a clock time ("resets 3:00 PM"). `outlived` says whether a
 * usage-limit notice is one whose reset time has passed: a page that was not reloaded keeps showing
 * it, though the limit is over.
 */
export function readPage(
  doc: Document,
  now: number,
  outlived: (notice: { text: string; resetAt?: number }) => boolean = () => false,
): { page: PageState; check: SelfCheck } {
  const check = selfCheck(doc);
  return { page: stateOf(doc, now, outlived, check), check };
}

function stateOf(doc: Document, now: number, outlived: (notice: { text: string; resetAt?: number }) => boolean, check: SelfCheck): PageState {
  if (SIGNED_OUT_PATHS.test(doc.location?.pathname ?? '')) return { state: 'signed-out' };
  for (const notice of doc.querySelectorAll<HTMLElement>(NOTICES)) {
    const text = normalise(notice.textContent ?? '');
    if (!text) continue;
    if (USAGE_LIMIT.test(text)) {
      const limit = { state: 'rate-limited' as const, text, resetAt: resetTimeOf(text, now) };
      if (outlived(limit)) continue;
      return limit;
    }
    if (ERROR_TEXT.test(text)) return { state: 'error', text };
  }
  if (!check.ok) {
    if (doc.readyState !== 'complete') return { state: 'loading' };
    // A page without an editor that offers to sign in is the signed-out landing page.
    if (!find(doc, 'composer') && /\b(log in|sign in|continue with (email|google))\b/i.test(doc.body?.textContent ?? '')) return { state: 'signed-out' };
    return { state: 'broken', missing: check.missing };
  }
  return isAnswering(doc) ? { state: 'answering' } : { state: 'ready' };
}

/** An answer is being written: the stop button shows, or the last answer is marked as streaming. */
export function isAnswering(doc: Document): boolean {
  if (find(doc, 'stop')) return true;
  const markers = doc.querySelectorAll(STREAMING);
  return markers.length > 0 && markers[markers.length - 1].getAttribute('data-is-streaming') === 'true';
}

/** Whether `answer` carries a streaming marker (on itself or a container) that says it is finished. */
export function streamingMarker(answer: Element): 'streaming' | 'finished' | 'none' {
  const marked = answer.closest(STREAMING);
  if (!marked) return 'none';
  return marked.getAttribute('data-is-streaming') === 'true' ? 'streaming' : 'finished';
}

/**
 * A reset time in a notice: "resets 3:00 PM", "until 15:30", "resets in 2 hours", "in 45 minutes".
 * A clock time is the next one at or after `now`, in the browser's time zone.
 */
export function resetTimeOf(text: string, now: number): number | undefined {
  const relative = /\bin (\d+) (hour|hr|minute|min)s?\b/i.exec(text);
  if (relative) return now + Number(relative[1]) * (/^h/i.test(relative[2]) ? 3_600_000 : 60_000);
  const clock = /\b(?:resets?|until|at|after)\s+(?:at\s+)?(\d{1,2})(?::(\d{2}))?\s*(am|pm)?\b/i.exec(text);
  if (!clock) return undefined;
  let hours = Number(clock[1]);
  const minutes = Number(clock[2] ?? 0);
  const meridiem = clock[3]?.toLowerCase();
  if (!meridiem && clock[2] === undefined) return undefined; // a bare number is not a time
  if (hours > 23 || minutes > 59 || (meridiem && (hours < 1 || hours > 12))) return undefined;
  if (meridiem === 'pm' && hours < 12) hours += 12;
  if (meridiem === 'am' && hours === 12) hours = 0;
  const at = new Date(now);
  at.setHours(hours, minutes, 0, 0);
  if (at.getTime() < now) at.setDate(at.getDate() + 1);
  return at.getTime();
}

/** The conversation's title: the page's, without the site's " - Claude" suffix. */
export function conversationTitle(doc: Document): string {
  return normalise(doc.title).replace(/\s+[-–—|]\s+Claude$/, '').slice(0, 500);
}

/** The conversation id in a claude.ai path (`/chat/<id>`), if it is one. */
export function conversationIdOf(pathname: string): string | undefined {
  return /^\/chat\/([A-Za-z0-9-]{8,100})\/?$/.exec(pathname)?.[1];
}

export function normalise(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/**
 * Puts `text` into the editor the way a person's paste arrives, so ProseMirror's own input handling
 * records it in its state (ARCHITECTURE.md): a paste event carrying only text/plain — never HTML, so
 * text from another agent cannot become markup. Falls back to `insertText` when the editor ignored
 * the paste. Returns whether the editor now holds the text.
 */
export function insertText(editor: HTMLElement, text: string): boolean {
  editor.focus();
  const selection = editor.ownerDocument.getSelection();
  if (selection) {
    selection.selectAllChildren(editor);
    selection.collapseToEnd();
  }
  const data = new DataTransfer();
  data.setData('text/plain', text);
  editor.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
  if (holds(editor, text)) return true;
  editor.ownerDocument.execCommand('insertText', false, text);
  return holds(editor, text);
}

function holds(editor: HTMLElement, text: string): boolean {
  const want = normalise(text);
  return want.length === 0 || normalise(editor.innerText ?? editor.textContent ?? '').includes(want.slice(0, 200));
}

/** Whether the editor holds anything (a draft the person is writing, or a prompt not sent yet). */
export function editorHasText(editor: HTMLElement): boolean {
  return normalise(editor.textContent ?? '').length > 0;
}
