/**
 * The claude.ai fixture's page script (bundled by server.ts with esbuild): a single-page app that
 * imitates claude.ai where Switchboard's adapter touches it (issue 6, ARCHITECTURE.md "claude.ai").
 *
 * - The composer is a real ProseMirror editor; the send button follows the editor's STATE, and a send
 *   reads the prompt from that state — a direct textContent write ProseMirror has not read back sends
 *   nothing, as on the site.
 * - A send appends the user turn, moves `/new` (or `/project/<id>`) to `/chat/<uuid>` with
 *   history.pushState, posts the prompt to the server and streams the server's answer in chunks
 *   under `data-is-streaming`, with the stop button in the composer until the end.
 * - Every part the adapter has candidate selectors for is rendered per the server's variant spec, so
 *   a fallback candidate — or none — is what matches.
 * - `window.__fixture.timeline` (also posted to the server) dates prompt-received, answer-started and
 *   answer-ended for the benchmark.
 */
import { EditorState, Plugin } from 'prosemirror-state';
import { Decoration, DecorationSet, EditorView } from 'prosemirror-view';
import { Fragment, Slice } from 'prosemirror-model';
import { schema } from 'prosemirror-schema-basic';
import { keymap } from 'prosemirror-keymap';
import { baseKeymap, chainCommands, createParagraphNear, liftEmptyBlock, newlineInCode, splitBlock } from 'prosemirror-commands';
import { history as undoHistory, redo, undo } from 'prosemirror-history';
import {
  documentTitleOf,
  limitNoticeText,
  titleOf,
  variantOf,
  type AccountState,
  type AnswerSpec,
  type AttachmentInfo,
  type Boot,
  type LimitState,
  type PagePart,
  type TimelineEvent,
  type TurnReply,
} from './protocol';

declare global {
  interface Window {
    __FIXTURE_BOOT__: Boot;
    /** the fixture's own hooks, for tests (the main world only; a content script does not see them) */
    __fixture: {
      timeline: TimelineEvent[];
      /** the prompt as ProseMirror's state holds it */
      editorText(): string;
      attachments(): AttachmentInfo[];
      model(): string;
      /** the variant this page was rendered with */
      variant: Boot['variant'];
    };
  }
}

const PLACEHOLDER = 'How can I help you today?';
const POLL_MS = 200;

// ---------------------------------------------------------------------------------------------------
// Small DOM helpers

type Attrs = Record<string, string | undefined>;

function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) if (value !== undefined) element.setAttribute(name, value);
  element.append(...children);
  return element;
}

const ICON_UP = '<svg width="16" height="16" viewBox="0 0 256 256" aria-hidden="true"><path d="M208.49 120.49a12 12 0 0 1-17 0L140 69v147a12 12 0 0 1-24 0V69l-51.51 51.49a12 12 0 0 1-17-17l72-72a12 12 0 0 1 17 0l72 72a12 12 0 0 1 0 17Z"/></svg>';
const ICON_STOP = '<svg width="16" height="16" viewBox="0 0 256 256" aria-hidden="true"><rect x="56" y="56" width="144" height="144" rx="16"/></svg>';

function iconButton(attrs: Attrs, svg: string): HTMLButtonElement {
  const button = h('button', attrs);
  button.innerHTML = svg;
  return button;
}

async function api<T>(path: string, body?: unknown): Promise<T> {
  const response = await fetch(path, body === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!response.ok) throw new Error(`${path}: ${response.status}`);
  return (await response.json()) as T;
}

// ---------------------------------------------------------------------------------------------------
// The variant: how each part is marked up

let boot = window.__FIXTURE_BOOT__;
const variant = boot.variant;
const v = (part: PagePart) => variantOf(variant, part);

/** The editor's attributes: the site sets role textbox on it; the 'none' variant does not. */
function editorAttributes(): Record<string, string> {
  const attrs: Record<string, string> = { class: 'break-words max-w-[60ch]', translate: 'no', enterkeyhint: 'enter', tabindex: '0', 'aria-multiline': 'true' };
  if (v('composer') >= 0) attrs.role = 'textbox';
  return attrs;
}

