/**
 * The envelope: what every message on the bus is, wherever it came from. The extension, the native
 * host and the relay validate with these schemas at every boundary (STYLE.md: one schema module).
 */
import { z } from 'zod';
import { v7 as uuidv7 } from 'uuid';
import { Address, AgentAddress } from './address';

export const MESSAGE_KINDS = ['prompt', 'reply', 'note', 'event', 'command', 'status'] as const;
export type MessageKind = (typeof MESSAGE_KINDS)[number];

/** Five levels, most urgent first; the index is the rank the bus orders by (0 goes first). */
export const PRIORITIES = ['critical', 'high', 'normal', 'low', 'bulk'] as const;
export type Priority = (typeof PRIORITIES)[number];
export const priorityRank = (priority: Priority): number => PRIORITIES.indexOf(priority);

/**
 * TTL policies: how long an undelivered message may wait before it expires. `immediate` means
 * "deliver now or never" (presence, typing): one attempt, no retries.
 */
export const TTL_POLICIES = ['immediate', 'short', 'medium', 'long', 'permanent'] as const;
export type TtlPolicy = (typeof TTL_POLICIES)[number];
const HOUR = 3_600_000;
export const DEFAULT_TTL_MS: Record<TtlPolicy, number> = {
  immediate: 0,
  short: HOUR,
  medium: 24 * HOUR,
  long: 7 * 24 * HOUR,
  permanent: Number.POSITIVE_INFINITY,
};

/** Bounds keep one message from filling the store or a model's context (ARCHITECTURE.md). */
export const LIMITS = {
  recipients: 100,
  textChars: 200_000,
  codeBlocks: 50,
  codeChars: 200_000,
  attachments: 10,
  attachmentBase64Chars: 7_000_000, // ~5 MB of data
  /** all attachments of a message together (~12 MB of data): a message must fit one port message */
  attachmentsTotalBase64Chars: 16_000_000,
  maxHops: 8,
  headers: 16,
} as const;

export const MessageId = z.uuid({ version: 'v7', error: 'expected a message id (a UUIDv7)' });
export const newMessageId = (): string => uuidv7();

const CodeBlock = z.strictObject({
  language: z.string().max(40).optional(),
  code: z.string().max(LIMITS.codeChars),
});

/** Bytes encoded by a base64 string. */
const decodedLength = (base64: string) => Math.floor((base64.length * 3) / 4) - (base64.endsWith('==') ? 2 : base64.endsWith('=') ? 1 : 0);

const Attachment = z
  .strictObject({
    name: z.string().min(1).max(255),
    mimeType: z.string().min(1).max(255),
    /** bytes */
    size: z.int().nonnegative(),
    /** base64 contents; empty in lists, which carry attachments without their data */
    data: z.base64().max(LIMITS.attachmentBase64Chars),
  })
  .refine((a) => a.data === '' || decodedLength(a.data) === a.size, {
    error: (issue) => `size says ${(issue.input as { size: number }).size} bytes but data holds ${decodedLength((issue.input as { data: string }).data)}`,
    path: ['size'],
  });

const Body = z
  .strictObject({
    text: z.string().max(LIMITS.textChars),
    code: z.array(CodeBlock).max(LIMITS.codeBlocks).optional(),
    attachments: z.array(Attachment).max(LIMITS.attachments).optional(),
  })
  .refine((body) => body.text.length > 0 || body.code?.length || body.attachments?.length, {
    error: 'body is empty: give text, code or an attachment',
  })
  .refine((body) => (body.attachments ?? []).reduce((sum, a) => sum + a.data.length, 0) <= LIMITS.attachmentsTotalBase64Chars, {
    error: `attachments are larger than ${LIMITS.attachmentsTotalBase64Chars} base64 characters together`,
    path: ['attachments'],
  });
export type MessageBody = z.infer<typeof Body>;

const Recipients = z
  .array(Address)
  .min(1, { error: 'needs at least one recipient' })
  .max(LIMITS.recipients, { error: `at most ${LIMITS.recipients} recipients` })
  .refine((to) => new Set(to).size === to.length, { error: 'recipients repeat an address' });

const ThreadId = z.string().min(1).max(100);

/**
 * Small string labels that travel with a message unchanged, for the systems it came from or goes
 * to: the local API keeps a bridge client's free-text `type` here, so it reaches the receiver as
 * it was sent. Never interpreted by the bus.
 */
