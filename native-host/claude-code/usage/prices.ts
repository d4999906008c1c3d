/**
 * What Claude Code's API calls cost (issue 5: "cost from a bundled price table of current Claude
 * models (a JSON file the person can update)"). Transcripts carry tokens, never cost.
 *
 * The bundled table is prices.json beside this file (its `about` says where the prices come from and
 * when they were checked). The person's own file has the same shape and wins model by model, so a new
 * model or a price change needs no release. Both are validated; an error names the file, the model
 * and the field.
 *
 * A transcript's model id is looked up exactly (a table key or alias), then by its family: the id
 * without its date and provider decorations (`claude-sonnet-4-5-20250929`, Bedrock's
 * `us.anthropic.claude-sonnet-4-5-20250929-v1:0`, Vertex's `claude-sonnet-4-5@20250929` and
 * Claude Code's `claude-sonnet-4-5[1m]` are all `claude-sonnet-4-5`). Nothing looser: Opus 4.5 costs a
 * third of Opus 4.1, so `claude-opus-4-7` must not borrow the price of `claude-opus-4`. A model not
 * found has an unknown cost — reported as such, never counted as zero.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ValidationError, fieldPath } from '../../../src/protocol/envelope';
import { objectError } from './object-error';
import bundledPrices from './prices.json' with { type: 'json' };

const PRICE_HINT = 'expected a price in USD per million tokens (a number ≥ 0)';
const price = z.number({ error: PRICE_HINT }).min(0, { error: PRICE_HINT }).max(1_000_000, { error: PRICE_HINT });

export const ModelPriceEntry = z.strictObject(
  {
    /** for people reading the file */
    name: z.string({ error: 'expected a display name' }).optional(),
    /** other ids of the same model, e.g. `claude-opus-4-0` for `claude-opus-4` */
    aliases: z.array(z.string({ error: 'expected a model id' }).min(1, { error: 'expected a model id' }), { error: 'expected a list of model ids' }).optional(),
    input: price,
    output: price,
    /** prompt-cache writes with the default 5-minute lifetime */
    cacheWrite5m: price,
    /** prompt-cache writes with the 1-hour lifetime. Default: twice `input`, Anthropic's multiplier for every model so far. */
    cacheWrite1h: price.optional(),
    cacheRead: price,
  },
  { error: objectError('expected an object of prices: input, output, cacheWrite5m, cacheWrite1h (optional), cacheRead', ['name', 'aliases', 'input', 'output', 'cacheWrite5m', 'cacheWrite1h', 'cacheRead']) },
);

export const PriceFile = z.strictObject(
  {
    about: z.string({ error: 'expected text' }).optional(),
    asOf: z.string({ error: 'expected a date' }).optional(),
    models: z.record(z.string().min(1, { error: 'expected a model id' }), ModelPriceEntry, { error: 'expected an object of models by id' }),
  },
  { error: objectError('expected an object with `models`', ['about', 'asOf', 'models']) },
);

/** One model's prices, USD per million tokens. */
export interface ModelPrice {
  name: string;
  input: number;
  output: number;
  cacheWrite5m: number;
  cacheWrite1h: number;
  cacheRead: number;
}

export interface PriceTable {
  /** by the table's model id */
  models: ReadonlyMap<string, ModelPrice>;
  /** every id and alias (lower case) → the table's model id */
  ids: ReadonlyMap<string, string>;
  /** where each model's price comes from: the file it was read from */
  origin: ReadonlyMap<string, string>;
}

export interface PriceMatch {
  /** the table's model id */
  model: string;
  price: ModelPrice;
  matchedBy: 'exact' | 'family';
}

/** The tokens of one API response, or of many added up. */
export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
  /** all cache writes, of which cacheCreation1hTokens had the 1-hour lifetime */
  cacheCreationTokens: number;
  cacheCreation1hTokens: number;
  cacheReadTokens: number;
}

/** A price file that cannot be used; the message names the file and each bad field (`models.<id>.<field>`). */
export class PriceFileError extends ValidationError {
  constructor(
    readonly file: string,
    issues: { field: string; problem: string }[],
  ) {
    super(file, issues);
    this.name = 'PriceFileError';
    this.message = issues.map((issue) => `${file}: ${issue.field ? `${issue.field}: ` : ''}${issue.problem}`).join('\n');
  }
}