function sendButtonAttrs(): Attrs {
  switch (v('send')) {
    case 0: return { type: 'button', 'aria-label': 'Send message' };
    case 1: return { type: 'button', 'aria-label': 'Send Message' };
    case 2: return { type: 'submit' };
    default: return { type: 'button', 'aria-label': 'Send' };
  }
}

function stopButtonAttrs(): Attrs {
  switch (v('stop')) {
    case 0: return { type: 'button', 'aria-label': 'Stop response' };
    case 1: return { type: 'button', 'aria-label': 'Stop Response' };
    default: return { type: 'button', 'aria-label': 'Stop' };
  }
}

function modelPickerAttrs(): Attrs {
  const common = { type: 'button', 'aria-haspopup': 'menu', 'aria-expanded': 'false', class: 'model-picker' };
  switch (v('modelPicker')) {
    case 0: return { ...common, 'data-testid': 'model-selector-dropdown' };
    case 1: return { ...common, 'aria-label': 'Select model' };
    default: return common;
  }
}

function userMessageAttrs(): Attrs {
  switch (v('userMessage')) {
    case 0: return { 'data-testid': 'user-message', class: 'font-large grid grid-cols-1 gap-2 py-0.5' };
    case 1: return { class: 'font-user-message grid grid-cols-1 gap-2 py-0.5' };
    default: return { class: 'font-user-text grid grid-cols-1 gap-2 py-0.5' };
  }
}

function answerClass(): string {
  switch (v('answer')) {
    case 0: return 'font-claude-response relative leading-[1.65rem]';
    case 1: return 'font-claude-message relative leading-[1.65rem]';
    default: return 'font-claude-text relative leading-[1.65rem]';
  }
}

/** Artifact cards come from the server in the primary markup; re-mark them per the variant. */
function markArtifacts(root: ParentNode): void {
  const variantIndex = v('artifact');
  if (variantIndex === 0) return;
  for (const card of root.querySelectorAll('[data-testid="artifact-block"]')) {
    card.removeAttribute('data-testid');
    card.classList.add(variantIndex === 1 ? 'artifact-block-cell' : 'artifact-card');
  }
}

// ---------------------------------------------------------------------------------------------------
// The timeline

const timeline: TimelineEvent[] = [];

function record(event: TimelineEvent['event'], conversation: string, extra: Pick<TimelineEvent, 'text' | 'stopped'> = {}): void {
  const entry: TimelineEvent = { event, at: performance.timeOrigin + performance.now(), conversation, ...extra };
  timeline.push(entry);
  void api('/__fixture/timeline', entry).catch(() => undefined);
}

// ---------------------------------------------------------------------------------------------------
// The editor

function editorText(state: EditorState): string {
  const lines: string[] = [];
  state.doc.forEach((block) => lines.push(block.textBetween(0, block.content.size, '\n', (leaf) => (leaf.type.name === 'hard_break' ? '\n' : ''))));
  return lines.join('\n');
}

/** Plain text pastes as one paragraph per line, blank lines kept (ProseMirror's default drops them). */
function clipboardTextParser(text: string): Slice {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  return new Slice(Fragment.from(lines.map((line) => schema.node('paragraph', null, line ? [schema.text(line)] : []))), 1, 1);
}

const placeholder = new Plugin({
  props: {
    decorations(state) {
      const first = state.doc.firstChild;
      if (state.doc.childCount !== 1 || !first?.isTextblock || first.content.size > 0) return null;
      return DecorationSet.create(state.doc, [Decoration.node(0, first.nodeSize, { class: 'is-empty is-editor-empty', 'data-placeholder': PLACEHOLDER })]);
    },
  },
});

// ---------------------------------------------------------------------------------------------------
// One rendered page (a client-side navigation renders a new one)

interface Stream {
  stop(): void;
}

class Screen {
  conversationId: string | null;
  project: string | null;
  model: string;
  attachments: File[] = [];
  /** a prompt was sent and its answer has not ended */
  answering = false;
  stream: Stream | null = null;
  limit: LimitState | null = null;
  disposed = false;

