/**
 * A fake Anthropic Messages API for running the real `claude` CLI in tests (issue 5): the CLI is
 * pointed at it with ANTHROPIC_BASE_URL and never reaches the internet.
 *
 * It imitates what claude 2.1.329 was seen to use (requests logged while writing this file):
 * streaming `POST /v1/messages?beta=true` answered with the same SSE events as the real API
 * (message_start, ping, content_block_start/delta/stop, message_delta with stop_reason and usage,
 * message_stop) and a `request-id` header — the CLI stores it as the transcript's `requestId`, which
 * the usage monitor dedupes on. Non-streaming `/v1/messages` and `/v1/messages/count_tokens` are
 * answered too, and `HEAD /` / `GET` probes get a plain 200 or the API's 404 error shape.
 *
 * The test scripts it: a queue of answers for the CLI's streaming (main loop) requests, and a
 * default when the queue is empty. Non-streaming requests (side queries such as titles) never take
 * from the queue, so a side query cannot steal the tool_use the test meant for the turn.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';

/** One scripted answer to a Messages request. */
export type FakeAnswer =
  /** an assistant text turn, stop_reason end_turn */
  | { kind: 'text'; text: string }
  /** a Bash tool call (optionally after some text), stop_reason tool_use: the CLI runs `command` */
  | { kind: 'bash'; command: string; description?: string; text?: string }
  /** a call of any tool by name (an MCP tool is `mcp__<server>__<tool>`), stop_reason tool_use */
  | { kind: 'tool'; name: string; input: Record<string, unknown>; text?: string }
  /**
   * 429 rate_limit_error with `retry-after` and `anthropic-ratelimit-*-reset` headers; `claim` adds
   * `anthropic-ratelimit-unified-representative-claim` (and that window's status, reset and
   * utilization), which a CLI signed in to a subscription turns into "You've hit your 5-hour limit ·
   * resets …" with the reset time beside it in the transcript
   */
  | { kind: 'rate_limit'; retryAfterSeconds?: number; resetAt?: Date; message?: string; claim?: 'five_hour' | 'seven_day' }
  /** any other API error, e.g. 500 api_error, 529 overloaded_error */
  | { kind: 'error'; status: number; type: string; message: string };

/** A request the fake received, kept for assertions. */
export interface RecordedRequest {
  method: string;
  /** path with query, e.g. `/v1/messages?beta=true` */
  url: string;
  headers: IncomingMessage['headers'];
  /** the parsed JSON body, or undefined when there was none */
  body: unknown;
  /** for Messages requests: the validated body */
  messages?: MessagesBody;
  /** what the fake answered: the scripted kind, or `default`/`side`/`probe` */
  answeredWith: string;
  /** the `request-id` header of the answer (the transcript's `requestId`) */
  requestId: string;
  /** the `msg_…` id of the answer, when it was a message (the transcript's `message.id`) */
  messageId?: string;
  at: number;
}

export interface FakeAnthropicOptions {
  /** what streaming requests get when the queue is empty (default: text "OK from the fake API") */
  defaultAnswer?: FakeAnswer;
  /** text of non-streaming answers (side queries) (default: "Fake title") */
  sideText?: string;
}

export interface FakeAnthropic {
  /** `http://127.0.0.1:<port>`, for ANTHROPIC_BASE_URL */
  readonly url: string;
  readonly port: number;
  /** every request, in arrival order */
  readonly requests: readonly RecordedRequest[];
  /** Appends answers for the next streaming Messages requests, in order. */
  enqueue(...answers: FakeAnswer[]): void;
  setDefaultAnswer(answer: FakeAnswer): void;
  /** answers not yet taken */
  pending(): number;
  /** the streaming Messages requests (the CLI's turns), in order */
  turnRequests(): RecordedRequest[];
  /** Resolves once `count` streaming Messages requests have arrived. */
  waitForTurns(count: number, timeoutMs?: number): Promise<RecordedRequest[]>;
  close(): Promise<void>;
}

