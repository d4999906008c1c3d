/**
 * One line of a Claude Code transcript (`~/.claude/projects/<cwd-slug>/<session>.jsonl`), sorted
 * into what the usage monitor needs (issue 5, "Usage monitor"): the token usage of an API response,
 * a rate-limit hit, or nothing.
 *
 * What the lines look like (../shared/ARCHITECTURE.md "Claude Code"; the fixtures under
 * test/native-host/claude-code/fixtures/transcripts were written by the real CLI 2.1.329):
 * - `type: "assistant"` lines carry `message.usage` and no cost. A response with several content
 *   blocks (text, then tool_use…) is written as one line per block, each with the same `message.id`,
 *   `requestId` and usage — so usage is counted once per message id + request id.
 * - A rate limit is an assistant line the CLI makes up itself: `message.model: "<synthetic>"`, zero
 *   usage, the error as text; 2.x adds `"error": "rate_limit"` and `"apiErrorStatus": 429`; 1.0.x
 *   subscribers got `Claude AI usage limit reached|<reset, epoch seconds>`.
 * - Where the reset time is (seen with 2.1.329 against a fake API, CLAUDE_CODE_MAX_RETRIES=0; the
 *   fixtures rate-limit-*.jsonl): signed in with an API key, a 429 gives only the API's message
 *   ("API Error: Request rejected (429) · …") — its `retry-after` and `anthropic-ratelimit-*-reset`
 *   headers leave no trace in the line. Signed in to a subscription (or through a claude-gateway
 *   token), a 429 whose `anthropic-ratelimit-unified-representative-claim` names the window
 *   (five_hour, seven_day) gives "You've hit your 5-hour limit · resets 7:45am (UTC)" and, beside
 *   it, the header `anthropic-ratelimit-unified-reset` as epoch seconds in
 *   `apiErrorParams.rate_limit_info.resetsAt` and `quotaLimits.resetsAt`, with `rateLimitType`.
 *   Without that header a subscriber's 429 is "Server is temporarily limiting requests (not your
 *   usage limit)": no reset. A retry the CLI makes is a `system` `api_error` line with `retryInMs`,
 *   not a limit: the session is still trying.
 * - Everything else (user prompts and tool results, attachments, summaries, request snapshots, cost
 *   state…) has no usage. The set of line types grows with every release, so a type not in KNOWN_TYPES
 *   is counted, not refused: a jump in that count says the format moved.
 */
import { z } from 'zod';
import { fieldPath } from '../../../src/protocol/envelope';

/** The usage of one API response, as the transcript reports it. Cost is not in the transcript. */
export interface UsageRecord {
  /** `<message id>:<request id>`: the dedupe key. A later record with the same key supersedes an earlier one. */
  key: string;
  sessionId: string;
  messageId: string;
  /** the API's `request-id`; absent in some old transcripts */
  requestId: string | null;
  /** the model the API answered with, e.g. `claude-sonnet-4-5-20250929` */
  model: string;
  /** when the line was written (ms since epoch) */
  timestamp: number;
  inputTokens: number;
  outputTokens: number;
  /** prompt-cache writes, all lifetimes */
  cacheCreationTokens: number;
  /** the part of cacheCreationTokens written with the 1-hour lifetime, which costs more than the 5-minute one */
  cacheCreation1hTokens: number;
  cacheReadTokens: number;
  /** the session's working folder, when the line says */
  cwd: string | null;
}

/** Claude Code hit a rate limit (or a subscriber's usage limit). */
export interface RateLimitEvent {
  /** the line's uuid (or file and offset when it has none): the dedupe key */
  key: string;
  sessionId: string;
  /** when the line was written (ms since epoch) */
  at: number;
  /** the HTTP status when the line says (429) */
  status: number | null;
  /** the error as Claude Code showed it */
  text: string;
  /** when the limit resets (ms since epoch), when the line says */
  resetsAt: number | null;
  /** which limit: `five_hour`, `seven_day`, … as Claude Code names it; null when the line does not say */
  limit: string | null;
  cwd: string | null;
}

