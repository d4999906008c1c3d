/**
 * claude.ai conversations as agents (issue 6), on the hub's side. Each tab's content script
 * (./tab-agent.ts) reports what its page shows; this adapter names the conversations, types one
 * prompt at a time into each (the bus asks `busy` before every attempt), turns finished answers into
 * replies that ack their prompts, and holds a conversation's queue while claude.ai cannot take work.
 *
 * Addresses: `claude-ai:local/chat-<id>` for the conversation at /chat/<id>; `claude-ai:local/new`
 * asks for a new conversation (headers `model`, `project`), which is then
 * `claude-ai:local/new-<message id>` until the site gives it its /chat/<id>, and after that too.
 */
import { parseAddress } from '../../protocol/address';
import { newMessageId, type SendRequest } from '../../protocol/envelope';
import { TabReport, type AnswerReport, type TabCommand, type TabView } from '../../protocol/claude-tab';
import type { AgentAdapter, DeliveryAttempt, DeliveryOutcome } from '../../bus/ports';
import type { DeliveryChange } from '../../bus/bus';
import type { DestinationRecord, HoldRequest } from '../../bus/destinations';

export const CLAUDE_ORIGIN = 'https://claude.ai';
export const DEVICE = 'local';
export const NEW_CONVERSATION = `claude-ai:${DEVICE}/new`;
/** Every hold this adapter places says so, so it lifts only its own. */
const HOLD_PREFIX = 'claude.ai: ';
/** A reservation whose attempt never came (the claim's transaction failed) ends after this. */
const RESERVATION_MS = 40_000;
const OPEN_TIMEOUT_MS = 20_000;
const TYPE_TIMEOUT_MS = 25_000;

export interface TabPortLike {
  postMessage(command: TabCommand): void;
}

/** What the adapter needs from the hub and the browser. */
export interface ClaudeTabsHub {
  send(request: SendRequest): Promise<unknown>;
  ack(messageId: string, recipient: string): Promise<unknown>;
  hold(request: HoldRequest): Promise<unknown>;
  release(address: string): Promise<unknown>;
  destinations(): DestinationRecord[];
  /** the agent can take its next message: wake its waiting deliveries */
  reachable(addresses: string[]): Promise<void>;
  progress(change: Omit<DeliveryChange, 'at' | 'progress'>): void;
  noteAgent(address: string): Promise<void>;
  openTab(url: string): Promise<number>;
  /** a new conversation's first address and its /chat/<id>, kept across worker restarts */
  aliases: { load(): Promise<Record<string, string>>; save(aliases: Record<string, string>): Promise<void> };
  now(): number;
  log(...args: unknown[]): void;
}

interface Tab {
  tabId: number;
  port: TabPortLike;
  view?: TabView;
  /** the `new-<message id>` this tab's conversation was created as */
  createdAs?: string;
  reservedAt?: number;
  answering?: { messageId: string; recipient: string; attempt: number };
  requests: Map<string, (report: Extract<TabReport, { type: 'typed' | 'refused' }>) => void>;
}

/** One agent as the hub lists it. */
export interface ClaudeTabAgent {
  address: string | undefined;
  tabId: number;
  url: string;
  title: string;
  state: TabView['page']['state'] | 'connecting';
  /** why, for a state that is not ready */
  detail?: string;
  personWriting: boolean;
  answering?: { messageId: string; chars: number };
  adapterVersion?: string;
  matched?: Record<string, number>;
}

export class ClaudeTabs implements AgentAdapter {
  readonly kind = 'claude-ai' as const;
  private readonly tabs = new Map<number, Tab>();
  private readonly chars = new Map<string, number>();
  private aliases: Record<string, string> = {};
  private readonly loaded: Promise<void>;
  private readonly waiters = new Set<() => void>();

  constructor(private readonly hub: ClaudeTabsHub) {
    this.loaded = hub.aliases.load().then(
      (aliases) => void (this.aliases = { ...aliases, ...this.aliases }),
      (error) => hub.log('Switchboard: could not load claude.ai aliases', error),
    );
  }

