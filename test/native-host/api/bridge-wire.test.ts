import { describe, expect, it } from 'vitest';
import {
  bridgeName,
  BridgeSendBody,
  kindOfBridgeType,
  targetAddress,
  toBridgeMessage,
  toSendRequest,
} from '../../../native-host/api/bridge-wire';
import { newMessageId, parseOrThrow, ValidationError } from '../../../src/protocol/envelope';
import { envelopeFor } from '../../support/memory-host-core';

describe('bridge wire mapping', () => {
  it('maps bridge types onto Switchboard kinds', () => {
    expect(['request', 'response', 'claude_response', 'command', 'status', 'message', 'broadcast', 'anything'].map(kindOfBridgeType)).toEqual([
      'prompt',
      'reply',
      'reply',
      'command',
      'status',
      'note',
      'note',
      'note',
    ]);
  });

  it('maps client ids, "all" and full addresses both ways', () => {
    expect(targetAddress('laptop', 'reviewer')).toBe('api:laptop/reviewer');
    expect(targetAddress('laptop', 'all')).toBe('broadcast');
    expect(targetAddress('laptop', 'topic:builds')).toBe('topic:builds');
    expect(targetAddress('laptop', 'claude-code:desk/5f0c')).toBe('claude-code:desk/5f0c');
    expect(bridgeName('laptop', 'api:laptop/reviewer')).toBe('reviewer');
    expect(bridgeName('laptop', 'api:desk/reviewer')).toBe('api:desk/reviewer');
    expect(bridgeName('laptop', 'broadcast')).toBe('all');
  });

  it('round-trips any JSON payload and the bridge type', () => {
    for (const payload of ['text', '', 0, null, false, [1, 'two'], { nested: { deep: true } }]) {
      const request = toSendRequest('laptop', { from: 'a', to: 'b', type: 'custom-type', payload, requireAck: false }, newMessageId());
      const envelope = envelopeFor({ ...request, from: request.from, to: request.to, kind: request.kind, body: request.body as { text: string } });
      const out = toBridgeMessage('laptop', { seq: 1, recipient: 'api:laptop/b', envelope, receivedAt: 0 });
      expect(out.payload).toEqual(payload);
      expect(out.type).toBe('custom-type');
      expect(out.from).toBe('a');
      expect(out.to).toBe('b');
    }
  });

  it('gives a message from elsewhere a bridge type from its kind, and a rich body whole', () => {
    const body = { text: 'see this', code: [{ language: 'ts', code: 'let x = 1' }] };
    const envelope = envelopeFor({ from: 'claude-ai:laptop/chat-1', to: ['topic:builds'], kind: 'reply', body });
    const out = toBridgeMessage('laptop', { seq: 1, recipient: 'api:laptop/b', envelope, receivedAt: 0 });
    expect(out).toMatchObject({ from: 'claude-ai:laptop/chat-1', to: 'topic:builds', type: 'response', payload: body });
  });

  it('carries a payload longer than a message text as an attachment, and gives it back whole', () => {
    for (const payload of ['é'.repeat(300_000), { rows: Array.from({ length: 30_000 }, (_, i) => ({ i, name: `row ${i}` })) }]) {
      const request = toSendRequest('laptop', { from: 'a', to: 'b', type: 'message', payload, requireAck: false }, newMessageId());
      expect(request.body.attachments).toHaveLength(1);
      expect(request.body.text.length).toBeLessThan(100);
      const envelope = envelopeFor({ ...request, body: request.body });
      expect(toBridgeMessage('laptop', { seq: 1, recipient: 'api:laptop/b', envelope, receivedAt: 0 }).payload).toEqual(payload);
    }
  });

  it('names the bridge fields in errors', () => {
    const tooLong = () => toSendRequest('laptop', { from: 'a', to: 'b', type: 'x', payload: 'y'.repeat(8_000_000), requireAck: false }, newMessageId());
    expect(tooLong).toThrow(ValidationError);
    expect(tooLong).toThrow(/invalid message: payload: /);
    expect(() => parseOrThrow(BridgeSendBody, { from: '', to: 'b', payload: 1 }, 'send request')).toThrow(/from: expected a client id/);
  });
});
