/**
 * The claude.ai fixture's server (issue 6): HTTPS on 127.0.0.1 with a self-signed certificate for
 * `claude.ai`, so Chromium started with `claudeSiteArgs(site)` loads `https://claude.ai/new` from here
 * and the production manifest's content script runs on it (ARCHITECTURE.md, "Browser").
 *
 * Pages: `/` (→ `/new`), `/new`, `/chat/<id>` (with the conversation's earlier turns), `/project/<id>`
 * (a new conversation in that project), `/login`; signed out, the app's pages redirect to `/login`.
 * The page script (page.ts) is bundled with esbuild when the first server starts and served as
 * `/fixture.js`; it talks to the server under `/__fixture/`. The test drives the server through
 * `control`, plain methods in Node.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { build } from 'esbuild';
import { generate } from 'selfsigned';
import { defaultAnswerHtml, escapeHtml } from './answers';
import {
  titleOf,
  type AccountState,
  type AnswerSpec,
  type AttachmentInfo,
  type Boot,
  type Conversation,
  type LimitState,
  type TimelineEvent,
  type Turn,
  type TurnReply,
  type VariantSpec,
} from './protocol';

export { artifactCard, codeBlock, defaultAnswerHtml, escapeHtml, paragraph, DEFAULT_CODE } from './answers';
export { limitNoticeText, titleOf, type Conversation, type TimelineEvent, type Turn, type VariantSpec } from './protocol';

export const MODELS = ['Claude Opus 4.1', 'Claude Sonnet 4.5', 'Claude Haiku 4.5'];
export const DEFAULT_MODEL = 'Claude Sonnet 4.5';
const ORIGIN = 'https://claude.ai';

/** An answer a test scripts; unset fields take the defaults of `AnswerSpec`. */
export interface ScriptedAnswer {
  /** the answer's HTML (see answers.ts for the site's markup: paragraph, codeBlock, artifactCard) */
  html?: string;
  /** or HTML pieces shown cumulatively, one per tick */
  chunks?: string[];
  /** between chunks; default 30 */
  chunkMs?: number;
  /** characters of text per chunk in html mode; default 40 */
  chunkChars?: number;
  /** before the first chunk; default 50 */
  delayMs?: number;
  /** an error notice instead of an answer ("Something went wrong…") */
  error?: string;
}

export interface ClaudeSiteOptions {
  /** the variant to render (default: every part in its primary markup) */
  variant?: VariantSpec;
  /** start signed out */
  signedOut?: boolean;
  /** defaults for every answer that does not set its own */
  answerDefaults?: Pick<ScriptedAnswer, 'chunkMs' | 'chunkChars' | 'delayMs'>;
}

export interface ClaudeSiteControl {
  /** How the next page loads render their parts; replaces the whole spec. */
  setVariant(spec: VariantSpec): void;
  /**
   * The account hits its usage limit. `when: 'now'` (default): open pages show the notice within a
   * poll (200 ms) and every page loads with it; `'next-send'`: pages work until the next prompt, which
   * gets no answer but the notice — from then on it is as 'now'. `endsAtReset`: at `resetAt` the limit
   * lifts itself and sending works again, while open pages keep the notice they show (not reloaded).
   */
  limit(options?: { resetAt?: number; when?: 'now' | 'next-send'; endsAtReset?: boolean }): void;
  /** The limit is lifted: the notice disappears from open pages within a poll. */
  unlimit(): void;
  /** App pages redirect to /login (302); open pages go there at their next poll. */
  signOut(): void;
  signIn(): void;
  /**
   * The answer to a prompt: `'next'` answers the next prompt (once, in the order scripted); a string
   * answers every prompt that contains it, a RegExp every prompt it matches. Unscripted prompts get
   * `defaultAnswerHtml(prompt)`.
   */
  scriptAnswer(match: string | RegExp, answer: ScriptedAnswer): void;
  /** A conversation that exists before the page loads (`/chat/<id>` renders its turns); by default one prompt and one finished answer. */
  addConversation(conversation?: Partial<Omit<Conversation, 'turns'>> & { turns?: Turn[] }): Conversation;
  conversations(): Conversation[];
  conversation(id: string): Conversation | undefined;
  /** Every timeline event the pages posted, in arrival order. */
  timeline(): TimelineEvent[];
  /** Back to the start: no conversations, scripts or timeline; signed in, not limited, default variant. */
  reset(): void;
}