  /** A tab's content script connected. Returns what to call with each report and on disconnect. */
  connect(tabId: number, port: TabPortLike): { report(raw: unknown): void; disconnected(): void } {
    const previous = this.tabs.get(tabId);
    const tab: Tab = { tabId, port, requests: new Map(), createdAs: previous?.createdAs, answering: previous?.answering };
    this.tabs.set(tabId, tab);
    return {
      report: (raw) => {
        const parsed = TabReport.safeParse(raw);
        if (!parsed.success) {
          this.hub.log(`Switchboard: tab ${tabId} sent a report that is not one:`, parsed.error.issues[0]?.message);
          return;
        }
        void this.onReport(tab, parsed.data).catch((error) => this.hub.log('Switchboard: claude.ai report failed', error));
      },
      disconnected: () => {
        if (this.tabs.get(tabId) !== tab) return;
        this.tabs.delete(tabId);
        for (const settle of tab.requests.values()) settle({ type: 'refused', requestId: '', reason: 'the tab closed or navigated away', final: false });
        this.notify();
        // Work that waited for this tab goes on (it may reopen the conversation).
        const address = this.addressOf(tab);
        if (address) void this.hub.reachable([address]);
      },
    };
  }

  /** The conversations open now, for the popup and the dashboard. */
  agents(): ClaudeTabAgent[] {
    return [...this.tabs.values()].map((tab) => {
      const page = tab.view?.page;
      return {
        address: this.addressOf(tab),
        tabId: tab.tabId,
        url: tab.view?.url ?? '',
        title: tab.view?.title ?? '',
        state: page?.state ?? 'connecting',
        ...(page && 'text' in page ? { detail: page.text } : {}),
        ...(page?.state === 'broken' ? { detail: `adapter broken: ${page.missing.join(', ')} not found` } : {}),
        personWriting: tab.view?.personWriting ?? false,
        ...(tab.answering ? { answering: { messageId: tab.answering.messageId, chars: this.chars.get(tab.answering.messageId) ?? 0 } } : {}),
        ...(tab.view ? { adapterVersion: tab.view.adapterVersion, matched: tab.view.matched } : {}),
      };
    });
  }

  busy(recipient: string): string | undefined {
    if (recipient === NEW_CONVERSATION) return undefined; // each takes a free tab or opens one
    const tab = this.tabOf(recipient);
    if (!tab) return undefined; // deliver opens the conversation
    if (tab.reservedAt !== undefined && this.hub.now() - tab.reservedAt < RESERVATION_MS) return 'a prompt is being typed into this conversation';
    if (tab.answering) return `answering ${tab.answering.messageId}`;
    const view = tab.view;
    if (!view) return 'the tab is connecting';
    if (view.personWriting) return 'the person is writing in this conversation';
    if (view.page.state === 'answering') return 'Claude is answering in this conversation';
    if (view.page.state === 'loading') return 'the page is loading';
    return undefined;
  }

  reserve(recipient: string): void {
    const tab = this.tabOf(recipient);
    if (tab) tab.reservedAt = this.hub.now();
  }

  async deliver({ envelope, recipient, attempt }: DeliveryAttempt): Promise<DeliveryOutcome> {
    await this.loaded;
    const instance = parseAddress(recipient);
    if (instance?.type !== 'agent' || instance.device !== DEVICE) return { status: 'failed', reason: `${recipient} is not a claude.ai conversation in this browser` };
    let found: Tab | { failed: string };
    try {
      found = await this.tabFor(recipient, envelope.headers ?? {});
    } catch (error) {
      return { status: 'retry', reason: error instanceof Error ? error.message : String(error) };
    }
    if ('failed' in found) return { status: 'failed', reason: found.failed };
    const tab = found;
    const requestId = newMessageId();
    const command: TabCommand = {
      type: 'prompt',
      requestId,
      messageId: envelope.id,
      recipient,
      replyTo: envelope.replyTo,
      // Chosen now and kept by the tab with the prompt: an answer reported twice is stored once.
      replyId: newMessageId(),
      threadId: envelope.threadId,
      text: promptText(envelope),
      files: (envelope.body.attachments ?? []).map((a) => ({ name: a.name, mimeType: a.mimeType, data: a.data })),
      ...(envelope.headers?.model && recipient === NEW_CONVERSATION ? { model: envelope.headers.model } : {}),
    };
    tab.reservedAt = this.hub.now();
    const answer = await this.request(tab, command);
    tab.reservedAt = undefined;
    if (answer.type === 'refused') {
      void this.free(tab);
      return answer.final ? { status: 'failed', reason: answer.reason } : { status: 'retry', reason: answer.reason };
    }
    tab.answering = { messageId: envelope.id, recipient, attempt };
    if (recipient === NEW_CONVERSATION) {
      tab.createdAs = `claude-ai:${DEVICE}/new-${envelope.id}`;
      if (answer.conversationId) await this.remember(tab.createdAs, answer.conversationId);
    }
    const address = this.addressOf(tab);
    if (address) await this.hub.noteAgent(address);
    this.notify();
    return { status: 'delivered' };
  }