  readonly main: HTMLElement;
  readonly thread: HTMLElement;
  readonly notices: HTMLElement;
  readonly fieldset: HTMLFieldSetElement;
  readonly chips: HTMLElement;
  readonly fileInput: HTMLInputElement;
  readonly send: HTMLButtonElement;
  readonly stopButton: HTMLButtonElement;
  readonly picker: HTMLButtonElement;
  readonly actions: HTMLElement;
  readonly view: EditorView;
  private menu: HTMLElement | null = null;

  constructor(readonly boot: Boot) {
    this.conversationId = boot.conversation?.id ?? null;
    this.project = boot.conversation?.project ?? boot.project;
    this.model = boot.conversation?.model ?? boot.defaultModel;

    this.thread = h('div', { class: 'thread flex-1 flex flex-col gap-3 px-4 pt-6' });
    this.notices = h('div', { class: 'notices' });
    this.chips = h('div', { class: 'attachments flex flex-wrap gap-2' });

    // The composer: the editor inside a labelled wrapper, then the toolbar.
    this.fieldset = h('fieldset', { class: 'composer flex w-full min-w-0 flex-col' });
    const wrapper = h('div', { class: 'max-h-96 w-full overflow-y-auto break-words min-h-[3rem] editor-wrapper', 'aria-label': v('composer') === 0 ? 'Write your prompt to Claude' : undefined });
    this.fileInput = h('input', { type: 'file', multiple: '', class: 'hidden', 'aria-hidden': 'true', tabindex: '-1', 'data-testid': v('fileInput') === 0 ? 'file-upload' : undefined });
    this.fileInput.addEventListener('change', () => {
      this.attach([...(this.fileInput.files ?? [])]);
      this.fileInput.value = '';
    });
    const addFiles = h('button', { type: 'button', 'aria-label': 'Add files', class: 'add-files' }, '+');
    addFiles.addEventListener('click', () => this.fileInput.click());
    this.picker = h('button', modelPickerAttrs(), this.model);
    this.picker.addEventListener('click', (event) => {
      event.stopPropagation();
      if (this.menu) this.closeMenu();
      else this.openMenu();
    });
    this.send = iconButton({ ...sendButtonAttrs(), class: 'send' }, ICON_UP);
    this.send.addEventListener('click', () => void this.submit());
    this.stopButton = iconButton({ ...stopButtonAttrs(), class: 'stop' }, ICON_STOP);
    this.stopButton.addEventListener('click', () => this.stream?.stop());
    this.actions = h('div', { class: 'toolbar flex items-center gap-2' }, addFiles, h('div', { class: 'flex-1' }), this.picker, this.send);
    this.fieldset.append(this.chips, wrapper, this.actions);
    // The 'none' file input lives outside the fieldset (no candidate finds it); the others inside.
    if (v('fileInput') >= 0) this.fieldset.prepend(this.fileInput);

    this.view = new EditorView(wrapper, {
      state: EditorState.create({
        schema,
        plugins: [
          undoHistory(),
          keymap({
            Enter: () => {
              void this.submit();
              return true;
            },
            'Shift-Enter': chainCommands(newlineInCode, createParagraphNear, liftEmptyBlock, splitBlock),
            'Mod-z': undo,
            'Mod-y': redo,
            'Shift-Mod-z': redo,
          }),
          keymap(baseKeymap),
          placeholder,
        ],
      }),
      attributes: editorAttributes(),
      clipboardTextParser,
      handlePaste: (_view, event) => {
        const files = [...(event.clipboardData?.files ?? [])];
        if (!files.length) return false;
        this.attach(files);
        return true;
      },
      dispatchTransaction: (tr) => {
        this.view.updateState(this.view.state.apply(tr));
        this.afterUpdate();
      },
    });
    // ProseMirror puts class "ProseMirror" on its editor and puts it back only when its own idea of
    // the attributes changes or it rebuilds the document view; variants 2 and 'none' are the editor
    // without it, so take it off now, after every update, and whenever anything puts it back.
    if (v('composer') === 2 || v('composer') < 0) {
      this.stripEditorClass();
      new MutationObserver(() => this.stripEditorClass()).observe(this.view.dom, { attributes: true, attributeFilter: ['class'] });
    }

    const header = h('header', { class: 'conversation-header flex items-center px-4 py-2' }, h('h1', { class: 'truncate text-sm' }, boot.conversation?.title ?? (this.project ? `Project ${this.project}` : '')));
    const composerBox = h('div', { class: 'composer-box sticky bottom-0 mx-auto w-full max-w-3xl px-4 pb-4' }, this.notices, this.fieldset);
    this.main = h('main', { class: 'flex min-h-screen flex-1 flex-col' }, header, this.thread, composerBox);
    if (v('fileInput') < 0) this.main.append(this.fileInput);

    if (boot.conversation) {
      for (const turn of boot.conversation.turns) {
        if (turn.role === 'user') this.thread.append(userTurn(turn.text, turn.attachments.map((a) => a.name)));
        else this.thread.append(answerTurn(turn.html, 'finished').container);
      }
    } else {
      this.thread.append(h('div', { class: 'greeting text-center', 'data-greeting': '' }, h('h2', {}, this.project ? 'Start a chat in this project' : 'How can I help you today?')));
    }
    this.applyAccount(boot.account);
    this.afterUpdate();
  }

