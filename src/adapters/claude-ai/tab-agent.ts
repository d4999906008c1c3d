/**
 * The claude.ai content script's work (issue 6): reports what the page is doing, types the hub's
 * prompts through the editor's own input handling, and reads each answer back when it is finished.
 * All page knowledge comes from ./site.ts; this file only decides when.
 *
 * Answers survive the service worker: a typed prompt is kept in the tab's sessionStorage until the
 * hub says its answer is stored, and is reported again on every reconnect.
 */
import {
  SITE_ADAPTER_VERSION,
  conversationIdOf,
  conversationTitle,
  editorHasText,
  find,
  findAll,
  insertText,
  isAnswering,
  normalise,
  readPage,
  streamingMarker,
  type PageState,
} from './site';
import { answerMarkdown } from './answer-markdown';
import type { AnswerReport, TabCommand, TabReport, TabView } from '../../protocol/claude-tab';

/** The person typed this recently: Switchboard waits (issue 6: never type while the person is typing). */
export const PERSON_IDLE_MS = 3_000;
/** With a streaming marker or stop button seen, the answer is finished this long after both are gone. */
export const QUIET_WITH_MARKERS_MS = 40;
/** Without any marker, an answer is finished when its text has not changed for this long. */
export const QUIET_WITHOUT_MARKERS_MS = 1_500;
const PROGRESS_EVERY_MS = 500;
/** A prompt after which no answer begins (nor the stop button shows) for this long gets none. */
export const NO_ANSWER_MS = 60_000;
/** A page missing parts the adapter needs is reported broken once that has lasted this long. */
export const BROKEN_AFTER_MS = 2_000;
const STORAGE_KEY = 'switchboard:prompts';

export interface TabPort {
  post(report: TabReport): void;
}

interface Typed {
  messageId: string;
  recipient: string;
  replyTo: string;
  replyId: string;
  threadId: string;
  /** the answer, once read: reported until the hub has stored it */
  answer?: AnswerReport;
}

