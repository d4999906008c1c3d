import { describe, expect, it } from 'vitest';
import type { IncomingMessage } from 'node:http';
import { authenticate, presentedToken, tokensMatch } from '../../../native-host/api/auth';

const request = (authorization?: string) => ({ headers: authorization === undefined ? {} : { authorization } }) as IncomingMessage;
const url = (query = '') => new URL(`http://localhost/api/status${query}`);

describe('auth', () => {
  it('takes the bearer token from the header first, then from ?token=', () => {
    expect(presentedToken(request('Bearer abc'), url('?token=xyz'))).toBe('abc');
    expect(presentedToken(request('bearer   abc '), url())).toBe('abc');
    expect(presentedToken(request(), url('?token=xyz'))).toBe('xyz');
    expect(presentedToken(request(), url())).toBeUndefined();
    expect(presentedToken(request('Basic abc'), url('?token=xyz'))).toBe('');
  });

  it('compares tokens of any length without throwing', () => {
    expect(tokensMatch('secret', 'secret')).toBe(true);
    expect(tokensMatch('secret', 'secreT')).toBe(false);
    expect(tokensMatch('s', 'a much longer token')).toBe(false);
    expect(tokensMatch('', 'secret')).toBe(false);
  });

  it('says whether the token is missing or wrong', () => {
    expect(authenticate(request('Bearer t0k'), url(), 't0k')).toEqual({ ok: true });
    expect(authenticate(request(), url(), 't0k')).toEqual({ ok: false, error: 'missing token' });
    expect(authenticate(request('Bearer nope'), url(), 't0k')).toEqual({ ok: false, error: 'wrong token' });
    expect(authenticate(request('Bearer '), url(), 't0k')).toEqual({ ok: false, error: 'wrong token' });
    expect(authenticate(request(), url('?token='), 't0k')).toEqual({ ok: false, error: 'wrong token' });
  });
});
