/**
 * The wire protocol of the multi-agent bridge Switchboard replaces (issue 4), mapped onto
 * Switchboard's envelope, so that bridge's clients work after adding the token.
 *
 * Addresses. A bridge client id names an API agent, `api:<device>/<client id>`. `to: "all"` is
 * broadcast. So that bridge clients can reach Switchboard's other agents too, `to` may also be a
 * full Switchboard address (`claude-code:laptop/5f0c…`, `topic:builds`, `broadcast`): a client id
 * never contains `/` and a bridge client is not expected to be named `topic:…`, so the two never
 * collide. `from` is always a client id: an API client speaks only as itself.
 *
 * Types. The bridge's free-text `type` maps onto a Switchboard kind and travels unchanged in the
 * `bridge-type` header, so a bridge client receives the type it was sent.
 *
 * Payloads. A non-empty string is the body text. Anything else (objects, numbers, null, "") is
 * JSON text with the header `bridge-payload: json`, and is parsed back on the way out, so the
 * receiver gets the same JSON value. A Switchboard message with code or attachments reaches a
 * bridge client as its whole body object (`{text, code, attachments}`); plain text stays a string.
 */
import { z } from 'zod';
import type { InboxMessage } from '../ports';
import { BROADCAST, parseAddress } from '../../src/protocol/address';
import {
  LIMITS,
  MessageId,
  parseOrThrow,
  parseSendRequest,
  ValidationError,
  type MessageKind,
  type ParsedSendRequest,
} from '../../src/protocol/envelope';

/** The instance part of an agent address (src/protocol/address.ts): what a bridge client id may be. */
export const CLIENT_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._~@:-]{0,199}$/;
export const BRIDGE_BROADCAST = 'all';
export const BRIDGE_TYPE_HEADER = 'bridge-type';
export const BRIDGE_PAYLOAD_HEADER = 'bridge-payload';

const required = (what: string) => (issue: { input: unknown }) =>
  issue.input === undefined ? `required: ${what}` : `expected a string: ${what}`;

export const BridgeClientId = z
  .string({ error: required('a client id') })
  .regex(CLIENT_ID_PATTERN, {
    error: (issue) =>
      `expected a client id (a letter or digit, then letters, digits and . _ ~ @ : -, at most 200), got ${JSON.stringify(issue.input)}`,
  });

/** A client id, "all", or a full Switchboard address. */
const BridgeTarget = z.string({ error: required('a client id, "all", or a Switchboard address') }).refine(
  (to) => to === BRIDGE_BROADCAST || (CLIENT_ID_PATTERN.test(to) && !to.startsWith('topic:')) || parseAddress(to) !== undefined,
  { error: (issue) => `expected a client id, "all", or a Switchboard address, got ${JSON.stringify(issue.input)}` },
);

const BridgeType = z
  .string({ error: 'expected a string, e.g. "message", "request" or "response"' })
  .min(1, { error: 'is empty' })
  .max(100, { error: 'is longer than 100 characters' });

/** Any JSON value; only a missing payload is refused. */
const Payload = z.custom<unknown>((value) => value !== undefined, {
  error: 'required: the message content, a string or any JSON value',
});

/** `POST /api/send`. */
export const BridgeSendBody = z.strictObject({
  from: BridgeClientId,
  to: BridgeTarget,
  type: BridgeType.default('message'),
  payload: Payload,
  require_ack: z.boolean({ error: 'expected true or false' }).default(false),
});
export type BridgeSendBody = z.output<typeof BridgeSendBody>;

/** What a WebSocket client may send. Pings may carry extra fields (timestamps): they are ignored. */
export const BridgeSocketFrame = z.discriminatedUnion(
  'type',
  [
    z.strictObject({
      type: z.literal('send'),
      to: BridgeTarget,
      msg_type: BridgeType.default('message'),
      payload: Payload,
      require_ack: z.boolean({ error: 'expected true or false' }).default(false),
    }),
    z.strictObject({ type: z.literal('ack'), message_id: MessageId }),
    z.looseObject({ type: z.literal('ping') }),
    z.looseObject({ type: z.literal('pong') }),
  ],
  { error: 'expected type "send", "ack", "ping" or "pong"' },
);
export type BridgeSocketFrame = z.output<typeof BridgeSocketFrame>;

/** An ISO 8601 date or date-time; without an offset it is local time, as Python's isoformat() writes it. */
const ISO_TIME = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/** `GET /api/messages` query (the token is taken out first). */
export const BridgeMessagesQuery = z.strictObject({
  to: BridgeClientId,
  since: z
    .string()
    .refine((since) => ISO_TIME.test(since) && !Number.isNaN(Date.parse(since.replace(' ', 'T'))), {
      error: (issue) => `expected an ISO 8601 time like 2026-01-31T12:00:00Z, got ${JSON.stringify(issue.input)}`,
    })
    .transform((since) => Date.parse(since.replace(' ', 'T')))
    .optional(),
  limit: z
    .string()
    .regex(/^\d+$/, { error: 'expected a whole number from 1 to 1000' })
    .transform(Number)
    .refine((limit) => limit >= 1 && limit <= 1000, { error: 'expected a whole number from 1 to 1000' })
    .default(100),
});