export type TranscriptLine =
  | { kind: 'usage'; record: UsageRecord }
  | { kind: 'rate-limit'; event: RateLimitEvent }
  /** a line of a known type that carries no usage */
  | { kind: 'other'; type: string }
  /** an API error other than a rate limit (overloaded, prompt too long…): no usage */
  | { kind: 'api-error'; text: string }
  | { kind: 'unknown'; type: string }
  /** not a JSON object */
  | { kind: 'malformed'; problem: string }
  /** an assistant line whose usage, timestamp or message cannot be read */
  | { kind: 'invalid'; problem: string };

/** Line types Claude Code writes that carry no usage (1.0.x through 2.1.329). */
export const KNOWN_TYPES: ReadonlySet<string> = new Set([
  'user',
  'assistant',
  'system',
  'summary',
  'attachment',
  'file-history-snapshot',
  'queue-operation',
  'last-prompt',
  'custom-title',
  'progress',
  'atis-latch',
  'api-request',
  'api-request-shape',
  'api-request-blob',
  'tools-used',
  'cost-state',
]);

const SYNTHETIC_MODEL = '<synthetic>';
/** How Claude Code words a limit in its synthetic error lines (API key 429s and subscriber limits). */
const RATE_LIMIT_TEXT = /rate[ _-]?limit|usage limit|hit your limit|\(429\)|\b429\b/i;
/** 1.0.x: `Claude AI usage limit reached|1754312400` — the reset time in epoch seconds after the bar. */
const RESET_IN_TEXT = /\|(\d{9,11})\s*$/;

const tokens = z.int({ error: 'expected a token count (an integer ≥ 0)' }).min(0, { error: 'expected a token count (an integer ≥ 0)' });
const optionalTokens = tokens.nullish().transform((value) => value ?? 0);

const Usage = z.object({
  input_tokens: tokens,
  output_tokens: tokens,
  cache_creation_input_tokens: optionalTokens,
  cache_read_input_tokens: optionalTokens,
  cache_creation: z
    .object({ ephemeral_5m_input_tokens: optionalTokens, ephemeral_1h_input_tokens: optionalTokens })
    .nullish(),
});

const Timestamp = z
  .string({ error: 'expected an ISO 8601 time' })
  .transform((text, context) => {
    const at = Date.parse(text);
    if (Number.isNaN(at)) {
      context.addIssue({ code: 'custom', message: 'expected an ISO 8601 time' });
      return z.NEVER;
    }
    return at;
  });

/**
 * A subscriber's limit as 2.x writes it beside the error (`apiErrorParams.rate_limit_info`,
 * `quotaLimits`): read leniently — a field of an unexpected shape is no reset time, never a bad line.
 */
const QuotaInfo = z
  .looseObject({ resetsAt: z.number().positive().optional().catch(undefined), rateLimitType: z.string().optional().catch(undefined) })
  .optional()
  .catch(undefined);

const AssistantLine = z.object({
  type: z.literal('assistant'),
  timestamp: Timestamp,
  sessionId: z.string().min(1).optional(),
  cwd: z.string().optional(),
  uuid: z.string().optional(),
  requestId: z.string().optional(),
  isApiErrorMessage: z.boolean().optional(),
  apiErrorStatus: z.number().nullish(),
  error: z.unknown().optional(),
  apiErrorParams: z.looseObject({ rate_limit_info: QuotaInfo }).optional().catch(undefined),
  quotaLimits: QuotaInfo,
  message: z.object(
    {
      id: z.string().optional(),
      model: z.string().optional(),
      usage: Usage.nullish(),
      content: z.unknown().optional(),
    },
    { error: 'expected the message object' },
  ),
});

/**
 * Sorts one transcript line. `sessionId` is used when the line has none (the file's name is the
 * session id); `position` names the line when it has no uuid (`<file>:<byte offset>`).
 */
