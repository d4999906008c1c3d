import { describe, expect, it } from 'vitest';
import { describeRule, emptyRuleForm, fieldOf, formToRule, hubRuleErrors, moveRule, ruleIdFor, ruleToForm } from '../../../src/ui/dashboard/derive-rules';
import { Rule } from '../../../src/bus/routing';
import { parseOrThrow, ValidationError } from '../../../src/protocol/envelope';

const form = { ...emptyRuleForm(), id: 'copy-reviews', name: 'Copy reviews', from: 'claude-code:*', text: 'review', recipients: 'api:local/archive, topic:reviews' };

describe('the rule form', () => {
  it('makes the rule it describes, blank conditions left out', () => {
    expect(formToRule(form, { isNew: true, taken: [] })).toEqual({
      rule: {
        id: 'copy-reviews',
        name: 'Copy reviews',
        enabled: true,
        match: { from: 'claude-code:*', text: 'review' },
        action: { type: 'add', recipients: ['api:local/archive', 'topic:reviews'] },
        stop: false,
      },
      errors: {},
    });
    expect(formToRule({ ...form, action: 'drop', recipients: 'ignored' }, { isNew: false, taken: [] }).rule?.action).toEqual({ type: 'drop' });
  });

  it('goes to a form and back unchanged', () => {
    const { rule } = formToRule({ ...form, kind: 'reply', threadId: 't1', stop: true, enabled: false, to: 'api:*' }, { isNew: true, taken: [] });
    expect(formToRule(ruleToForm(rule!), { isNew: false, taken: [] }).rule).toEqual(rule);
  });

  it('puts each error next to its field, with the schema’s words', () => {
    const { errors, rule } = formToRule(
      { ...form, name: '', text: '(unclosed', kind: 'gossip', recipients: 'nobody, api:local/ok' },
      { isNew: true, taken: ['copy-reviews'] },
    );
    expect(rule).toBeUndefined();
    expect(errors.id).toBe('a rule with the id "copy-reviews" exists already');
    expect(errors.name).toBeTruthy();
    expect(errors.text).toBe('not a valid regular expression: "(unclosed"');
    expect(errors.kind).toBe('expected one of prompt, reply, note, event, command, status');
    expect(errors.recipients).toMatch(/^expected an address like .* got "nobody" \(action\.recipients\[0\]\)$/);
  });

  it('needs a recipient to add or replace', () => {
    expect(formToRule({ ...form, recipients: ' , ' }, { isNew: false, taken: [] }).errors.recipients).toBe('name at least one recipient to add');
    expect(formToRule({ ...form, action: 'replace', recipients: '' }, { isNew: false, taken: [] }).errors.recipients).toBe('name at least one recipient to replace');
  });

  it('makes ids from names that do not clash', () => {
    expect(ruleIdFor('Copy reviews!', [])).toBe('copy-reviews');
    expect(ruleIdFor('Copy reviews', ['copy-reviews', 'copy-reviews-2'])).toBe('copy-reviews-3');
    expect(ruleIdFor('   ', [])).toBe('rule');
  });
});

describe('the hub’s errors', () => {
  it('go next to the field they name, however many', () => {
    let message = '';
    try {
      parseOrThrow(Rule, { id: 'x', name: '', match: { text: '[' }, action: { type: 'add', recipients: ['bad'] } }, 'rule');
    } catch (error) {
      message = (error as ValidationError).message;
    }
    const errors = hubRuleErrors(message);
    expect(Object.keys(errors).sort()).toEqual(['name', 'recipients', 'text']);
    expect(errors.text).toBe('not a valid regular expression: "["');
  });

  it('that name no field go above the form', () => {
    expect(hubRuleErrors('reorder needs every rule id once: a, b')).toEqual({ form: 'reorder needs every rule id once: a, b' });
    expect(hubRuleErrors('invalid rule: expected an action with type add, replace or drop')).toEqual({ form: 'expected an action with type add, replace or drop' });
    expect(fieldOf('match.unknown')).toBe('form');
    expect(fieldOf('action.type')).toBe('action');
  });
});

describe('order and description', () => {
  it('moves a rule up or down, and not past the ends', () => {
    expect(moveRule(['a', 'b', 'c'], 'c', -1)).toEqual(['a', 'c', 'b']);
    expect(moveRule(['a', 'b', 'c'], 'a', -1)).toEqual(['a', 'b', 'c']);
    expect(moveRule(['a', 'b', 'c'], 'c', 1)).toEqual(['a', 'b', 'c']);
    expect(moveRule(['a', 'b'], 'zzz', 1)).toEqual(['a', 'b']);
  });

  it('says what a rule does in one line', () => {
    expect(describeRule({ match: { from: 'claude-code:*', text: 'review' }, action: { type: 'add', recipients: ['topic:reviews'] }, stop: true })).toBe(
      'from claude-code:*, text /review/ → add topic:reviews, then stop',
    );
    expect(describeRule({ match: {}, action: { type: 'drop' }, stop: false })).toBe('every message → drop the matching recipients');
  });
});
