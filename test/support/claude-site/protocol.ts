/**
 * What the claude.ai fixture's server and its page script share: the variant spec, the data a page
 * starts from, the answers the server hands out and the timeline both keep. Types and pure helpers
 * only, so the page bundle (esbuild) and the server (Node) import the same file.
 */

/**
 * The parts of the page that have candidate selectors in `src/adapters/claude-ai/site.ts`. Kept as a
 * list here (not imported) so the page bundle does not depend on the adapter it is testing.
 */
export const PARTS = ['composer', 'send', 'stop', 'userMessage', 'answer', 'fileInput', 'modelPicker', 'artifact'] as const;
export type PagePart = (typeof PARTS)[number];

/**
 * Which candidate of each part the page renders: 0 (the default) is the adapter's primary selector,
 * a higher index a fallback — rendered so that it matches that candidate and none before it — and
 * `'none'` (or -1) renders the part so that no candidate matches ("adapter broken").
 */
export type VariantSpec = Partial<Record<PagePart, number | 'none'>> & {
  /** false: answers carry no `data-is-streaming` (the adapter has the stop button and a quiet period); default true */
  streamingMarker?: boolean;
  /** true: while an answer streams the stop button takes the send button's place (it is removed); default false, side by side */
  stopReplacesSend?: boolean;
  /** the app renders this long after the page's load event, as a hydrating single-page app does; default 0 (before load) */
  renderDelayMs?: number;
};

/** How far a part's rendering goes: the candidate index, or -1 for none. */
export function variantOf(spec: VariantSpec, part: PagePart): number {
  const value = spec[part];
  if (value === undefined) return 0;
  return value === 'none' ? -1 : value;
}

export interface AttachmentInfo {
  name: string;
  size: number;
  type: string;
}

export type Turn =
  | { role: 'user'; text: string; attachments: AttachmentInfo[]; model: string; at: number }
  /** `html`: the answer's content as the server gave it (before the page applies the variant) */
  | { role: 'assistant'; html: string; text: string; stopped: boolean; at: number };

export interface Conversation {
  id: string;
  title: string;
  /** the project it was started in (`/project/<id>`) */
  project?: string;
  model: string;
  turns: Turn[];
  createdAt: number;
}

/** An answer as the server hands it to the page, which streams it. */
export interface AnswerSpec {
  /** the whole answer's HTML, revealed `chunkChars` characters of text at a time, keeping the nodes it wrote */
  html?: string;
  /** or HTML pieces: after each tick the answer shows the concatenation of the pieces so far (re-rendered) */
  chunks?: string[];
  /** between ticks; default 30 */
  chunkMs: number;
  /** characters of text a tick reveals (html mode); default 40 */
  chunkChars: number;
  /** from the prompt's arrival to the first chunk; default 50 */
  delayMs: number;
  /** instead of an answer, an error notice with this text after `delayMs` */
  error?: string;
}

/** What the server tells a page after a prompt was sent. */
export type TurnReply = { outcome: 'answer'; answer: AnswerSpec } | { outcome: 'limited'; resetAt?: number };

export interface LimitState {
  /** epoch ms, shown in the notice as the browser's local clock time */
  resetAt?: number;
}

/** What a page polls: the account's state. */
export interface AccountState {
  signedOut: boolean;
  limit: LimitState | null;
  /** the limit ended by itself at its reset time: sending works, but an open page keeps showing the notice until reloaded */
  staleLimitNotice?: boolean;
}

/** What a page is rendered from: the server's view of `path`. */
export interface Boot {
  path: string;
  variant: VariantSpec;
  account: AccountState;
  /** the conversation at `/chat/<id>`, if the server knows it */
  conversation: Conversation | null;
  /** `/project/<id>` */
  project: string | null;
  /** the sidebar's recent chats, newest first */
  recent: { id: string; title: string }[];
  models: string[];
  defaultModel: string;
}

export type TimelineEventName = 'prompt-received' | 'answer-started' | 'answer-ended';

export interface TimelineEvent {
  event: TimelineEventName;
  /** epoch ms with sub-millisecond precision: performance.timeOrigin + performance.now() in the page */
  at: number;
  conversation: string;
  /** the prompt (prompt-received) or the answer's text (answer-ended) */
  text?: string;
  /** answer-ended: the stop button ended it */
  stopped?: boolean;
}

/** A conversation's title from its first prompt, as the site's titling would give it (short, plain). */
export function titleOf(prompt: string): string {
  const words = prompt.replace(/\s+/g, ' ').trim().split(' ').slice(0, 6).join(' ');
  const title = words.length > 40 ? `${words.slice(0, 39)}…` : words;
  return title ? title[0].toUpperCase() + title.slice(1) : 'Untitled';
}

/** The document title the site shows for a conversation. */
export function documentTitleOf(conversationTitle: string | null): string {
  return conversationTitle ? `${conversationTitle} - Claude` : 'Claude';
}

/** The usage-limit notice's text: the reset time as the browser's local clock time (en-US, "3:00 PM"). */
export function limitNoticeText(limit: LimitState): string {
  if (limit.resetAt === undefined) return "You've reached your usage limit. Please try again later.";
  const time = new Date(limit.resetAt).toLocaleTimeString('en-US', { hour: 'numeric', minute: '2-digit' });
  return `You've reached your usage limit. Your limit resets at ${time}.`;
}
