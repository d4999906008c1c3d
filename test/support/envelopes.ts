import { newMessageId, type Envelope } from '../../src/protocol/envelope';

/** A complete, valid envelope with sensible defaults; give what a test cares about. */
export function envelopeFor(fields: Partial<Envelope> & Pick<Envelope, 'from' | 'to'>): Envelope {
  const id = fields.id ?? newMessageId();
  return {
    id,
    replyTo: fields.from,
    threadId: id,
    kind: 'note',
    body: { text: 'hello' },
    priority: 'normal',
    ttl: 'medium',
    createdAt: 1_700_000_000_000,
    hops: 0,
    ackRequired: false,
    ...fields,
  };
}
