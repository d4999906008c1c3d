import { describe, expect, it } from 'vitest';
import { Rule, route, type StoredRule } from '../../src/bus/routing';
import { parseOrThrow } from '../../src/protocol/envelope';

const message = {
  from: 'claude-code:laptop/s1',
  to: ['claude-ai:laptop/chat-1'],
  kind: 'prompt' as const,
  body: { text: 'Please REVIEW the deploy script' },
  threadId: 't-1',
};
let position = 0;
const rule = (input: object): StoredRule => ({ ...parseOrThrow(Rule, { id: `r${position}`, name: 'a rule', ...input }, 'rule'), position: position++ });

describe('routing rules', () => {
  it('adds recipients when every condition holds', () => {
    const add = rule({ match: { from: 'claude-code:*', kind: 'prompt', text: 'review', threadId: 't-1' }, action: { type: 'add', recipients: ['topic:reviews'] } });
    expect(route(message, [add])).toEqual({ recipients: ['claude-ai:laptop/chat-1', 'topic:reviews'], applied: [add.id] });
    for (const miss of [{ from: 'claude-ai:*' }, { kind: 'note' }, { text: '^review' }, { threadId: 't-2' }, { to: 'api:*' }]) {
      const r = rule({ match: miss, action: { type: 'add', recipients: ['topic:x'] } });
      expect(route(message, [r]).applied, JSON.stringify(miss)).toEqual([]);
    }
  });

  it('replaces and drops the recipients that match `to`, or all of them', () => {
    const msg = { ...message, to: ['claude-ai:laptop/chat-1', 'api:laptop/bot'] };
    const replaceAi = rule({ match: { to: 'claude-ai:*' }, action: { type: 'replace', recipients: ['claude-desktop:laptop/app'] } });
    expect(route(msg, [replaceAi]).recipients).toEqual(['api:laptop/bot', 'claude-desktop:laptop/app']);
    const dropBot = rule({ match: { to: 'api:*' }, action: { type: 'drop' } });
    expect(route(msg, [dropBot]).recipients).toEqual(['claude-ai:laptop/chat-1']);
    const dropAll = rule({ match: { kind: 'prompt' }, action: { type: 'drop' } });
    expect(route(msg, [dropAll])).toEqual({ recipients: [], applied: [dropAll.id] });
  });

  it('evaluates in order, each rule seeing the last one\'s result; stop ends it; disabled rules are skipped', () => {
    const add = rule({ match: {}, action: { type: 'add', recipients: ['api:laptop/audit'] } });
    const dropAudit = rule({ match: { to: 'api:laptop/audit' }, action: { type: 'drop' }, stop: true });
    const never = rule({ match: {}, action: { type: 'add', recipients: ['topic:never'] } });
    const off = rule({ enabled: false, match: {}, action: { type: 'add', recipients: ['topic:off'] } });
    expect(route(message, [off, add, dropAudit, never])).toEqual({ recipients: ['claude-ai:laptop/chat-1'], applied: [add.id, dropAudit.id] });
  });

  it('treats glob metacharacters other than * literally', () => {
    const r = rule({ match: { from: 'claude-code:laptop/s.' }, action: { type: 'drop' } });
    expect(route(message, [r]).applied).toEqual([]);
  });

  it('rejects a bad rule, naming the field', () => {
    const bad = (input: object) => () => parseOrThrow(Rule, { id: 'x', name: 'x', match: {}, action: { type: 'drop' }, ...input }, 'rule');
    expect(bad({ match: { text: '(unclosed' } })).toThrow('invalid rule: match.text: not a valid regular expression: "(unclosed"');
    expect(bad({ action: { type: 'forward' } })).toThrow('invalid rule: action.type: expected an action with type add, replace or drop');
    expect(bad({ action: { type: 'add', recipients: ['nowhere'] } })).toThrow(/^invalid rule: action\.recipients\[0\]: expected an address/);
    expect(bad({ match: { kind: 'gossip' } })).toThrow(/^invalid rule: match\.kind: /);
  });
});