export function parseTranscriptLine(text: string, sessionId: string, position: string): TranscriptLine {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    return { kind: 'malformed', problem: (error as Error).message };
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return { kind: 'malformed', problem: 'not a JSON object' };
  const type = (data as { type?: unknown }).type;
  if (type !== 'assistant') {
    const name = typeof type === 'string' ? type : '(no type)';
    return KNOWN_TYPES.has(name) ? { kind: 'other', type: name } : { kind: 'unknown', type: name };
  }

  const parsed = AssistantLine.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { kind: 'invalid', problem: `${fieldPath(issue.path) || 'line'}: ${issue.message}` };
  }
  const line = parsed.data;
  const session = line.sessionId ?? sessionId;
  const cwd = line.cwd ?? null;
  const model = line.message.model ?? '';
  const synthetic = model === SYNTHETIC_MODEL || line.isApiErrorMessage === true;

  if (line.apiErrorStatus === 429 || line.error === 'rate_limit' || (synthetic && RATE_LIMIT_TEXT.test(textOf(line.message.content)))) {
    const message = textOf(line.message.content);
    const quota = line.apiErrorParams?.rate_limit_info ?? line.quotaLimits;
    const legacyReset = RESET_IN_TEXT.exec(message);
    const resetsAt = quota?.resetsAt !== undefined ? epochMs(quota.resetsAt) : legacyReset ? Number(legacyReset[1]) * 1000 : null;
    return {
      kind: 'rate-limit',
      event: {
        key: line.uuid ?? position,
        sessionId: session,
        at: line.timestamp,
        status: line.apiErrorStatus ?? null,
        text: message,
        resetsAt,
        limit: quota?.rateLimitType ?? line.quotaLimits?.rateLimitType ?? null,
        cwd,
      },
    };
  }
  // Other errors are synthetic too and report zero usage: nothing was billed.
  if (synthetic) return { kind: 'api-error', text: textOf(line.message.content) };
  const usage = line.message.usage;
  if (!usage) return { kind: 'other', type: 'assistant' };

  const messageId = line.message.id ?? line.uuid ?? position;
  const requestId = line.requestId ?? null;
  const cacheCreation1h = usage.cache_creation?.ephemeral_1h_input_tokens ?? 0;
  return {
    kind: 'usage',
    record: {
      key: `${messageId}:${requestId ?? ''}`,
      sessionId: session,
      messageId,
      requestId,
      model,
      timestamp: line.timestamp,
      inputTokens: usage.input_tokens,
      outputTokens: usage.output_tokens,
      cacheCreationTokens: usage.cache_creation_input_tokens,
      // Never more than the total: a transcript that says otherwise is priced by the total.
      cacheCreation1hTokens: Math.min(cacheCreation1h, usage.cache_creation_input_tokens),
      cacheReadTokens: usage.cache_read_input_tokens,
      cwd,
    },
  };
}

/** All four kinds of tokens of a record: how "more" is judged between two lines of one message. */
export const recordTokens = (record: UsageRecord) =>
  record.inputTokens + record.outputTokens + record.cacheCreationTokens + record.cacheReadTokens;

/**
 * Of two records with the same key, the one to keep: the one with more tokens (a line written while
 * the response was still streaming can report fewer output tokens than the last one), else the first.
 */
export function mergeUsageRecord(kept: UsageRecord | undefined, incoming: UsageRecord): UsageRecord {
  if (!kept) return incoming;
  return recordTokens(incoming) > recordTokens(kept) ? incoming : kept;
}

/** Epoch seconds as Claude Code writes them; a value already in ms is taken as it is. */
const epochMs = (value: number) => Math.round(value < 1e12 ? value * 1000 : value);

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((block: unknown) => (typeof block === 'object' && block !== null && typeof (block as { text?: unknown }).text === 'string' ? (block as { text: string }).text : ''))
    .filter((text) => text !== '')
    .join('\n');
}