  get text(): string {
    return editorText(this.view.state).trim();
  }

  private stripEditorClass(): void {
    if (this.view.dom.classList.contains('ProseMirror')) this.view.dom.classList.remove('ProseMirror');
  }

  private afterUpdate(): void {
    if (v('composer') === 2 || v('composer') < 0) this.stripEditorClass();
    this.send.disabled = !this.text || this.answering || this.limit !== null;
    const stopShown = this.stopButton.isConnected;
    if (this.answering && !stopShown) {
      if (variant.stopReplacesSend) this.send.replaceWith(this.stopButton);
      else this.send.before(this.stopButton);
    } else if (!this.answering && stopShown) {
      if (variant.stopReplacesSend) this.stopButton.replaceWith(this.send);
      else this.stopButton.remove();
    }
  }

  private attach(files: File[]): void {
    this.attachments.push(...files);
    this.renderChips();
  }

  private renderChips(): void {
    this.chips.replaceChildren(
      ...this.attachments.map((file, index) => {
        const remove = h('button', { type: 'button', 'aria-label': `Remove ${file.name}`, class: 'remove' }, '×');
        remove.addEventListener('click', () => {
          this.attachments.splice(index, 1);
          this.renderChips();
        });
        return h('div', { 'data-testid': 'file-thumbnail', class: 'file-chip' }, h('span', { class: 'file-name' }, file.name), remove);
      }),
    );
  }

  private openMenu(): void {
    const menu = h('div', { role: 'menu', 'aria-orientation': 'vertical', class: 'model-menu', 'data-side': 'top' });
    for (const model of this.boot.models) {
      const item = h(
        'div',
        { role: 'menuitem', tabindex: '-1', class: 'model-item', 'aria-checked': String(model === this.model) },
        h('div', { class: 'model-name' }, model),
        h('div', { class: 'model-description text-xs' }, DESCRIPTIONS[model] ?? ''),
      );
      item.addEventListener('click', (event) => {
        event.stopPropagation();
        this.model = model;
        this.picker.textContent = model;
        this.closeMenu();
      });
      menu.append(item);
    }
    const rect = this.picker.getBoundingClientRect();
    menu.style.left = `${rect.left}px`;
    menu.style.bottom = `${window.innerHeight - rect.top + 4}px`;
    document.body.append(menu);
    this.menu = menu;
    this.picker.setAttribute('aria-expanded', 'true');
    const close = (event: Event) => {
      if (event instanceof KeyboardEvent && event.key !== 'Escape') return;
      if (event.type === 'click' && menu.contains(event.target as Node)) return;
      this.closeMenu();
    };
    document.addEventListener('click', close);
    document.addEventListener('keydown', close);
    this.closeMenuListeners = () => {
      document.removeEventListener('click', close);
      document.removeEventListener('keydown', close);
    };
  }

