/**
 * Full-text terms: what a message is indexed under (a multi-entry index on `messages.terms`), and
 * how a query is read. Lower-cased, accents folded, split on anything that is not a letter or a
 * digit in any script; one-character words are left out.
 */
import type { Envelope } from '../protocol/envelope';

/** Terms kept per message: enough for long answers, bounded so one message cannot bloat the index. */
export const MAX_TERMS = 2_000;
const MAX_TERM_LENGTH = 40;

function words(text: string): string[] {
  return text
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter((w) => w.length >= 2)
    .map((w) => w.slice(0, MAX_TERM_LENGTH));
}

/** The distinct terms of a message's text and code. */
export function termsOf(message: Pick<Envelope, 'body'>): string[] {
  const parts = [message.body.text, ...(message.body.code ?? []).map((block) => block.code)];
  const terms = new Set<string>();
  for (const part of parts) {
    for (const word of words(part)) {
      terms.add(word);
      if (terms.size >= MAX_TERMS) return [...terms];
    }
  }
  return [...terms];
}

/** A query's terms: every word must match; the last one also matches as a prefix (search as you type). */
export function queryTerms(query: string): { whole: string[]; prefix: string | undefined } {
  const all = [...new Set(words(query))];
  const endsInWord = /[\p{L}\p{N}]$/u.test(query.normalize('NFKD').replace(/\p{M}+/gu, ''));
  if (!endsInWord) return { whole: all, prefix: undefined };
  return { whole: all.slice(0, -1), prefix: all.at(-1) };
}