const contentBlock = z.looseObject({ type: z.string() });
const messageSchema = z.looseObject({
  role: z.string(),
  content: z.union([z.string(), z.array(contentBlock)]),
});
export const messagesBodySchema = z.looseObject({
  model: z.string().min(1),
  messages: z.array(messageSchema),
  max_tokens: z.number().int().positive().optional(),
  stream: z.boolean().optional(),
  system: z.union([z.string(), z.array(contentBlock)]).optional(),
  tools: z.array(z.looseObject({ name: z.string() })).optional(),
});
export type MessagesBody = z.infer<typeof messagesBodySchema>;

const countTokensSchema = messagesBodySchema.omit({ max_tokens: true, stream: true });

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
/** ids shaped like the real API's: a prefix, then 24 base62 characters */
export function fakeId(prefix: 'msg_01' | 'toolu_01' | 'req_011C'): string {
  const bytes = randomBytes(24);
  return prefix + Array.from(bytes, (b) => BASE62[b % 62]).join('');
}

/** Every piece of text in a request's messages: prompts, tool results, system reminders, hook context. */
export function requestText(request: RecordedRequest | MessagesBody): string {
  const body = 'messages' in request && Array.isArray(request.messages) ? (request as MessagesBody) : (request as RecordedRequest).messages;
  if (!body) return '';
  const parts: string[] = [];
  const walk = (value: unknown): void => {
    if (typeof value === 'string') parts.push(value);
    else if (Array.isArray(value)) value.forEach(walk);
    else if (value && typeof value === 'object') {
      const block = value as Record<string, unknown>;
      if (typeof block.text === 'string') parts.push(block.text);
      if (block.content !== undefined) walk(block.content);
      if (block.input !== undefined) parts.push(JSON.stringify(block.input));
    }
  };
  for (const message of body.messages) walk(message.content);
  return parts.join('\n');
}

/** The headers naming the subscription window a 429 hit (the CLI reads them: 2.1.329, seen in its code and its transcripts). */
function unifiedClaim(claim: 'five_hour' | 'seven_day', resetAt: Date): Record<string, string> {
  const window = claim === 'five_hour' ? '5h' : '7d';
  return {
    'anthropic-ratelimit-unified-representative-claim': claim,
    [`anthropic-ratelimit-unified-${window}-status`]: 'rejected',
    [`anthropic-ratelimit-unified-${window}-reset`]: String(Math.floor(resetAt.getTime() / 1000)),
    [`anthropic-ratelimit-unified-${window}-utilization`]: '1.0',
  };
}

/** Roughly 4 characters a token, like English text: enough to give transcripts plausible usage. */
const tokensOf = (text: string) => Math.max(1, Math.ceil(text.length / 4));