  private closeMenuListeners = () => {};

  private closeMenu(): void {
    this.menu?.remove();
    this.menu = null;
    this.picker.setAttribute('aria-expanded', 'false');
    this.closeMenuListeners();
  }

  /** The account's state from the server: the usage-limit notice comes and goes with it. */
  applyAccount(account: AccountState): void {
    if (account.signedOut) {
      location.replace('/login');
      return;
    }
    const limit = account.limit;
    const shown = this.notices.querySelector('[data-testid="usage-limit-notice"]');
    if (limit) {
      const text = limitNoticeText(limit);
      if (!shown) this.notices.append(h('div', { role: 'alert', 'data-testid': 'usage-limit-notice', class: 'notice' }, text));
      else if (shown.textContent !== text) shown.textContent = text;
    } else if (!account.staleLimitNotice) shown?.remove();
    this.limit = limit;
    this.afterUpdate();
  }

  private showError(text: string): void {
    const notice = h('div', { role: 'alert', 'data-testid': 'error-notice', class: 'notice' }, text);
    this.notices.append(notice);
    setTimeout(() => notice.remove(), 5000);
  }

  /** The send button or Enter: the prompt comes from ProseMirror's state, never the DOM. */
  async submit(): Promise<void> {
    const text = this.text;
    if (!text || this.answering || this.limit) return;
    const files = this.attachments.splice(0);
    this.renderChips();
    this.view.dispatch(this.view.state.tr.replaceWith(0, this.view.state.doc.content.size, schema.node('paragraph')));

    const isNew = this.conversationId === null;
    const conversation = (this.conversationId ??= crypto.randomUUID());
    if (isNew) history.pushState({ conversation }, '', `/chat/${conversation}`);
    this.thread.querySelector('[data-greeting]')?.remove();
    this.thread.append(userTurn(text, files.map((f) => f.name)));
    record('prompt-received', conversation, { text });
    this.answering = true;
    this.afterUpdate();

    let reply: TurnReply;
    try {
      reply = await api<TurnReply>('/__fixture/turn', {
        role: 'user',
        conversation,
        project: this.project ?? undefined,
        model: this.model,
        text,
        attachments: files.map((f) => ({ name: f.name, size: f.size, type: f.type })),
      });
    } catch {
      this.answering = false;
      this.afterUpdate();
      this.showError("Couldn't connect to Claude. Please check your connection.");
      return;
    }
    if (isNew) addRecent(conversation, titleOf(text));
    if (reply.outcome === 'limited') {
      this.answering = false;
      this.applyAccount({ signedOut: false, limit: { resetAt: reply.resetAt } });
      return;
    }
    const answer = reply.answer;
    if (answer.error) {
      const error = answer.error;
      setTimeout(() => {
        this.answering = false;
        this.afterUpdate();
        this.showError(error);
      }, answer.delayMs);
      return;
    }
    this.stream = streamAnswer(this, conversation, answer, isNew ? titleOf(text) : null);
  }

  /** An answer's end: the stop button goes, sending is possible again. */
  answered(): void {
    this.answering = false;
    this.stream = null;
    this.afterUpdate();
  }

  dispose(): void {
    this.disposed = true;
    this.closeMenu();
    this.view.destroy();
  }
}

const DESCRIPTIONS: Record<string, string> = {
  'Claude Opus 4.1': 'Powerful, large model for complex challenges',
  'Claude Sonnet 4.5': 'Smart, efficient model for everyday use',
  'Claude Haiku 4.5': 'Fastest model for daily tasks',
};

// ---------------------------------------------------------------------------------------------------
// Turns

