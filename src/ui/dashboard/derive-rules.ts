/**
 * The routing-rule editor's state (src/bus/routing.ts): a rule as form fields and back, checked
 * with the same schema the hub uses, and the hub's own error ("invalid rule: match.text: …") put
 * next to the field it names. Pure.
 */
import { Rule, type RuleInput, type StoredRule } from '../../bus/routing';
import { fieldPath, MESSAGE_KINDS } from '../../protocol/envelope';

export const RULE_ACTIONS = ['add', 'replace', 'drop'] as const;

export interface RuleForm {
  id: string;
  name: string;
  enabled: boolean;
  from: string;
  to: string;
  kind: string;
  text: string;
  threadId: string;
  action: (typeof RULE_ACTIONS)[number];
  /** addresses separated by commas, spaces or new lines */
  recipients: string;
  stop: boolean;
}

/** The form's fields an error can belong to; anything else is shown above the form. */
export type RuleField = 'id' | 'name' | 'from' | 'to' | 'kind' | 'text' | 'threadId' | 'action' | 'recipients' | 'form';

export const emptyRuleForm = (): RuleForm => ({
  id: '',
  name: '',
  enabled: true,
  from: '',
  to: '',
  kind: '',
  text: '',
  threadId: '',
  action: 'add',
  recipients: '',
  stop: false,
});

export function ruleToForm(rule: StoredRule | RuleInput): RuleForm {
  const { match, action } = rule;
  return {
    id: rule.id,
    name: rule.name,
    enabled: rule.enabled ?? true,
    from: match.from ?? '',
    to: match.to ?? '',
    kind: match.kind ?? '',
    text: match.text ?? '',
    threadId: match.threadId ?? '',
    action: action.type,
    recipients: action.type === 'drop' ? '' : action.recipients.join(', '),
    stop: rule.stop ?? false,
  };
}

/** An id from the name, unique among `taken`: "Copy reviews" → "copy-reviews", then "copy-reviews-2". */
export function ruleIdFor(name: string, taken: readonly string[]): string {
  const base =
    name
      .toLowerCase()
      .normalize('NFKD')
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 60) || 'rule';
  let id = base;
  for (let n = 2; taken.includes(id); n++) id = `${base}-${n}`;
  return id;
}

export const splitAddresses = (text: string) => text.split(/[\s,]+/).filter(Boolean);

/** Where a schema path ("match.text", "action.recipients[0]") shows in the form. */
export function fieldOf(path: string): RuleField {
  const [head, second] = path.replace(/\[\d+\]/g, '').split('.');
  if (head === 'match' && second && ['from', 'to', 'kind', 'text', 'threadId'].includes(second)) return second as RuleField;
  if (head === 'action') return second === 'recipients' ? 'recipients' : 'action';
  if (head === 'id' || head === 'name') return head;
  return 'form';
}

/**
 * The rule the form describes, or its errors by field. `taken` are the other rules' ids: a new rule
 * may not take one (it would replace that rule).
 */
export function formToRule(form: RuleForm, options: { isNew: boolean; taken: readonly string[] }): { rule?: RuleInput; errors: Partial<Record<RuleField, string>> } {
  const errors: Partial<Record<RuleField, string>> = {};
  const trimmed = (value: string) => value.trim() || undefined;
  const match: Record<string, string> = {};
  for (const key of ['from', 'to', 'kind', 'text', 'threadId'] as const) {
    const value = trimmed(form[key]);
    if (value !== undefined) match[key] = value;
  }
  if (match.kind !== undefined && !(MESSAGE_KINDS as readonly string[]).includes(match.kind)) errors.kind = `expected one of ${MESSAGE_KINDS.join(', ')}`;
  const recipients = splitAddresses(form.recipients);
  if (form.action !== 'drop' && recipients.length === 0) errors.recipients = 'name at least one recipient to ' + form.action;
  const input: RuleInput = {
    id: form.id.trim(),
    name: form.name.trim(),
    enabled: form.enabled,
    match,
    action: form.action === 'drop' ? { type: 'drop' } : { type: form.action, recipients },
    stop: form.stop,
  } as RuleInput;
  if (options.isNew && options.taken.includes(input.id)) errors.id = `a rule with the id "${input.id}" exists already`;
  const parsed = Rule.safeParse(input);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const field = fieldOf(fieldPath(issue.path));
      const where = issue.path.some((p) => typeof p === 'number') ? ` (${fieldPath(issue.path)})` : '';
      errors[field] ??= issue.message.replace(/^Too small: expected string to have >=1 characters$/, 'is required') + where;
    }
  }
  if (Object.keys(errors).length) return { errors };
  return { rule: input, errors };
}

/**
 * The hub's error for a rule, by field: "invalid rule: match.text: not a valid …; name: …" —
 * the format of ValidationError (src/protocol/envelope.ts). Anything else goes to `form`.
 */
export function hubRuleErrors(message: string): Partial<Record<RuleField, string>> {
  const prefix = /^invalid rule: /;
  if (!prefix.test(message)) return { form: message };
  const errors: Partial<Record<RuleField, string>> = {};
  for (const part of message.replace(prefix, '').split('; ')) {
    const match = /^([A-Za-z][\w.[\]]*): (.*)$/s.exec(part);
    const field = match ? fieldOf(match[1]) : 'form';
    const text = match ? match[2] : part;
    errors[field] = errors[field] ? `${errors[field]}; ${text}` : text;
  }
  return errors;
}

/** The ids after moving one up (-1) or down (+1); the same order when it cannot move. */
export function moveRule(ids: readonly string[], id: string, by: -1 | 1): string[] {
  const from = ids.indexOf(id);
  const to = from + by;
  if (from < 0 || to < 0 || to >= ids.length) return [...ids];
  const next = [...ids];
  [next[from], next[to]] = [next[to], next[from]];
  return next;
}

/** A rule in one line: "from claude-code:* with "review" → add topic:reviews". */
export function describeRule(rule: Pick<StoredRule, 'match' | 'action' | 'stop'>): string {
  const { from, to, kind, text, threadId } = rule.match;
  const when = [
    from && `from ${from}`,
    to && `to ${to}`,
    kind && `kind ${kind}`,
    text && `text /${text}/`,
    threadId && `thread ${threadId}`,
  ].filter(Boolean);
  const action = rule.action.type === 'drop' ? 'drop the matching recipients' : `${rule.action.type} ${rule.action.recipients.join(', ')}`;
  return `${when.length ? when.join(', ') : 'every message'} → ${action}${rule.stop ? ', then stop' : ''}`;
}