export interface ClaudeSite {
  port: number;
  /** `https://claude.ai`, as the browser sees it */
  origin: string;
  /** `https://claude.ai<path>` */
  url(path?: string): string;
  control: ClaudeSiteControl;
  close(): Promise<void>;
}

/** Chromium's arguments that send claude.ai to this server and accept its certificate. */
export function claudeSiteArgs(site: Pick<ClaudeSite, 'port'>): string[] {
  return [`--host-resolver-rules=MAP claude.ai 127.0.0.1:${site.port}`, '--ignore-certificate-errors'];
}

// The bundle and the certificate are made once per process: every server serves the same ones.
let bundle: Promise<string> | undefined;
let certificate: Promise<{ key: string; cert: string }> | undefined;

function pageBundle(): Promise<string> {
  bundle ??= build({
    entryPoints: [resolve(import.meta.dirname, 'page.ts')],
    bundle: true,
    write: false,
    format: 'iife',
    target: 'chrome120',
    logLevel: 'silent',
  }).then((result) => result.outputFiles[0].text);
  return bundle;
}

function claudeCertificate(): Promise<{ key: string; cert: string }> {
  certificate ??= generate([{ name: 'commonName', value: 'claude.ai' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [{ type: 2, value: 'claude.ai' }, { type: 7, ip: '127.0.0.1' }] },
    ],
  }).then((pems) => ({ key: pems.private, cert: pems.cert }));
  return certificate;
}

interface Rule {
  match: 'next' | string | RegExp;
  answer: ScriptedAnswer;
}

/** A prompt a page posted. */
function userTurnOf(body: Record<string, unknown>) {
  return {
    conversation: String(body.conversation),
    project: typeof body.project === 'string' ? body.project : undefined,
    model: typeof body.model === 'string' ? body.model : DEFAULT_MODEL,
    text: String(body.text ?? ''),
    attachments: Array.isArray(body.attachments) ? (body.attachments as AttachmentInfo[]) : [],
  };
}