  private async onReport(tab: Tab, report: TabReport): Promise<void> {
    switch (report.type) {
      case 'view': {
        const before = tab.view;
        tab.view = report.view;
        if (report.view.conversationId && tab.createdAs) await this.remember(tab.createdAs, report.view.conversationId);
        const address = this.addressOf(tab);
        if (address && !before) await this.hub.noteAgent(address);
        await this.followState(tab, before);
        this.notify();
        return;
      }
      case 'typed':
      case 'refused':
        tab.requests.get(report.requestId)?.(report);
        return;
      case 'progress':
        this.chars.set(report.messageId, report.chars);
        this.hub.progress({
          messageId: report.messageId,
          recipient: report.recipient,
          state: 'delivered',
          attempts: tab.answering?.attempt ?? 1,
          note: `answering: ${report.chars.toLocaleString('en')} characters so far`,
        });
        return;
      case 'answer':
        await this.storeAnswer(tab, report.answer);
        return;
      case 'no-answer':
        this.hub.log(`Switchboard: no answer to ${report.messageId} in tab ${tab.tabId}: ${report.reason}`);
        if (tab.answering?.messageId === report.messageId) tab.answering = undefined;
        this.chars.delete(report.messageId);
        // Not acked: the bus tries the prompt again when its ack times out, after the hold.
        await this.free(tab);
        return;
    }
  }

  /** The answer becomes a reply to whoever asked, which acks the prompt; a resent answer is stored once. */
  private async storeAnswer(tab: Tab, answer: AnswerReport): Promise<void> {
    if (answer.conversationId && tab.createdAs) await this.remember(tab.createdAs, answer.conversationId);
    const from = answer.conversationId ? chatAddress(answer.conversationId) : (this.addressOf(tab) ?? answer.recipient);
    await this.hub.send({
      id: answer.replyId,
      from,
      to: [answer.replyTo],
      replyTo: from,
      inReplyTo: answer.messageId,
      threadId: answer.threadId,
      kind: 'reply',
      body: { text: answer.markdown || '(the answer was empty)' },
    });
    await this.hub.ack(answer.messageId, answer.recipient).catch((error) => this.hub.log(`Switchboard: could not ack ${answer.messageId}`, error));
    tab.port.postMessage({ type: 'answer-stored', messageId: answer.messageId });
    this.chars.delete(answer.messageId);
    if (tab.answering?.messageId === answer.messageId) tab.answering = undefined;
    await this.free(tab);
  }

  /** Holds a conversation's queue while its page cannot take work, and lifts the holds it placed. */
  private async followState(tab: Tab, before: TabView | undefined): Promise<void> {
    const page = tab.view!.page;
    const addresses = [this.addressOf(tab) ?? NEW_CONVERSATION];
    // A limit or a sign-out is the account's: new conversations wait too, and a page that works
    // again lifts that for them as well.
    if (page.state === 'rate-limited' || page.state === 'signed-out' || page.state === 'ready') addresses.push(NEW_CONVERSATION);
    const hold = holdOf(page);
    for (const address of new Set(addresses)) {
      const current = this.hub.destinations().find((d) => d.address === address)?.hold;
      if (hold) {
        if (current && (!current.reason.startsWith(HOLD_PREFIX) || current.reason === hold.reason)) continue;
        await this.hub.hold({ address, ...hold });
        if (page.state === 'broken') this.hub.log(`Switchboard: ${address}: ${hold.reason.slice(HOLD_PREFIX.length)}`);
      } else if (current?.reason.startsWith(HOLD_PREFIX) && (page.state === 'ready' || page.state === 'answering')) {
        await this.hub.release(address);
      }
    }
    const freed = before && (before.personWriting || before.page.state !== 'ready') && !tab.view!.personWriting && page.state === 'ready';
    if (freed || !before) await this.free(tab);
  }

  /** The tab can take the next prompt: its conversation's waiting messages go now. */
  private async free(tab: Tab): Promise<void> {
    tab.reservedAt = undefined;
    const address = this.addressOf(tab);
    await this.hub.reachable(address ? [address, NEW_CONVERSATION] : [NEW_CONVERSATION]);
  }

