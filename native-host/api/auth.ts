/**
 * Bearer-token authentication for the local API (issue 4: "every request authenticated with a
 * random token in a file only the user can read").
 *
 * The token comes in `Authorization: Bearer <token>` or, for WebSocket and EventSource clients
 * that cannot set headers, in `?token=`. There is no unauthenticated route, not even
 * `/health/live`: a client without the token that gets a 401 has already learned the daemon is
 * alive, so an exception would buy nothing and would leave one more door to think about.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export type AuthResult = { ok: true } | { ok: false; error: 'missing token' | 'wrong token' };

const BEARER = /^Bearer[ \t]+(\S+)\s*$/i;

/** The token a request carries, from its Authorization header first, else from `?token=`. */
export function presentedToken(request: IncomingMessage, url: URL): string | undefined {
  const header = request.headers.authorization;
  if (header !== undefined) return BEARER.exec(header)?.[1] ?? '';
  return url.searchParams.get('token') ?? undefined;
}

const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();
/** The expected token's digest, made once rather than on every request. */
let expectedDigest: { token: string; digest: Buffer } | undefined;

/** Compares tokens in constant time: hashing first gives equal lengths, so not even length leaks. */
export function tokensMatch(presented: string, expected: string): boolean {
  if (expectedDigest?.token !== expected) expectedDigest = { token: expected, digest: digest(expected) };
  return timingSafeEqual(digest(presented), expectedDigest.digest);
}

export function authenticate(request: IncomingMessage, url: URL, token: string): AuthResult {
  const presented = presentedToken(request, url);
  if (presented === undefined) return { ok: false, error: 'missing token' };
  // `Authorization: Basic …` or an empty bearer is a wrong token, not a missing one: the client
  // did try to authenticate.
  return presented !== '' && tokensMatch(presented, token) ? { ok: true } : { ok: false, error: 'wrong token' };
}