export async function startFakeAnthropic(options: FakeAnthropicOptions = {}): Promise<FakeAnthropic> {
  const queue: FakeAnswer[] = [];
  let defaultAnswer: FakeAnswer = options.defaultAnswer ?? { kind: 'text', text: 'OK from the fake API' };
  const sideText = options.sideText ?? 'Fake title';
  const requests: RecordedRequest[] = [];
  const waiters = new Set<() => void>();
  const notify = () => waiters.forEach((wake) => wake());

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      try {
        handle(req, res, Buffer.concat(chunks).toString('utf8'));
      } catch (error) {
        // A bug in the fake must show in the test as an API error, not as a hung CLI.
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ type: 'error', error: { type: 'api_error', message: `fake API failure: ${(error as Error).message}` } }));
      }
    });
  });

  function record(req: IncomingMessage, body: unknown, answeredWith: string, messages?: MessagesBody): RecordedRequest {
    const entry: RecordedRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body, messages, answeredWith, requestId: fakeId('req_011C'), at: Date.now() };
    requests.push(entry);
    notify();
    return entry;
  }

  function handle(req: IncomingMessage, res: ServerResponse, raw: string): void {
    const path = (req.url ?? '/').split('?')[0];
    let body: unknown;
    if (raw.length > 0) {
      try {
        body = JSON.parse(raw);
      } catch {
        return sendError(res, record(req, raw, 'invalid_json'), 400, 'invalid_request_error', 'the request body is not valid JSON');
      }
    }
    if (req.method === 'POST' && path === '/v1/messages') return messages(req, res, body);
    if (req.method === 'POST' && path === '/v1/messages/count_tokens') {
      const parsed = countTokensSchema.safeParse(body);
      if (!parsed.success) {
        return sendError(res, record(req, body, 'invalid_request'), 400, 'invalid_request_error', fieldError(parsed.error));
      }
      const entry = record(req, body, 'count_tokens', parsed.data as MessagesBody);
      return sendJson(res, entry, 200, { input_tokens: tokensOf(JSON.stringify(parsed.data.messages)) });
    }
    // The CLI probes reachability with `HEAD /` (seen in interactive sessions); the real host answers.
    if ((req.method === 'HEAD' || req.method === 'GET') && path === '/') {
      const entry = record(req, body, 'probe');
      res.writeHead(200, { 'content-type': 'text/plain', 'request-id': entry.requestId });
      return void res.end(req.method === 'HEAD' ? undefined : 'fake anthropic');
    }
    sendError(res, record(req, body, 'not_found'), 404, 'not_found_error', `${req.method} ${path} is not part of the fake Messages API`);
  }

  function messages(req: IncomingMessage, res: ServerResponse, body: unknown): void {
    const parsed = messagesBodySchema.safeParse(body);
    if (!parsed.success) {
      return sendError(res, record(req, body, 'invalid_request'), 400, 'invalid_request_error', fieldError(parsed.error));
    }
    const request = parsed.data;
    if (!request.stream) {
      const entry = record(req, body, 'side', request);
      entry.messageId = fakeId('msg_01');
      return sendJson(res, entry, 200, messageObject(entry.messageId, request, [{ type: 'text', text: sideText }], 'end_turn'));
    }
    const scripted = queue.shift();
    const answer = scripted ?? defaultAnswer;
    const entry = record(req, body, scripted ? answer.kind : 'default', request);
    switch (answer.kind) {
      case 'text':
        return stream(res, entry, request, [{ type: 'text', text: answer.text }], 'end_turn');
      case 'bash': {
        const blocks: Block[] = answer.text ? [{ type: 'text', text: answer.text }] : [];
        blocks.push({ type: 'tool_use', id: fakeId('toolu_01'), name: 'Bash', input: { command: answer.command, description: answer.description ?? 'Run a command' } });
        return stream(res, entry, request, blocks, 'tool_use');
      }
      case 'tool': {
        const blocks: Block[] = answer.text ? [{ type: 'text', text: answer.text }] : [];
        blocks.push({ type: 'tool_use', id: fakeId('toolu_01'), name: answer.name, input: answer.input });
        return stream(res, entry, request, blocks, 'tool_use');
      }
      case 'rate_limit': {
        const retryAfter = answer.retryAfterSeconds ?? 30;
        const resetAt = answer.resetAt ?? new Date(Date.now() + retryAfter * 1000);
        const reset = resetAt.toISOString().replace(/\.\d{3}Z$/, 'Z');
        // The header names of https://docs.anthropic.com/en/api/rate-limits (RFC 3339 resets), plus
        // the unified ones subscription accounts get (epoch seconds).
        return sendError(res, entry, 429, 'rate_limit_error', answer.message ?? 'This request would exceed your rate limit. Please try again later.', {
          'retry-after': String(retryAfter),
          'anthropic-ratelimit-requests-limit': '50',
          'anthropic-ratelimit-requests-remaining': '0',
          'anthropic-ratelimit-requests-reset': reset,
          'anthropic-ratelimit-tokens-limit': '40000',
          'anthropic-ratelimit-tokens-remaining': '0',
          'anthropic-ratelimit-tokens-reset': reset,
          'anthropic-ratelimit-unified-status': 'rejected',
          'anthropic-ratelimit-unified-reset': String(Math.floor(resetAt.getTime() / 1000)),
          ...(answer.claim ? unifiedClaim(answer.claim, resetAt) : {}),
        });
      }
      case 'error':
        return sendError(res, entry, answer.status, answer.type, answer.message);
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  const turnRequests = () => requests.filter((r) => r.messages?.stream === true && r.method === 'POST' && r.url.startsWith('/v1/messages') && !r.url.startsWith('/v1/messages/'));

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    enqueue: (...answers) => void queue.push(...answers),
    setDefaultAnswer: (answer) => void (defaultAnswer = answer),
    pending: () => queue.length,
    turnRequests,
    waitForTurns(count, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const turns = turnRequests();
          if (turns.length < count) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(turns);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`the fake API saw ${turnRequests().length} streaming requests, not ${count}, within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

type Block = { type: 'text'; text: string } | { type: 'tool_use'; id: string; name: string; input: Record<string, unknown> };

function usageFor(request: MessagesBody, outputTokens: number) {
  // A long system prompt is cached by the real API after the first turn; imitate the split so
  // transcripts carry every usage field the monitor reads.
  const input = tokensOf(JSON.stringify(request.messages));
  const system = tokensOf(JSON.stringify(request.system ?? '') + JSON.stringify(request.tools ?? []));
  return {
    input_tokens: input,
    cache_creation_input_tokens: request.messages.length <= 1 ? system : 0,
    cache_read_input_tokens: request.messages.length <= 1 ? 0 : system,
    output_tokens: outputTokens,
    service_tier: 'standard',
  };
}

function outputTokensOf(blocks: Block[]): number {
  return blocks.reduce((sum, b) => sum + tokensOf(b.type === 'text' ? b.text : JSON.stringify(b.input)), 0);
}

function messageObject(id: string, request: MessagesBody, content: Block[], stopReason: string) {
  return {
    id,
    type: 'message',
    role: 'assistant',
    model: request.model,
    content,
    stop_reason: stopReason,
    stop_sequence: null,
    usage: usageFor(request, outputTokensOf(content)),
  };
}

function stream(res: ServerResponse, entry: RecordedRequest, request: MessagesBody, blocks: Block[], stopReason: string): void {
  entry.messageId = fakeId('msg_01');
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'request-id': entry.requestId });
  const event = (type: string, data: Record<string, unknown>) => res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
  const usage = usageFor(request, outputTokensOf(blocks));
  event('message_start', {
    message: { id: entry.messageId, type: 'message', role: 'assistant', model: request.model, content: [], stop_reason: null, stop_sequence: null, usage: { ...usage, output_tokens: 1 } },
  });
  event('ping', {});
  blocks.forEach((block, index) => {
    if (block.type === 'text') {
      event('content_block_start', { index, content_block: { type: 'text', text: '' } });
      // Two deltas, as a real stream splits text: the CLI must join them.
      const middle = Math.ceil(block.text.length / 2);
      for (const piece of [block.text.slice(0, middle), block.text.slice(middle)]) {
        if (piece) event('content_block_delta', { index, delta: { type: 'text_delta', text: piece } });
      }
    } else {
      event('content_block_start', { index, content_block: { type: 'tool_use', id: block.id, name: block.name, input: {} } });
      const json = JSON.stringify(block.input);
      const middle = Math.ceil(json.length / 2);
      for (const piece of [json.slice(0, middle), json.slice(middle)]) event('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: piece } });
    }
    event('content_block_stop', { index });
  });
  event('message_delta', { delta: { stop_reason: stopReason, stop_sequence: null }, usage: { output_tokens: usage.output_tokens } });
  event('message_stop', {});
  res.end();
}

function sendJson(res: ServerResponse, entry: RecordedRequest, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', 'request-id': entry.requestId, ...headers });
  res.end(JSON.stringify(body));
}

function sendError(res: ServerResponse, entry: RecordedRequest, status: number, type: string, message: string, headers: Record<string, string> = {}): void {
  sendJson(res, entry, status, { type: 'error', error: { type, message }, request_id: entry.requestId }, { 'x-should-retry': String(status === 429 || status >= 500), ...headers });
}

/** The API's own style: `messages.0.role: Field required`. */
function fieldError(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.join('.') || 'body'}: ${issue.message}`).join('; ');
}