export async function startClaudeSite(options: ClaudeSiteOptions = {}): Promise<ClaudeSite> {
  const [script, tls] = await Promise.all([pageBundle(), claudeCertificate()]);
  const answerDefaults = { chunkMs: 30, chunkChars: 40, delayMs: 50, ...options.answerDefaults };

  let variant: VariantSpec = { ...options.variant };
  let signedOut = options.signedOut ?? false;
  let limit: (LimitState & { pending: boolean; endsAtReset: boolean }) | null = null;
  let rules: Rule[] = [];
  let timeline: TimelineEvent[] = [];
  const conversations = new Map<string, Conversation>();

  const account = (): AccountState => {
    // A limit with `endsAtReset` lifts itself at its reset time, as the site's does.
    if (limit?.endsAtReset && limit.resetAt !== undefined && Date.now() >= limit.resetAt) return { signedOut, limit: null, staleLimitNotice: true };
    return { signedOut, limit: limit && !limit.pending ? { resetAt: limit.resetAt } : null };
  };

  const bootFor = (path: string): Boot => {
    const chat = /^\/chat\/([^/]+)\/?$/.exec(path);
    const project = /^\/project\/([^/]+)\/?$/.exec(path);
    return {
      path,
      variant,
      account: account(),
      conversation: chat ? (conversations.get(decodeURIComponent(chat[1])) ?? null) : null,
      project: project ? decodeURIComponent(project[1]) : null,
      recent: [...conversations.values()].sort((a, b) => b.createdAt - a.createdAt).slice(0, 20).map((c) => ({ id: c.id, title: c.title })),
      models: MODELS,
      defaultModel: DEFAULT_MODEL,
    };
  };

  const answerFor = (prompt: string): AnswerSpec => {
    const index = rules.findIndex((r) => (r.match === 'next' ? true : typeof r.match === 'string' ? prompt.includes(r.match) : r.match.test(prompt)));
    const scripted = index >= 0 ? rules[index].answer : undefined;
    if (index >= 0 && rules[index].match === 'next') rules.splice(index, 1);
    const html = scripted?.html ?? (scripted?.chunks ? undefined : defaultAnswerHtml(prompt));
    return {
      ...(html !== undefined ? { html } : {}),
      ...(scripted?.chunks ? { chunks: scripted.chunks } : {}),
      ...(scripted?.error ? { error: scripted.error } : {}),
      chunkMs: scripted?.chunkMs ?? answerDefaults.chunkMs,
      chunkChars: scripted?.chunkChars ?? answerDefaults.chunkChars,
      delayMs: scripted?.delayMs ?? answerDefaults.delayMs,
    };
  };

  const onTurn = (body: Record<string, unknown>): TurnReply | { ok: true } => {
    if (body.role === 'assistant') {
      const conversation = conversations.get(String(body.conversation));
      conversation?.turns.push({ role: 'assistant', html: String(body.html ?? ''), text: String(body.text ?? ''), stopped: body.stopped === true, at: Date.now() });
      return { ok: true };
    }
    const turn = userTurnOf(body);
    let conversation = conversations.get(turn.conversation);
    if (!conversation) {
      conversation = { id: turn.conversation, title: titleOf(turn.text), project: turn.project, model: turn.model, turns: [], createdAt: Date.now() };
      conversations.set(conversation.id, conversation);
    }
    conversation.model = turn.model;
    conversation.turns.push({ role: 'user', text: turn.text, attachments: turn.attachments, model: turn.model, at: Date.now() });
    const hasReset = limit?.endsAtReset && limit.resetAt !== undefined && Date.now() >= limit.resetAt;
    if (limit && !hasReset) {
      limit.pending = false;
      return { outcome: 'limited', resetAt: limit.resetAt };
    }
    return { outcome: 'answer', answer: answerFor(turn.text) };
  };

  const appPage = (path: string) => {
    const data = JSON.stringify(bootFor(path)).replace(/</g, '\\u003c');
    return `<!doctype html>
<html lang="en-US"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Claude</title><style>${APP_CSS}</style></head>
<body class="bg-bg-100 text-text-100 font-ui min-h-screen"><div id="root"></div>
<script>window.__FIXTURE_BOOT__ = ${data};</script>
<script src="/fixture.js"></script>
</body></html>`;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', ORIGIN);
    const path = url.pathname;
    const send = (status: number, type: string, body: string, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', ...headers });
      res.end(body);
    };
    const json = (value: unknown, status = 200) => send(status, 'application/json', JSON.stringify(value));
    const readJson = async (): Promise<Record<string, unknown>> => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
    };

    if (path === '/fixture.js') return send(200, 'text/javascript; charset=utf-8', script);
    if (path === '/favicon.ico') return send(204, 'image/x-icon', '');
    if (path.startsWith('/__fixture/')) {
      const endpoint = path.slice('/__fixture/'.length);
      if (endpoint === 'state' && req.method === 'GET') return json(account());
      if (endpoint === 'boot' && req.method === 'GET') return signedOut ? json({ error: 'signed out' }, 401) : json(bootFor(url.searchParams.get('path') ?? '/new'));
      if (endpoint === 'turn' && req.method === 'POST') return json(onTurn(await readJson()));
      if (endpoint === 'timeline' && req.method === 'POST') {
        timeline.push((await readJson()) as unknown as TimelineEvent);
        return json({ ok: true });
      }
      return json({ error: `no ${req.method} ${path}` }, 404);
    }
    if (path === '/login') return send(200, 'text/html; charset=utf-8', LOGIN_PAGE);
    if (path === '/' || path === '/new' || /^\/(chat|project)\/[^/]+\/?$/.test(path)) {
      if (signedOut) return send(302, 'text/plain', '', { location: '/login' });
      if (path === '/') return send(302, 'text/plain', '', { location: '/new' });
      return send(200, 'text/html; charset=utf-8', appPage(path));
    }
    return send(404, 'text/html; charset=utf-8', `<!doctype html><title>Not found</title><h1>Page not found</h1><p>${escapeHtml(path)}</p>`);
  };

  const server: Server = createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(error));
    });
  });
  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => done());
  });
  const port = (server.address() as AddressInfo).port;

  const control: ClaudeSiteControl = {
    setVariant(spec) {
      variant = { ...spec };
    },
    limit({ resetAt, when = 'now', endsAtReset = false } = {}) {
      limit = { resetAt, pending: when === 'next-send', endsAtReset };
    },
    unlimit() {
      limit = null;
    },
    signOut() {
      signedOut = true;
    },
    signIn() {
      signedOut = false;
    },
    scriptAnswer(match, answer) {
      rules.push({ match, answer });
    },
    addConversation(seed = {}) {
      const prompt = 'What is the Fibonacci sequence?';
      const conversation: Conversation = {
        id: seed.id ?? randomUUID(),
        title: seed.title ?? titleOf(prompt),
        project: seed.project,
        model: seed.model ?? DEFAULT_MODEL,
        createdAt: seed.createdAt ?? Date.now(),
        turns: seed.turns ?? [
          { role: 'user', text: prompt, attachments: [], model: seed.model ?? DEFAULT_MODEL, at: Date.now() },
          { role: 'assistant', html: defaultAnswerHtml(prompt), text: textOf(defaultAnswerHtml(prompt)), stopped: false, at: Date.now() },
        ],
      };
      conversations.set(conversation.id, conversation);
      return structuredClone(conversation);
    },
    conversations: () => structuredClone([...conversations.values()]),
    conversation: (id) => structuredClone(conversations.get(id)),
    timeline: () => structuredClone(timeline),
    reset() {
      variant = { ...options.variant };
      signedOut = options.signedOut ?? false;
      limit = null;
      rules = [];
      timeline = [];
      conversations.clear();
    },
  };

  return {
    port,
    origin: ORIGIN,
    url: (path = '/new') => `${ORIGIN}${path}`,
    control,
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}