export class TabAgent {
  private lastPersonInputAt = -Infinity;
  private typing = false;
  private lastView = '';
  private watching: { typed: Typed; after: Element } | undefined;
  private viewTimer: ReturnType<typeof setTimeout> | undefined;
  private idleTimer: ReturnType<typeof setTimeout> | undefined;
  private brokenSince: number | undefined;
  /** each usage-limit notice seen, by its text: the reset it named when first seen */
  private readonly limitResets = new Map<string, number>();
  private brokenTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly doc: Document,
    private readonly port: TabPort,
    private readonly storage: Storage,
    private readonly signal: AbortSignal,
  ) {
    const noteInput = (event: Event) => {
      if (this.typing || !event.isTrusted) return;
      const composer = find(this.doc, 'composer')?.element;
      if (composer && event.target instanceof Node && composer.contains(event.target)) this.lastPersonInputAt = performance.now();
    };
    for (const type of ['keydown', 'beforeinput', 'paste', 'drop']) doc.addEventListener(type, noteInput, { capture: true, signal });
    const observer = new MutationObserver(() => this.scheduleView());
    observer.observe(doc.documentElement, { subtree: true, childList: true, characterData: true, attributes: true, attributeFilter: ['data-is-streaming', 'disabled', 'aria-label', 'class'] });
    signal.addEventListener('abort', () => observer.disconnect());
    // The site changes its URL with pushState: a new conversation gets its /chat/<id> that way.
    doc.defaultView?.addEventListener('popstate', () => this.scheduleView(), { signal });
  }

  /** Called on every (re)connect: the page's view, then every answer the hub may not have stored. */
  connected(): void {
    this.lastView = '';
    this.reportView();
    for (const typed of this.typedPrompts()) {
      if (typed.answer) this.port.post({ type: 'answer', answer: typed.answer });
    }
    // A prompt typed before a reload whose answer was not read yet: read it now.
    const open = this.typedPrompts().find((t) => !t.answer);
    if (open && !this.watching) this.resumeWatch(open);
  }

  async handle(command: TabCommand): Promise<void> {
    if (command.type === 'answer-stored') {
      this.forget(command.messageId);
      return;
    }
    const refuse = (reason: string, final = false) => this.port.post({ type: 'refused', requestId: command.requestId, reason, final });
    const known = this.typedPrompts().find((t) => t.messageId === command.messageId);
    if (known) {
      // Typed before (the hub retried after a restart): never type it twice.
      this.port.post({ type: 'typed', requestId: command.requestId, conversationId: this.conversationId() });
      if (known.answer) this.port.post({ type: 'answer', answer: known.answer });
      return;
    }
    const state = this.readPage().page;
    if (state.state !== 'ready') return refuse(describe(state));
    if (this.watching) return refuse('answering an earlier prompt');
    const composer = find(this.doc, 'composer')!.element;
    if (this.personWriting(composer)) return refuse('the person is writing in this conversation');

    if (command.model) {
      const picked = await this.pickModel(command.model);
      if (picked !== true) return refuse(picked, true);
    }
    const before = findAll(this.doc, 'userMessage').elements.length;
    this.typing = true;
    try {
      if (!insertText(composer, command.text)) return refuse('the editor did not take the text');
      if (command.files.length) {
        const attached = await this.attach(command.files);
        if (attached !== true) {
          clear(composer);
          return refuse(attached);
        }
      }
      const send = await this.until(() => {
        const button = find<HTMLButtonElement>(this.doc, 'send')?.element;
        return button && !button.disabled ? button : undefined;
      }, 5_000);
      if (!send) {
        clear(composer);
        return refuse('the send button stayed disabled');
      }
      const typed: Typed = { messageId: command.messageId, recipient: command.recipient, replyTo: command.replyTo, replyId: command.replyId, threadId: command.threadId };
      // Kept before the click: a retry after a crash must find it and never type it again.
      this.remember(typed);
      send.click();
    } finally {
      this.typing = false;
    }
    const start = normalise(command.text).slice(0, 60);
    const turn = await this.until(() => {
      const turns = findAll(this.doc, 'userMessage').elements;
      const last = turns.at(-1);
      return turns.length > before && last && normalise(last.textContent ?? '').includes(start) ? last : undefined;
    }, 10_000);
    if (!turn) {
      this.forget(command.messageId);
      return refuse('the prompt did not appear in the conversation');
    }
    this.port.post({ type: 'typed', requestId: command.requestId, conversationId: this.conversationId() });
    void this.watchAnswer(this.typedPrompts().find((t) => t.messageId === command.messageId)!, turn);
  }

  /**
   * The page's state, a limit notice whose reset time has passed counting as gone. A clock time
   * ("resets at 3:00 PM") is read as the next one, so the reset is the one read when the notice was
   * first seen; a reload is due then, so the view is looked at again at that moment.
   */
  private readPage(): ReturnType<typeof readPage> {
    const now = Date.now();
    return readPage(this.doc, now, ({ text, resetAt }) => {
      if (resetAt === undefined) return false;
      if (!this.limitResets.has(text)) {
        this.limitResets.set(text, resetAt);
        setTimeout(() => this.reportView(), resetAt - now + 50);
      }
      return now >= this.limitResets.get(text)!;
    });
  }

  private personWriting(composer: HTMLElement | undefined): boolean {
    if (performance.now() - this.lastPersonInputAt < PERSON_IDLE_MS) return true;
    return composer !== undefined && editorHasText(composer) && !this.typing;
  }

  private async pickModel(model: string): Promise<true | string> {
    const picker = find<HTMLButtonElement>(this.doc, 'modelPicker')?.element;
    if (!picker) return 'this page offers no model picker';
    if (normalise(picker.textContent ?? '').toLowerCase().includes(model.toLowerCase())) return true;
    picker.click();
    const items = await this.until(() => {
      const found = [...this.doc.querySelectorAll<HTMLElement>('[role="menuitem"], [role="option"], [role="menuitemradio"]')];
      return found.length ? found : undefined;
    }, 3_000);
    // An item shows the model's name, then a description that may name other models: the name first.
    const named = (i: HTMLElement) => normalise(i.firstElementChild?.textContent ?? i.textContent ?? '').toLowerCase();
    const item =
      items?.find((i) => named(i).includes(model.toLowerCase())) ??
      items?.find((i) => normalise(i.textContent ?? '').toLowerCase().startsWith(model.toLowerCase()));
    if (!item) {
      this.doc.body.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape', bubbles: true }));
      return `model "${model}" is not offered here (offered: ${(items ?? []).map((i) => normalise(i.textContent ?? '')).join(', ') || 'none'})`;
    }
    item.click();
    const chosen = await this.until(() => normalise(picker.textContent ?? '').toLowerCase().includes(model.toLowerCase()) || undefined, 3_000);
    return chosen ? true : `the model picker did not switch to "${model}"`;
  }

  /** Files go in through the composer's own file input, as a person's choice would. */
  private async attach(files: { name: string; mimeType: string; data: string }[]): Promise<true | string> {
    const input = find<HTMLInputElement>(this.doc, 'fileInput')?.element;
    if (!input) return 'the file input is missing';
    const transfer = new DataTransfer();
    for (const file of files) transfer.items.add(new File([base64Bytes(file.data)], file.name, { type: file.mimeType }));
    input.files = transfer.files;
    input.dispatchEvent(new Event('change', { bubbles: true }));
    const fieldset = input.closest('fieldset') ?? this.doc.body;
    const shown = await this.until(() => files.every((f) => (fieldset.textContent ?? '').includes(f.name)) || undefined, 10_000);
    return shown ? true : `the attachments did not appear: ${files.map((f) => f.name).join(', ')}`;
  }

  private resumeWatch(typed: Typed): void {
    const turns = findAll(this.doc, 'userMessage').elements;
    const turn = turns.at(-1);
    if (turn) void this.watchAnswer(typed, turn);
  }

  /**
   * Waits for the answer that follows `turn` — never an older one on the page — to finish: its
   * streaming marker says finished and the stop button is gone, then a short quiet period; without
   * markers, a long quiet period. Reports progress on the way.
   */
  private async watchAnswer(typed: Typed, turn: Element): Promise<void> {
    this.watching = { typed, after: turn };
    let lastText = '';
    let changedAt = performance.now();
    let lastProgress = 0;
    let sawMarker = false;
    const startedAt = performance.now();
    try {
      for (;;) {
        if (this.signal.aborted) return;
        const state = this.readPage().page;
        if (state.state === 'rate-limited' || state.state === 'error' || state.state === 'signed-out') {
          this.forget(typed.messageId);
          this.port.post({ type: 'no-answer', messageId: typed.messageId, recipient: typed.recipient, reason: describe(state) });
          return;
        }
        const answer = this.answerAfter(turn);
        const stop = find(this.doc, 'stop');
        if (stop) sawMarker = true;
        // Nothing started: no answer, no stop button, no streaming. The site took the prompt and let
        // it be (an error it showed and removed): the hub tries again after its ack timeout.
        if (!answer && !stop && !isAnswering(this.doc) && performance.now() - startedAt > NO_ANSWER_MS) {
          this.forget(typed.messageId);
          this.port.post({ type: 'no-answer', messageId: typed.messageId, recipient: typed.recipient, reason: `no answer began within ${NO_ANSWER_MS / 1_000} s` });
          return;
        }
        if (answer) {
          const marker = streamingMarker(answer);
          if (marker !== 'none') sawMarker = true;
          const text = answer.textContent ?? '';
          const now = performance.now();
          if (text !== lastText) {
            lastText = text;
            changedAt = now;
            if (now - lastProgress >= PROGRESS_EVERY_MS) {
              lastProgress = now;
              this.port.post({ type: 'progress', messageId: typed.messageId, recipient: typed.recipient, chars: text.length });
            }
          }
          const done = marker !== 'streaming' && !stop && !isAnswering(this.doc);
          const quiet = sawMarker ? QUIET_WITH_MARKERS_MS : QUIET_WITHOUT_MARKERS_MS;
          if (done && text.trim() && now - changedAt >= quiet) {
            // Looked at once more after the quiet period: a marker that came back means it goes on.
            if (streamingMarker(answer) !== 'streaming' && !find(this.doc, 'stop')) {
              this.finish(typed, answer);
              return;
            }
          }
        }
        // Wake at the next change, or exactly when the quiet period would be over.
        const quiet = sawMarker ? QUIET_WITH_MARKERS_MS : QUIET_WITHOUT_MARKERS_MS;
        await this.nextChange(Math.max(1, Math.min(250, changedAt + quiet - performance.now())));
      }
    } finally {
      this.watching = undefined;
      this.scheduleView();
    }
  }

  private finish(typed: Typed, answer: Element): void {
    const report: AnswerReport = {
      messageId: typed.messageId,
      recipient: typed.recipient,
      replyTo: typed.replyTo,
      replyId: typed.replyId,
      threadId: typed.threadId,
      markdown: answerMarkdown(answer),
      conversationId: this.conversationId(),
    };
    this.remember({ ...typed, answer: report });
    this.port.post({ type: 'answer', answer: report });
  }

  /** The first answer after `turn` in document order. */
  private answerAfter(turn: Element): Element | undefined {
    return findAll(this.doc, 'answer').elements.find((a) => turn.compareDocumentPosition(a) & Node.DOCUMENT_POSITION_FOLLOWING);
  }

  /** Resolves on the next change to the page, or after `ms`. */
  private nextChange(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const observer = new MutationObserver(() => done());
      const timer = setTimeout(() => done(), ms);
      const done = () => {
        observer.disconnect();
        clearTimeout(timer);
        resolve();
      };
      observer.observe(this.doc.documentElement, { subtree: true, childList: true, characterData: true, attributes: true });
    });
  }

  private async until<T>(read: () => T | undefined, timeoutMs: number): Promise<T | undefined> {
    const end = performance.now() + timeoutMs;
    for (;;) {
      const value = read();
      if (value !== undefined) return value;
      if (performance.now() > end || this.signal.aborted) return undefined;
      await this.nextChange(50);
    }
  }

  private scheduleView(): void {
    if (this.viewTimer !== undefined) return;
    this.viewTimer = setTimeout(() => {
      this.viewTimer = undefined;
      this.reportView();
    }, 20);
  }

  private reportView(): void {
    const view = this.view();
    // "Writing" ends when the person has been idle a while, which no change on the page announces.
    const idleIn = this.lastPersonInputAt + PERSON_IDLE_MS - performance.now();
    if (idleIn > 0) {
      clearTimeout(this.idleTimer);
      this.idleTimer = setTimeout(() => this.reportView(), idleIn + 10);
    }
    const key = JSON.stringify(view);
    if (key === this.lastView) return;
    this.lastView = key;
    this.port.post({ type: 'view', view });
  }

  view(): TabView {
    const read = this.readPage();
    let page: PageState = read.page;
    if (page.state === 'ready' && this.watching) page = { state: 'answering' };
    // The site is a single-page app: after the load event, and while it moves between pages, its
    // parts can be missing for a moment. Broken is what lasts.
    if (page.state === 'broken') {
      this.brokenSince ??= performance.now();
      const left = this.brokenSince + BROKEN_AFTER_MS - performance.now();
      if (left > 0) {
        clearTimeout(this.brokenTimer);
        this.brokenTimer = setTimeout(() => this.reportView(), left + 10);
        page = { state: 'loading' };
      }
    } else this.brokenSince = undefined;
    const composer = find(this.doc, 'composer')?.element;
    return {
      url: this.doc.location.href,
      title: conversationTitle(this.doc),
      ...(this.conversationId() ? { conversationId: this.conversationId() } : {}),
      page,
      personWriting: this.personWriting(composer),
      adapterVersion: SITE_ADAPTER_VERSION,
      matched: read.check.matched as Record<string, number>,
    };
  }

  private conversationId(): string | undefined {
    return conversationIdOf(this.doc.location.pathname);
  }

  private typedPrompts(): Typed[] {
    try {
      const parsed = JSON.parse(this.storage.getItem(STORAGE_KEY) ?? '[]') as unknown;
      return Array.isArray(parsed) ? (parsed as Typed[]) : [];
    } catch {
      return [];
    }
  }

  private remember(typed: Typed): void {
    const others = this.typedPrompts().filter((t) => t.messageId !== typed.messageId);
    this.storage.setItem(STORAGE_KEY, JSON.stringify([...others, typed].slice(-20)));
  }

  private forget(messageId: string): void {
    this.storage.setItem(STORAGE_KEY, JSON.stringify(this.typedPrompts().filter((t) => t.messageId !== messageId)));
  }
}

function describe(state: PageState): string {
  switch (state.state) {
    case 'rate-limited':
      return `usage limit: ${state.text}`;
    case 'error':
      return `the page shows an error: ${state.text}`;
    case 'broken':
      return `adapter broken: ${state.missing.join(', ')} not found`;
    case 'signed-out':
      return 'signed out of claude.ai';
    default:
      return `the conversation is ${state.state}`;
  }
}

function clear(composer: HTMLElement): void {
  composer.focus();
  composer.ownerDocument.execCommand('selectAll');
  composer.ownerDocument.execCommand('delete');
}

function base64Bytes(data: string): Uint8Array<ArrayBuffer> {
  const binary = atob(data);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
