import { describe, expect, it } from 'vitest';
import { agentAddress, parseAddress } from '../../src/protocol/address';
import { Envelope, SendRequest, ValidationError, parseOrThrow } from '../../src/protocol/envelope';

describe('addresses', () => {
  it('parses agents, topics and broadcast', () => {
    expect(parseAddress('claude-code:laptop/5f0c2a9e-1')).toEqual({ type: 'agent', kind: 'claude-code', device: 'laptop', instance: '5f0c2a9e-1' });
    expect(parseAddress('claude-ai:desk-2/chat-8e1')).toMatchObject({ kind: 'claude-ai', device: 'desk-2', instance: 'chat-8e1' });
    expect(parseAddress('api:local/ci-bot')).toMatchObject({ kind: 'api', instance: 'ci-bot' });
    expect(parseAddress('topic:builds/nightly')).toEqual({ type: 'topic', name: 'builds/nightly' });
    expect(parseAddress('broadcast')).toEqual({ type: 'broadcast' });
  });

  it('rejects what is not an address', () => {
    for (const bad of ['', 'claude-code', 'claude-code:laptop', 'claude-code:/x', 'robot:laptop/x', 'claude-code:Laptop/x', 'topic:', 'topic:Caps', 'broadcast:all', 'claude-ai:laptop/<script>']) {
      expect(parseAddress(bad), bad).toBeUndefined();
    }
    expect(() => agentAddress('claude-ai', 'laptop', 'a b')).toThrow('not a valid agent address: "claude-ai:laptop/a b"');
  });
});

describe('envelopes', () => {
  const valid = { from: 'claude-code:laptop/s1', to: 'claude-ai:laptop/chat-1', body: 'hello' };

  it('fills defaults in a send request', () => {
    expect(parseOrThrow(SendRequest, valid, 'message')).toEqual({
      from: 'claude-code:laptop/s1',
      to: ['claude-ai:laptop/chat-1'],
      body: { text: 'hello' },
      kind: 'note',
      priority: 'normal',
      ttl: 'medium',
      hops: 0,
      ackRequired: false,
    });
  });

  it('carries headers unchanged, and names a bad one', () => {
    const headers = { 'bridge-type': 'claude_response', 'bridge-payload': 'json' };
    expect(parseOrThrow(SendRequest, { ...valid, headers }, 'message').headers).toEqual(headers);
    expect(() => parseOrThrow(SendRequest, { ...valid, headers: { 'Bad Name': 'x' } }, 'message')).toThrow(
      'headers.Bad Name: header names are lower-case letters, digits and -, at most 64',
    );
    expect(() => parseOrThrow(SendRequest, { ...valid, headers: { a: 'x'.repeat(1_001) } }, 'message')).toThrow('headers.a: a header value is at most 1,000 characters');
    const many = Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`h${i}`, 'x']));
    expect(() => parseOrThrow(SendRequest, { ...valid, headers: many }, 'message')).toThrow('headers: at most 16 headers');
  });

  it('takes code blocks and attachments', () => {
    const body = {
      text: 'see attached',
      code: [{ language: 'ts', code: 'const x = 1;' }],
      attachments: [{ name: 'a.txt', mimeType: 'text/plain', size: 5, data: btoa('hello') }],
    };
    expect(parseOrThrow(SendRequest, { ...valid, body }, 'message').body).toEqual(body);
  });

  it('names each bad field', () => {
    const attempt = (input: object) => {
      try {
        parseOrThrow(SendRequest, input, 'message');
        return 'accepted';
      } catch (error) {
        expect(error).toBeInstanceOf(ValidationError);
        return (error as Error).message;
      }
    };
    expect(attempt({ ...valid, from: 'topic:x' })).toMatch(/^invalid message: from: expected an agent address/);
    expect(attempt({ ...valid, to: ['claude-ai:laptop/a', 42] })).toBe('invalid message: to[1]: expected an address like "kind:device/instance" (kind one of claude-ai, claude-code, claude-desktop, api, extension, test), "topic:name" or "broadcast"');
    expect(attempt({ ...valid, kind: 'gossip' })).toMatch(/^invalid message: kind: Invalid option: expected one of "prompt"/);
    expect(attempt({ ...valid, ttl: 'forever' })).toMatch(/^invalid message: ttl: /);
    expect(attempt({ ...valid, hops: -1 })).toMatch(/^invalid message: hops: /);
    expect(attempt({ ...valid, ackRequired: 'yes' })).toMatch(/^invalid message: ackRequired: /);
    expect(attempt({ ...valid, inReplyTo: 'abc' })).toBe('invalid message: inReplyTo: expected a message id (a UUIDv7)');
    expect(attempt({ ...valid, body: { text: 'x', attachments: [{ name: 'a', mimeType: 'x/y', size: 1, data: 'not base64!' }] } })).toMatch(
      /^invalid message: body\.attachments\[0\]\.data: /,
    );
    expect(attempt({ ...valid, body: 'x'.repeat(200_001) })).toMatch(/^invalid message: body\.text: /);
    expect(attempt({ ...valid, body: { text: 'x', attachments: [{ name: 'a', mimeType: 'text/plain', size: 9, data: btoa('hello') }] } })).toBe(
      'invalid message: body.attachments[0].size: size says 9 bytes but data holds 5',
    );
    const file = { name: 'a.bin', mimeType: 'application/octet-stream', size: 4_500_000, data: 'A'.repeat(6_000_000) };
    expect(attempt({ ...valid, body: { text: 'x', attachments: [file, file, file] } })).toBe(
      'invalid message: body.attachments: attachments are larger than 16000000 base64 characters together',
    );
    expect(attempt({ ...valid, to: Array.from({ length: 101 }, (_, i) => `api:local/c${i}`) })).toBe('invalid message: to: at most 100 recipients');
  });

  it('requires every field of a complete envelope', () => {
    expect(() => parseOrThrow(Envelope, { ...valid, to: [valid.to], body: { text: 'x' } }, 'envelope')).toThrow(
      /^invalid envelope: id: expected a message id \(a UUIDv7\); replyTo: .*threadId: .*kind: .*priority: .*ttl: .*createdAt: .*hops: .*ackRequired: /,
    );
  });
});