const HEADER_NAME = /^[a-z0-9][a-z0-9-]{0,63}$/;
const Headers = z
  .record(z.string(), z.string().max(1_000, { error: 'a header value is at most 1,000 characters' }))
  .superRefine((headers, context) => {
    const names = Object.keys(headers);
    if (names.length > LIMITS.headers) context.addIssue({ code: 'custom', message: `at most ${LIMITS.headers} headers` });
    for (const name of names.filter((name) => !HEADER_NAME.test(name))) {
      context.addIssue({ code: 'custom', path: [name], message: 'header names are lower-case letters, digits and -, at most 64' });
    }
  });
const Timestamp = z.int().nonnegative();

/** A complete envelope, as stored and as carried between hub, host and peers. */
export const Envelope = z.strictObject({
  id: MessageId,
  from: AgentAddress,
  to: Recipients,
  replyTo: Address,
  inReplyTo: MessageId.optional(),
  threadId: ThreadId,
  kind: z.enum(MESSAGE_KINDS),
  body: Body,
  priority: z.enum(PRIORITIES),
  ttl: z.enum(TTL_POLICIES),
  createdAt: Timestamp,
  hops: z.int().min(0).max(LIMITS.maxHops, { error: `hop limit of ${LIMITS.maxHops} exceeded` }),
  ackRequired: z.boolean(),
  headers: Headers.optional(),
});
export type Envelope = z.infer<typeof Envelope>;

/**
 * What a sender gives. The hub fills in the rest: id and createdAt when absent, replyTo = from,
 * threadId = the thread of `inReplyTo` (or the message's own id). A sender that supplies its own id
 * can resend safely: the hub accepts each id once.
 */
export const SendRequest = z.strictObject({
  id: MessageId.optional(),
  from: AgentAddress,
  /** one address or a list */
  to: z.preprocess((to) => (typeof to === 'string' ? [to] : to), Recipients),
  replyTo: Address.optional(),
  inReplyTo: MessageId.optional(),
  threadId: ThreadId.optional(),
  kind: z.enum(MESSAGE_KINDS).default('note'),
  /** plain text, or the full body */
  body: z.preprocess((body) => (typeof body === 'string' ? { text: body } : body), Body),
  priority: z.enum(PRIORITIES).default('normal'),
  ttl: z.enum(TTL_POLICIES).default('medium'),
  createdAt: Timestamp.optional(),
  hops: z.int().min(0).max(LIMITS.maxHops, { error: `hop limit of ${LIMITS.maxHops} exceeded` }).default(0),
  ackRequired: z.boolean().default(false),
  headers: Headers.optional(),
});
export type SendRequest = z.input<typeof SendRequest>;
export type ParsedSendRequest = z.output<typeof SendRequest>;

/**
 * Send requests this process has already parsed. A request crosses more than one boundary inside
 * the host daemon (the API maps a bridge message, then the core journals it): each calls
 * parseSendRequest, and only the first pays for the schema. Only parse results are ever added, and
 * a WeakSet cannot be filled from outside this module.
 */
const parsedSendRequests = new WeakSet<object>();

/** Parses a send request (throws ValidationError), or returns one this process parsed already. */
export function parseSendRequest(input: unknown): ParsedSendRequest {
  if (typeof input === 'object' && input !== null && parsedSendRequests.has(input)) return input as ParsedSendRequest;
  const parsed = parseOrThrow(SendRequest, input, 'message');
  parsedSendRequests.add(parsed);
  return parsed;
}

/** Thrown for input that fails a schema; the message names each field that was wrong. */
export class ValidationError extends Error {
  constructor(
    readonly what: string,
    readonly issues: { field: string; problem: string }[],
  ) {
    super(`invalid ${what}: ${issues.map((i) => (i.field ? `${i.field}: ${i.problem}` : i.problem)).join('; ')}`);
    this.name = 'ValidationError';
  }
}

export function fieldPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((out, key) => {
    if (typeof key === 'number') return `${out}[${key}]`;
    return out ? `${out}.${String(key)}` : String(key);
  }, '');
}

/** Parses `input` with `schema`, or throws a ValidationError naming every bad field. */
export function parseOrThrow<S extends z.ZodType>(schema: S, input: unknown, what: string): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw new ValidationError(
    what,
    result.error.issues.map((issue) => ({ field: fieldPath(issue.path), problem: issue.message })),
  );
}
