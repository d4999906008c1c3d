/**
 * `Idempotency-Key` for `POST /api/send`. The bridge's protocol has no way to resend safely: a
 * client whose request timed out cannot know whether the message was taken. A client that sends
 * this optional header gets the same message id for the same key, and the core and the hub accept
 * each id once (ports.ts, envelope.ts), so a retry — even after the daemon restarted — never makes
 * a second copy. Without the header every request is a new message, as with the bridge.
 *
 * The id is derived from the sender and the key, so two clients using the same key do not collide.
 * It has the form of a UUIDv7 (version and variant bits set) but its leading bits are a hash, not
 * a time: nothing in Switchboard reads time from an id (createdAt carries it).
 */
import { createHash } from 'node:crypto';
import { HttpError } from './http-io';

const KEY = /^[\x21-\x7e]{1,200}$/;

export function idempotentMessageId(from: string, key: string): string {
  if (!KEY.test(key)) {
    throw new HttpError(400, 'Idempotency-Key: expected 1 to 200 printable ASCII characters without spaces');
  }
  const bytes = createHash('sha256').update(`${from}\n${key}`, 'utf8').digest().subarray(0, 16);
  bytes[6] = (bytes[6] & 0x0f) | 0x70;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
