/**
 * Routing rules: content-based rules, evaluated in order when a message is accepted, that add,
 * replace or drop recipients. A rule matches on sender, recipient, kind, text and thread; every
 * condition given must hold. Addresses in conditions are patterns where `*` stands for any run of
 * characters (`claude-code:*`); `text` is a regular expression, matched case-insensitively.
 */
import { z } from 'zod';
import { Address } from '../protocol/address';
import { MESSAGE_KINDS, type Envelope } from '../protocol/envelope';

const Pattern = z.string().min(1).max(300);

const TextPattern = z
  .string()
  .min(1)
  .max(200)
  .refine(
    (source) => {
      try {
        new RegExp(source, 'iu');
        return true;
      } catch {
        return false;
      }
    },
    { error: (issue) => `not a valid regular expression: ${JSON.stringify(issue.input)}` },
  );

export const RuleMatch = z.strictObject({
  from: Pattern.optional(),
  /** matches when any recipient matches */
  to: Pattern.optional(),
  kind: z.enum(MESSAGE_KINDS).optional(),
  text: TextPattern.optional(),
  threadId: z.string().min(1).max(100).optional(),
});

const Recipients = z.array(Address).min(1).max(20);

export const RuleAction = z.discriminatedUnion(
  'type',
  [
    /** add these recipients */
    z.strictObject({ type: z.literal('add'), recipients: Recipients }),
    /** put these in place of the recipients that match `match.to` (of all of them when it is absent) */
    z.strictObject({ type: z.literal('replace'), recipients: Recipients }),
    /** drop the recipients that match `match.to` (all of them when it is absent) */
    z.strictObject({ type: z.literal('drop') }),
  ],
  { error: 'expected an action with type add, replace or drop' },
);

export const Rule = z.strictObject({
  id: z.string().min(1).max(100),
  name: z.string().min(1).max(100),
  enabled: z.boolean().default(true),
  match: RuleMatch,
  action: RuleAction,
  /** no later rule is evaluated after this one matched */
  stop: z.boolean().default(false),
});
export type Rule = z.output<typeof Rule>;
export type RuleInput = z.input<typeof Rule>;

/** A rule as stored, with its place in the order (lowest first). */
export type StoredRule = Rule & { position: number };

export interface Routed {
  recipients: string[];
  /** ids of the rules that matched, in order */
  applied: string[];
}

const patterns = new Map<string, RegExp>();
function compiled(source: string, kind: 'glob' | 'text'): RegExp {
  const key = `${kind} ${source}`;
  let regex = patterns.get(key);
  if (!regex) {
    regex =
      kind === 'text'
        ? new RegExp(source, 'iu')
        : new RegExp(`^${source.split('*').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
    if (patterns.size > 1_000) patterns.clear();
    patterns.set(key, regex);
  }
  return regex;
}

const globMatches = (pattern: string, address: string) => compiled(pattern, 'glob').test(address);

function matches(rule: Rule, message: Pick<Envelope, 'from' | 'kind' | 'body' | 'threadId'>, recipients: string[]): boolean {
  const { from, to, kind, text, threadId } = rule.match;
  if (from !== undefined && !globMatches(from, message.from)) return false;
  if (to !== undefined && !recipients.some((r) => globMatches(to, r))) return false;
  if (kind !== undefined && message.kind !== kind) return false;
  if (threadId !== undefined && message.threadId !== threadId) return false;
  if (text !== undefined && !compiled(text, 'text').test(message.body.text)) return false;
  return true;
}

/** Applies the enabled rules in order to a message's recipients. */
export function route(message: Pick<Envelope, 'from' | 'to' | 'kind' | 'body' | 'threadId'>, rules: readonly StoredRule[]): Routed {
  let recipients = [...message.to];
  const applied: string[] = [];
  for (const rule of rules) {
    if (!rule.enabled || !matches(rule, message, recipients)) continue;
    applied.push(rule.id);
    const targeted = (r: string) => rule.match.to === undefined || globMatches(rule.match.to, r);
    const { action } = rule;
    if (action.type === 'add') recipients = [...recipients, ...action.recipients];
    else if (action.type === 'drop') recipients = recipients.filter((r) => !targeted(r));
    else recipients = [...recipients.filter((r) => !targeted(r)), ...action.recipients];
    recipients = [...new Set(recipients)];
    if (rule.stop) break;
  }
  return { recipients, applied };
}