  private request(tab: Tab, command: Extract<TabCommand, { type: 'prompt' }>): Promise<Extract<TabReport, { type: 'typed' | 'refused' }>> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => settle({ type: 'refused', requestId: command.requestId, reason: `the tab did not answer within ${TYPE_TIMEOUT_MS / 1_000} s`, final: false }), TYPE_TIMEOUT_MS);
      const settle = (report: Extract<TabReport, { type: 'typed' | 'refused' }>) => {
        clearTimeout(timer);
        tab.requests.delete(command.requestId);
        resolve(report);
      };
      tab.requests.set(command.requestId, settle);
      try {
        tab.port.postMessage(command);
      } catch {
        settle({ type: 'refused', requestId: command.requestId, reason: 'the tab went away', final: false });
      }
    });
  }

  /** The tab to type into for `recipient`, opening one when the conversation is not open. */
  private async tabFor(recipient: string, headers: Record<string, string>): Promise<Tab | { failed: string }> {
    const open = this.tabOf(recipient);
    if (open) return this.ready(open.tabId);
    if (recipient === NEW_CONVERSATION) {
      const free = [...this.tabs.values()].find(
        (t) => t.view && !t.view.conversationId && !t.createdAs && !t.answering && t.reservedAt === undefined && t.view.page.state === 'ready' && !t.view.personWriting && !headers.project,
      );
      if (free) return free;
      const url = headers.project ? `${CLAUDE_ORIGIN}/project/${encodeURIComponent(headers.project)}` : `${CLAUDE_ORIGIN}/new`;
      return this.ready(await this.hub.openTab(url));
    }
    const instance = (parseAddress(recipient) as { instance: string }).instance;
    const conversation = /^chat-(.+)$/.exec(instance)?.[1] ?? this.aliases[recipient];
    if (!conversation) {
      if (instance.startsWith('new-')) return { failed: `${recipient} was a new conversation that never got its address; send to ${NEW_CONVERSATION} instead` };
      return { failed: `${recipient} is not a claude.ai conversation: use ${NEW_CONVERSATION} or claude-ai:${DEVICE}/chat-<id>` };
    }
    return this.ready(await this.hub.openTab(`${CLAUDE_ORIGIN}/chat/${encodeURIComponent(conversation)}`));
  }

  /** Waits until the tab's content script has connected and said what its page shows. */
  private async ready(tabId: number): Promise<Tab> {
    const end = this.hub.now() + OPEN_TIMEOUT_MS;
    for (;;) {
      const tab = this.tabs.get(tabId);
      if (tab?.view && tab.view.page.state !== 'loading') return tab;
      if (this.hub.now() > end) throw new Error(`the claude.ai tab ${tabId} did not become ready within ${OPEN_TIMEOUT_MS / 1_000} s`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, 500);
        function done() {
          clearTimeout(timer);
          resolve();
        }
        this.waiters.add(done);
      });
    }
  }

  private notify(): void {
    for (const waiter of this.waiters) waiter();
    this.waiters.clear();
  }

  private tabOf(recipient: string): Tab | undefined {
    const conversation = this.aliases[recipient];
    for (const tab of this.tabs.values()) {
      if (this.addressOf(tab) === recipient || tab.createdAs === recipient) return tab;
      if (conversation && tab.view?.conversationId === conversation) return tab;
    }
    return undefined;
  }

  private addressOf(tab: Tab): string | undefined {
    return tab.view?.conversationId ? chatAddress(tab.view.conversationId) : tab.createdAs;
  }

  private async remember(createdAs: string, conversationId: string): Promise<void> {
    if (this.aliases[createdAs] === conversationId) return;
    this.aliases = { ...this.aliases, [createdAs]: conversationId };
    // Only the newest few hundred are kept: an alias matters while people still answer to it.
    const entries = Object.entries(this.aliases);
    if (entries.length > 500) this.aliases = Object.fromEntries(entries.slice(-500));
    await this.hub.aliases.save(this.aliases);
  }
}

export function chatAddress(conversationId: string): string {
  return `claude-ai:${DEVICE}/chat-${conversationId}`;
}

/** A prompt's text: the body's text, then its code blocks as fenced Markdown. */
function promptText(envelope: DeliveryAttempt['envelope']): string {
  const code = (envelope.body.code ?? []).map((block) => `\`\`\`${block.language ?? ''}\n${block.code}\n\`\`\``);
  return [envelope.body.text, ...code].filter(Boolean).join('\n\n');
}

function holdOf(page: TabView['page']): Omit<HoldRequest, 'address'> | undefined {
  switch (page.state) {
    case 'rate-limited':
      return page.resetAt
        ? { strategy: 'session_pause', until: page.resetAt, reason: `${HOLD_PREFIX}usage limit (${page.text.slice(0, 200)})` }
        : { strategy: 'exponential_backoff', reason: `${HOLD_PREFIX}usage limit (${page.text.slice(0, 200)})` };
    case 'signed-out':
      return { strategy: 'exponential_backoff', reason: `${HOLD_PREFIX}signed out` };
    case 'broken':
      return { strategy: 'exponential_backoff', reason: `${HOLD_PREFIX}adapter broken: ${page.missing.join(', ')} not found` };
    default:
      return undefined;
  }
}