const KIND_OF_TYPE: Record<string, MessageKind> = {
  request: 'prompt',
  prompt: 'prompt',
  response: 'reply',
  claude_response: 'reply',
  reply: 'reply',
  command: 'command',
  status: 'status',
  event: 'event',
};

/** Where no bridge type travelled with a message (it came from another agent): the nearest word. */
const TYPE_OF_KIND: Record<MessageKind, string> = {
  prompt: 'request',
  reply: 'response',
  note: 'message',
  command: 'command',
  status: 'status',
  event: 'event',
};

/** The Switchboard kind for a bridge type; anything not listed (message, broadcast, …) is a note. */
export const kindOfBridgeType = (type: string): MessageKind => KIND_OF_TYPE[type] ?? 'note';

export const clientAddress = (device: string, clientId: string): string => `api:${device}/${clientId}`;

/** The Switchboard address a bridge `to` names. */
export function targetAddress(device: string, to: string): string {
  if (to === BRIDGE_BROADCAST) return BROADCAST;
  if (CLIENT_ID_PATTERN.test(to) && !to.startsWith('topic:')) return clientAddress(device, to);
  return to;
}

/** The bridge name for a Switchboard address: a client id for this device's API agents. */
export function bridgeName(device: string, address: string): string {
  if (address === BROADCAST) return BRIDGE_BROADCAST;
  const parsed = parseAddress(address);
  return parsed?.type === 'agent' && parsed.kind === 'api' && parsed.device === device ? parsed.instance : address;
}

export interface OutgoingBridgeMessage {
  from: string;
  to: string;
  type: string;
  payload: unknown;
  requireAck: boolean;
}

/**
 * The SendRequest for a bridge message, validated: throws a ValidationError naming the bridge's
 * fields (`payload`, not `body.text`) when the envelope would refuse it.
 */
export function toSendRequest(device: string, message: OutgoingBridgeMessage, id: string): ParsedSendRequest {
  const asText = typeof message.payload === 'string' && message.payload.length > 0;
  const text = asText ? (message.payload as string) : JSON.stringify(message.payload);
  // A payload longer than a message's text may be (it is bounded for the sake of a model's
  // context) travels as an attachment, and comes out as the same payload.
  const attached = text.length > LIMITS.textChars;
  const body = attached
    ? { text: `(a payload of ${text.length} characters, attached)`, attachments: [payloadAttachment(text, asText)] }
    : text;
  const encoding = attached ? (asText ? 'attached-text' : 'attached-json') : asText ? undefined : 'json';
  const request = {
    id,
    from: clientAddress(device, message.from),
    to: targetAddress(device, message.to),
    kind: kindOfBridgeType(message.type),
    body,
    ackRequired: message.requireAck,
    headers: { [BRIDGE_TYPE_HEADER]: message.type, ...(encoding ? { [BRIDGE_PAYLOAD_HEADER]: encoding } : {}) },
  };
  try {
    return parseSendRequest(request);
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    throw new ValidationError(
      'message',
      error.issues.map((issue) => ({ field: bridgeField(issue.field), problem: issue.problem })),
    );
  }
}

function payloadAttachment(text: string, asText: boolean) {
  const bytes = Buffer.from(text, 'utf8');
  return { name: asText ? 'payload.txt' : 'payload.json', mimeType: asText ? 'text/plain' : 'application/json', size: bytes.length, data: bytes.toString('base64') };
}

function bridgeField(field: string): string {
  if (field === 'body' || field.startsWith('body.')) return 'payload';
  if (field.startsWith('headers')) return 'type';
  if (field === 'ackRequired') return 'require_ack';
  return field;
}

/** The bridge's message shape, for `GET /api/messages` and WebSocket pushes. */
export interface BridgeMessage {
  id: string;
  from: string;
  to: string;
  type: string;
  payload: unknown;
  timestamp: string;
  requires_ack: boolean;
}

export function toBridgeMessage(device: string, message: InboxMessage): BridgeMessage {
  const { envelope } = message;
  const headers = envelope.headers ?? {};
  // The recipient when it was addressed directly; else what reached it (broadcast, a topic).
  const to = envelope.to.includes(message.recipient)
    ? message.recipient
    : envelope.to.find((address) => address === BROADCAST || address.startsWith('topic:')) ?? message.recipient;
  return {
    id: envelope.id,
    from: bridgeName(device, envelope.from),
    to: bridgeName(device, to),
    type: headers[BRIDGE_TYPE_HEADER] ?? TYPE_OF_KIND[envelope.kind],
    payload: payloadOf(envelope.body, headers[BRIDGE_PAYLOAD_HEADER]),
    timestamp: new Date(message.receivedAt).toISOString(),
    requires_ack: envelope.ackRequired,
  };
}

function payloadOf(body: InboxMessage['envelope']['body'], encoding: string | undefined): unknown {
  const attachment = body.attachments?.[0];
  if ((encoding === 'attached-text' || encoding === 'attached-json') && attachment?.data) {
    const text = Buffer.from(attachment.data, 'base64').toString('utf8');
    return encoding === 'attached-json' ? parseOr(text) : text;
  }
  if (body.code?.length || body.attachments?.length) return body;
  return encoding === 'json' ? parseOr(body.text) : body.text;
}

/** Another part of Switchboard may have written the header over text that is not JSON: give the text. */
function parseOr(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