function userTurn(text: string, attachmentNames: string[]): HTMLElement {
  const message = h('div', userMessageAttrs());
  const p = h('p', { class: 'whitespace-pre-wrap break-words' });
  p.textContent = text; // text from another agent stays text
  message.append(p);
  const files = attachmentNames.map((name) => h('div', { 'data-testid': 'file-thumbnail', class: 'file-chip' }, h('span', { class: 'file-name' }, name)));
  return h(
    'div',
    { 'data-test-render-count': '1' },
    h('div', { class: 'mb-1 mt-1 user-turn' }, ...(files.length ? [h('div', { class: 'attachments flex flex-wrap gap-2 justify-end' }, ...files)] : []), h('div', { class: 'user-bubble rounded-xl px-3 py-2' }, message)),
  );
}

interface AnswerTurn {
  container: HTMLElement;
  /** the element that carries data-is-streaming (unless the variant has no marker) */
  marked: HTMLElement;
  /** the Markdown's rendering goes here */
  content: HTMLElement;
  answer: HTMLElement;
}

function answerTurn(html: string, state: 'streaming' | 'finished'): AnswerTurn {
  const content = h('div', { class: 'grid-cols-1 grid gap-2.5 [&_>_*]:min-w-0 standard-markdown' });
  content.innerHTML = html;
  markArtifacts(content);
  const answer = h('div', { class: answerClass() }, h('div', {}, content));
  const marked = h('div', { class: 'group relative -tracking-[0.015em] pb-3', 'data-is-streaming': variant.streamingMarker === false ? undefined : String(state === 'streaming') }, answer);
  if (state === 'finished') marked.append(messageActions());
  const container = h('div', { 'data-test-render-count': '1' }, h('div', { style: 'height: auto;' }, marked));
  return { container, marked, content, answer };
}

/** Under a finished answer: Copy and Retry, outside the answer's own element, as on the site. */
function messageActions(): HTMLElement {
  return h('div', { role: 'group', 'aria-label': 'Message actions', class: 'message-actions flex gap-1 text-xs' }, h('button', { type: 'button', 'aria-label': 'Copy' }, 'Copy'), h('button', { type: 'button', 'aria-label': 'Retry' }, 'Retry'));
}

/**
 * The answer's nodes in document order, each with its parent's index, so they can be written out a
 * few characters at a time and keep their identity — text nodes grow, as they do on the site.
 */
interface RevealOp {
  parent: number;
  element?: Node;
  text?: string;
}

function revealOps(root: Node): RevealOp[] {
  const ops: RevealOp[] = [];
  const walk = (node: Node, parent: number) => {
    for (const child of [...node.childNodes]) {
      if (child.nodeType === Node.TEXT_NODE) ops.push({ parent, text: (child as Text).data });
      else if (child.nodeType === Node.ELEMENT_NODE) {
        ops.push({ parent, element: child.cloneNode(false) });
        walk(child, ops.length - 1);
      }
    }
  };
  walk(root, -1);
  return ops;
}