/** Roughly what a page's innerText would give for an answer seeded without a page. */
function textOf(html: string): string {
  return html
    .replace(/<[^>]+>/g, ' ')
    .replace(/&(amp|lt|gt|quot|#39);/g, (_, e: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'" })[e]!)
    .replace(/[ \t]+/g, ' ')
    .trim();
}

const LOGIN_PAGE = `<!doctype html>
<html lang="en-US"><head><meta charset="utf-8"><title>Log in - Claude</title><style>
body { margin: 0; font-family: system-ui, sans-serif; background: #f5f4ed; color: #141413; display: grid; place-items: center; min-height: 100vh; }
main { width: 22rem; display: flex; flex-direction: column; gap: .75rem; }
h1 { font-family: Georgia, serif; font-weight: 400; font-size: 2rem; text-align: center; }
button, input { font: inherit; padding: .6rem .8rem; border-radius: .5rem; border: 1px solid #d6d3c9; }
button { background: #fff; cursor: pointer; }
.primary { background: #141413; color: #fff; }
</style></head>
<body><main>
<h1>Log in</h1>
<p>Your ideas, amplified</p>
<button type="button" data-provider="google">Continue with Google</button>
<div class="divider">OR</div>
<input type="email" name="email" placeholder="Enter your email" autocomplete="email">
<button type="button" class="primary">Continue with email</button>
<p class="text-xs">By continuing, you agree to Anthropic's Consumer Terms and Usage Policy.</p>
</main></body></html>`;

const APP_CSS = `
*, *::before, *::after { box-sizing: border-box; }
body { margin: 0; font-family: system-ui, -apple-system, sans-serif; background: #f5f4ed; color: #141413; }
.app { display: flex; min-height: 100vh; }
.sidebar { width: 16rem; background: #efede4; border-right: 1px solid #e2dfd4; display: flex; flex-direction: column; gap: .5rem; padding: .75rem; }
.sidebar .brand { font-family: Georgia, serif; font-size: 1.25rem; }
.sidebar a { color: inherit; text-decoration: none; display: block; padding: .3rem .5rem; border-radius: .4rem; overflow: hidden; white-space: nowrap; text-overflow: ellipsis; }
.sidebar a:hover { background: #e6e3d8; }
.recents { list-style: none; margin: 0; padding: 0; }
main { flex: 1; display: flex; flex-direction: column; min-height: 100vh; }
.conversation-header h1 { font-size: .9rem; font-weight: 500; margin: .5rem 1rem; }
.thread { flex: 1; width: 100%; max-width: 48rem; margin: 0 auto; display: flex; flex-direction: column; gap: .75rem; padding: 1.5rem 1rem; }
.greeting h2 { font-family: Georgia, serif; font-weight: 400; font-size: 2rem; text-align: center; margin-top: 20vh; }
.user-turn { display: flex; flex-direction: column; align-items: flex-end; gap: .4rem; }
.user-bubble { background: #e8e5d8; border-radius: .75rem; padding: .5rem .75rem; max-width: 85%; }
.user-bubble p { margin: 0; white-space: pre-wrap; word-break: break-word; }
.standard-markdown { display: grid; gap: .6rem; font-family: Georgia, serif; line-height: 1.65; }
.standard-markdown p, .standard-markdown ol, .standard-markdown ul { margin: 0; }
.standard-markdown code { font-family: ui-monospace, monospace; font-size: .9em; background: #eceadf; padding: 0 .2em; border-radius: .2em; }
.code-block { position: relative; background: #fafaf7; border: 1px solid #e2dfd4; border-radius: .5rem; font-family: ui-monospace, monospace; }
.code-block > div:first-child { font-size: .75rem; color: #6b6a63; padding: .5rem .8rem 0; }
.code-block > div:nth-child(2) { position: absolute; top: .3rem; right: .5rem; }
.code-block > div:nth-child(2) button { font-size: .7rem; border: 1px solid #e2dfd4; background: #fff; border-radius: .3rem; }
.code-block pre { margin: 0; padding: .5rem .8rem .8rem; overflow-x: auto; }
.code-block pre code { background: none; padding: 0; }
.token.keyword { color: #a626a4; } .token.function { color: #4078f2; } .token.string { color: #50a14f; } .token.number { color: #986801; }
[data-testid="artifact-block"], .artifact-block-cell, .artifact-card { border: 1px solid #e2dfd4; border-radius: .5rem; background: #fff; }
[data-testid="artifact-block"] button, .artifact-block-cell button, .artifact-card button { all: unset; display: block; padding: .6rem .8rem; cursor: pointer; }
.artifact-kind { font-size: .75rem; color: #6b6a63; }
.message-actions { display: flex; gap: .25rem; margin-top: .25rem; }
.message-actions button { font-size: .7rem; border: 0; background: none; color: #6b6a63; cursor: pointer; }
.composer-box { position: sticky; bottom: 0; width: 100%; max-width: 48rem; margin: 0 auto; padding: 0 1rem 1rem; }
.notice { background: #fdf1e7; border: 1px solid #f0c9a8; border-radius: .5rem; padding: .5rem .75rem; margin-bottom: .5rem; font-size: .9rem; }
fieldset.composer { border: 1px solid #d6d3c9; border-radius: 1rem; background: #fff; padding: .75rem; margin: 0; min-width: 0; display: flex; flex-direction: column; gap: .5rem; box-shadow: 0 .25rem 1.25rem rgba(0,0,0,.035); }
fieldset [contenteditable] { outline: none; white-space: pre-wrap; word-wrap: break-word; font-variant-ligatures: none; min-height: 1.5rem; }
fieldset [contenteditable] p { margin: 0; }
p.is-editor-empty:first-child::before { content: attr(data-placeholder); color: #8d8b82; float: left; height: 0; pointer-events: none; }
.hidden { display: none; }
.toolbar { display: flex; align-items: center; gap: .5rem; }
.toolbar .flex-1 { flex: 1; }
.toolbar button { border: 1px solid #e2dfd4; background: #fff; border-radius: .5rem; padding: .3rem .6rem; cursor: pointer; font: inherit; font-size: .85rem; }
.toolbar button.send, .toolbar button.stop { background: #c96442; border-color: #c96442; color: #fff; fill: #fff; width: 2rem; height: 2rem; padding: 0; display: grid; place-items: center; }
.toolbar button.send:disabled { opacity: .5; cursor: default; }
.attachments { display: flex; flex-wrap: wrap; gap: .5rem; }
.file-chip { border: 1px solid #e2dfd4; border-radius: .5rem; padding: .25rem .5rem; font-size: .8rem; background: #faf9f5; display: inline-flex; gap: .3rem; }
.file-chip .remove { border: 0; background: none; cursor: pointer; }
.model-menu { position: fixed; z-index: 50; min-width: 16rem; background: #fff; border: 1px solid #e2dfd4; border-radius: .75rem; padding: .25rem; box-shadow: 0 .5rem 2rem rgba(0,0,0,.12); }
.model-item { padding: .4rem .6rem; border-radius: .5rem; cursor: pointer; }
.model-item:hover { background: #f0eee6; }
.model-item[aria-checked="true"] .model-name::after { content: " ✓"; }
.model-description { font-size: .75rem; color: #6b6a63; }
`;