/** Validates a price file's data; `file` names it in errors. Throws PriceFileError. */
export function parsePriceFile(data: unknown, file: string): PriceTable {
  const result = PriceFile.safeParse(data);
  if (!result.success) {
    throw new PriceFileError(
      file,
      result.error.issues.map((issue) => ({ field: fieldPath(issue.path), problem: issue.message })),
    );
  }
  const models = new Map<string, ModelPrice>();
  const ids = new Map<string, string>();
  const origin = new Map<string, string>();
  const problems: { field: string; problem: string }[] = [];
  for (const [model, entry] of Object.entries(result.data.models)) {
    models.set(model, {
      name: entry.name ?? model,
      input: entry.input,
      output: entry.output,
      cacheWrite5m: entry.cacheWrite5m,
      cacheWrite1h: entry.cacheWrite1h ?? entry.input * 2,
      cacheRead: entry.cacheRead,
    });
    origin.set(model, file);
    for (const [index, id] of [model, ...(entry.aliases ?? [])].entries()) {
      const claimedBy = ids.get(id.toLowerCase());
      if (claimedBy !== undefined && claimedBy !== model) {
        const field = index === 0 ? `models.${model}` : `models.${model}.aliases[${index - 1}]`;
        problems.push({ field, problem: `${id} is already the id or an alias of ${claimedBy}` });
      }
      ids.set(id.toLowerCase(), model);
    }
  }
  if (problems.length > 0) throw new PriceFileError(file, problems);
  return { models, ids, origin };
}

/** Reads and validates the person's price file. Throws PriceFileError naming the file. */
export function readPriceFile(file: string): PriceTable {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new PriceFileError(file, [{ field: '', problem: `cannot read: ${(error as Error).message}` }]);
  }
  let data: unknown;
  try {
    // Windows editors save a byte-order mark that JSON.parse refuses.
    data = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (error) {
    throw new PriceFileError(file, [{ field: '', problem: `not valid JSON: ${(error as Error).message}` }]);
  }
  return parsePriceFile(data, file);
}

/** The table shipped with Switchboard (prices.json). */
export const BUNDLED_PRICES: PriceTable = parsePriceFile(bundledPrices, 'the bundled prices.json');

/**
 * `base` with `override`'s models on top: a model in both takes the override's entry whole, and an id
 * or alias the override claims is the override's.
 */
export function withOverrides(base: PriceTable, override: PriceTable): PriceTable {
  const models = new Map(base.models);
  const origin = new Map(base.origin);
  const ids = new Map<string, string>();
  for (const [id, model] of base.ids) if (!override.models.has(model)) ids.set(id, model);
  for (const [model, price] of override.models) {
    models.set(model, price);
    origin.set(model, override.origin.get(model) ?? 'override');
  }
  for (const [id, model] of override.ids) ids.set(id, model);
  // A bundled model whose every id the override took over is unreachable: drop it.
  const reachable = new Set(ids.values());
  for (const model of [...models.keys()]) if (!reachable.has(model)) models.delete(model);
  return { models, ids, origin };
}

/** The bundled table, with the person's file on top when one is given. */
export function loadPrices(overrideFile?: string): PriceTable {
  return overrideFile === undefined ? BUNDLED_PRICES : withOverrides(BUNDLED_PRICES, readPriceFile(overrideFile));
}

/**
 * The id without its date and provider decorations: Bedrock's region and `anthropic.` prefix and
 * `-v1:0` suffix, Vertex's `@20250929`, a `-20250929` date, `-latest`, Claude Code's `[1m]`.
 */
export function modelFamily(model: string): string {
  let id = model.trim().toLowerCase().replace(/\[[^\]]*\]$/, '').replace(/^(?:[a-z]{2,6}\.)?anthropic\./, '');
  for (;;) {
    const next = id.replace(/@\d{8}$/, '').replace(/-v\d+(?::\d+)?$/, '').replace(/-\d{8}$/, '').replace(/-latest$/, '');
    if (next === id) return id;
    id = next;
  }
}

/** The price of `model`, or undefined when the table does not know it. */
export function findPrice(table: PriceTable, model: string): PriceMatch | undefined {
  const exact = table.ids.get(model.toLowerCase());
  if (exact !== undefined) return { model: exact, price: table.models.get(exact)!, matchedBy: 'exact' };
  const family = table.ids.get(modelFamily(model));
  if (family !== undefined) return { model: family, price: table.models.get(family)!, matchedBy: 'family' };
  return undefined;
}

/** USD for `usage` at `price`. */
export function costOf(usage: TokenUsage, price: ModelPrice): number {
  const cacheWrite1h = Math.min(usage.cacheCreation1hTokens, usage.cacheCreationTokens);
  const perMillion =
    usage.inputTokens * price.input +
    usage.outputTokens * price.output +
    (usage.cacheCreationTokens - cacheWrite1h) * price.cacheWrite5m +
    cacheWrite1h * price.cacheWrite1h +
    usage.cacheReadTokens * price.cacheRead;
  return perMillion / 1_000_000;
}

/** USD for one response of `model`, or null when the model's price is unknown. */
export function costOfModel(table: PriceTable, model: string, usage: TokenUsage): number | null {
  const match = findPrice(table, model);
  return match === undefined ? null : costOf(usage, match.price);
}