/** Streams `spec` into a new answer in `screen`; returns the handle its stop button uses. */
function streamAnswer(screen: Screen, conversation: string, spec: AnswerSpec, title: string | null): Stream {
  let stopped = false;
  let turn: AnswerTurn | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const start = () => {
    turn = answerTurn('', 'streaming');
    screen.thread.append(turn.container);
    if (title) document.title = documentTitleOf(title);
    record('answer-started', conversation);
  };

  const finish = () => {
    clearTimeout(timer);
    if (!turn) start();
    const t = turn!;
    if (t.marked.hasAttribute('data-is-streaming')) t.marked.setAttribute('data-is-streaming', 'false');
    t.marked.append(messageActions());
    screen.answered();
    const text = t.answer.innerText;
    record('answer-ended', conversation, { text, ...(stopped ? { stopped: true } : {}) });
    void api('/__fixture/turn', { role: 'assistant', conversation, html: stopped ? t.content.innerHTML : (spec.html ?? spec.chunks?.join('') ?? ''), text, stopped }).catch(() => undefined);
  };

  // Each tick writes the next piece; the last piece, the marker's flip and the stop button's removal
  // happen in one task, so "answer-ended" is when the page says it is done.
  let tick: () => boolean;
  if (spec.chunks) {
    const chunks = spec.chunks;
    let shown = 0;
    tick = () => {
      shown++;
      turn!.content.innerHTML = chunks.slice(0, shown).join('');
      markArtifacts(turn!.content);
      return shown >= chunks.length;
    };
  } else {
    const template = document.createElement('template');
    template.innerHTML = spec.html ?? '';
    markArtifacts(template.content);
    const ops = revealOps(template.content);
    const created: Node[] = [];
    let index = 0;
    let offset = 0;
    tick = () => {
      let budget = spec.chunkChars;
      while (index < ops.length) {
        const op = ops[index];
        const parent = op.parent < 0 ? turn!.content : created[op.parent];
        if (op.element) {
          created[index] = parent.appendChild(op.element);
          index++;
          continue;
        }
        created[index] ??= parent.appendChild(document.createTextNode(''));
        if (budget <= 0) break;
        const text = op.text!;
        const take = Math.min(budget, text.length - offset);
        (created[index] as Text).appendData(text.slice(offset, offset + take));
        offset += take;
        budget -= take;
        if (offset >= text.length) {
          index++;
          offset = 0;
        }
      }
      return index >= ops.length;
    };
  }

  const step = () => {
    if (stopped) return;
    if (!turn) start();
    if (tick()) finish();
    else timer = setTimeout(step, spec.chunkMs);
  };
  timer = setTimeout(step, spec.delayMs);

  return {
    stop() {
      if (stopped) return;
      stopped = true;
      finish();
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// The app: sidebar, the current screen, client-side navigation, polling the account

const root = document.getElementById('root')!;
let screen: Screen | null = null;
const recentList = h('ul', { class: 'recents flex flex-col gap-0.5' });

function addRecent(id: string, title: string): void {
  const link = h('a', { href: `/chat/${id}`, 'data-spa': '', class: 'recent truncate' }, title);
  recentList.prepend(h('li', {}, link));
}

function render(data: Boot): void {
  boot = data;
  screen?.dispose();
  screen = new Screen(data);
  recentList.replaceChildren();
  for (const recent of [...data.recent].reverse()) addRecent(recent.id, recent.title);
  const newChat = h('a', { href: '/new', 'data-spa': '', class: 'new-chat' }, 'New chat');
  const sidebar = h('nav', { 'aria-label': 'Sidebar', class: 'sidebar flex flex-col gap-2 p-3' }, h('div', { class: 'brand' }, 'Claude'), newChat, h('h3', { class: 'text-xs' }, 'Recents'), recentList);
  root.replaceChildren(h('div', { class: 'app flex min-h-screen' }, sidebar, screen.main));
  document.title = documentTitleOf(data.conversation?.title ?? null);
}

/** A link inside the app changes the page without a reload, as the site's router does. */
async function navigate(path: string, push: boolean): Promise<void> {
  const response = await fetch(`/__fixture/boot?path=${encodeURIComponent(path)}`);
  if (response.status === 401) {
    location.replace('/login');
    return;
  }
  const data = (await response.json()) as Boot;
  if (push) history.pushState({}, '', path);
  render(data);
}

document.addEventListener('click', (event) => {
  const link = (event.target as Element | null)?.closest?.('a[data-spa]');
  if (!link || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey) return;
  event.preventDefault();
  void navigate(link.getAttribute('href')!, true);
});
window.addEventListener('popstate', () => void navigate(location.pathname, false));

async function poll(): Promise<void> {
  try {
    const account = await api<AccountState>('/__fixture/state');
    screen?.applyAccount(account);
  } catch {
    // the server went away (a test closed it): nothing to show
  }
  setTimeout(poll, POLL_MS);
}

window.__fixture = {
  timeline,
  editorText: () => (screen ? editorText(screen.view.state) : ''),
  attachments: () => (screen?.attachments ?? []).map((f) => ({ name: f.name, size: f.size, type: f.type })),
  model: () => screen?.model ?? '',
  variant,
};

function start(): void {
  render(boot);
  setTimeout(poll, POLL_MS);
}

if (variant.renderDelayMs) {
  root.append(h('div', { class: 'loading' }, 'Loading…'));
  window.addEventListener('load', () => setTimeout(start, variant.renderDelayMs));
} else start();
