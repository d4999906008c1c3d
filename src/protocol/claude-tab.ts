/**
 * The port between a claude.ai tab's content script and the hub (issue 6). The content script reads
 * a page Switchboard does not control, so the hub validates everything it says here; the hub's
 * prompts are plain text and files, typed as text, never HTML.
 */
import { z } from 'zod';
import { MessageId } from './envelope';

// The names live apart, so the content script carries no schema library.
export { CLAUDE_TAB_PORT, RECONNECT_REQUEST } from './claude-tab-names';

const PageStateSchema = z.discriminatedUnion('state', [
  z.strictObject({ state: z.literal('ready') }),
  z.strictObject({ state: z.literal('answering') }),
  z.strictObject({ state: z.literal('loading') }),
  z.strictObject({ state: z.literal('signed-out') }),
  z.strictObject({ state: z.literal('rate-limited'), text: z.string().max(2_000), resetAt: z.int().positive().optional() }),
  z.strictObject({ state: z.literal('error'), text: z.string().max(2_000) }),
  z.strictObject({ state: z.literal('broken'), missing: z.array(z.string().max(200)).max(20) }),
]);
export type TabPageState = z.infer<typeof PageStateSchema>;

const TabView = z.strictObject({
  url: z.url().max(2_000),
  title: z.string().max(500),
  /** the `/chat/<id>` of the page, when it has one */
  conversationId: z.string().max(100).optional(),
  page: PageStateSchema,
  /** the person typed into the editor in the last few seconds, or left a draft there */
  personWriting: z.boolean(),
  adapterVersion: z.string().max(100),
  /** which candidate matched, per part of the page: 0 current, higher a fallback */
  matched: z.record(z.string(), z.int()),
});
export type TabView = z.infer<typeof TabView>;

/** A prompt the tab typed whose answer the hub has not stored yet (kept in the tab across worker restarts). */
export const AnswerReport = z.strictObject({
  messageId: MessageId,
  /** the address the prompt was delivered to (its delivery's key) */
  recipient: z.string().max(300),
  replyTo: z.string().max(300),
  /** the reply's id, chosen when the prompt was typed: a resent answer is stored once */
  replyId: MessageId,
  threadId: z.string().max(100),
  markdown: z.string().max(200_000),
  conversationId: z.string().max(100).optional(),
});
export type AnswerReport = z.infer<typeof AnswerReport>;

/** What the content script tells the hub. */
export const TabReport = z.discriminatedUnion('type', [
  /** on connect and whenever the page's state changes */
  z.strictObject({ type: z.literal('view'), view: TabView }),
  /** the answer to a `prompt` request */
  z.strictObject({ type: z.literal('typed'), requestId: z.string().max(100), conversationId: z.string().max(100).optional() }),
  z.strictObject({ type: z.literal('refused'), requestId: z.string().max(100), reason: z.string().max(500), final: z.boolean() }),
  /** an answer being written */
  z.strictObject({ type: z.literal('progress'), messageId: MessageId, recipient: z.string().max(300), chars: z.int().nonnegative() }),
  z.strictObject({ type: z.literal('answer'), answer: AnswerReport }),
  /** the prompt went in but no answer will come (a limit, an error, the person stopped it) */
  z.strictObject({ type: z.literal('no-answer'), messageId: MessageId, recipient: z.string().max(300), reason: z.string().max(500) }),
]);
export type TabReport = z.infer<typeof TabReport>;

export interface PromptFile {
  name: string;
  mimeType: string;
  /** base64 */
  data: string;
}

/** What the hub asks of the content script. */
export type TabCommand =
  | {
      type: 'prompt';
      requestId: string;
      messageId: string;
      recipient: string;
      replyTo: string;
      replyId: string;
      threadId: string;
      text: string;
      files: PromptFile[];
      /** pick this model first (a new conversation) */
      model?: string;
    }
  /** the hub has stored this answer: the tab may forget it */
  | { type: 'answer-stored'; messageId: string };
