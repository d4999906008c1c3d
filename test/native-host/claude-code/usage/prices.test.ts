import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BUNDLED_PRICES,
  PriceFileError,
  costOf,
  costOfModel,
  findPrice,
  loadPrices,
  modelFamily,
  parsePriceFile,
  withOverrides,
} from '../../../../native-host/claude-code/usage/prices';
import { memoryCursorStore } from '../../../../native-host/claude-code/usage/cursor-store';
import { TranscriptReader } from '../../../../native-host/claude-code/usage/transcript-reader';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'transcripts');

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'switchboard-prices-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const usage = (input: number, output: number, cacheWrite: number, cacheWrite1h: number, cacheRead: number) => ({
  inputTokens: input,
  outputTokens: output,
  cacheCreationTokens: cacheWrite,
  cacheCreation1hTokens: cacheWrite1h,
  cacheReadTokens: cacheRead,
});

describe('the bundled table', () => {
  it("costs the recorded session what Claude Code itself said it cost (its cost-state line)", async () => {
    const file = join(FIXTURES, 'tool-use-sonnet-4-5.jsonl');
    const batch = await (await TranscriptReader.open({ store: memoryCursorStore() })).read([file]);
    const total = batch.records.reduce((sum, record) => sum + costOfModel(BUNDLED_PRICES, record.model, record)!, 0);

    const lines = (await readFile(file, 'utf8')).trim().split('\n').map((line) => JSON.parse(line));
    const costState = lines.find((line) => line.type === 'cost-state');
    expect(costState.totalCostUSD).toBe(0.02923815);
    expect(total).toBeCloseTo(costState.totalCostUSD, 10);
  });

  // modelUsage.costUSD from `claude -p` 2.1.329 against a fake API answering these token counts.
  it.each([
    ['claude-opus-4-6', usage(13, 41, 3001, 0, 9001), 0.02434675],
    ['claude-opus-4-5-20251101', usage(13, 41, 3001, 0, 9001), 0.02434675],
    ['claude-sonnet-4-6', usage(13, 41, 3001, 0, 9001), 0.01460805],
    ['claude-sonnet-4-20250514', usage(13, 41, 3001, 0, 9001), 0.01460805],
    ['claude-3-7-sonnet-20250219', usage(13, 41, 3001, 0, 9001), 0.01460805],
    ['claude-3-5-sonnet-20241022', usage(13, 41, 3001, 0, 9001), 0.01460805],
    ['claude-haiku-4-5-20251001', usage(13, 41, 3001, 0, 9001), 0.00486935],
    ['claude-3-5-haiku-20241022', usage(13, 41, 3001, 0, 9001), 0.00389548],
    ['claude-sonnet-4-5-20250929', usage(13, 41, 4001, 1000, 9001), 0.02060805],
    ['claude-haiku-4-5', usage(13, 41, 4001, 1000, 9001), 0.00686935],
    ['claude-opus-4-6', usage(13, 41, 4001, 1000, 259001), 0.15934675],
    ['claude-sonnet-4-5-20250929[1m]', usage(13, 41, 3001, 0, 259001), 0.08960805],
  ])('%s costs what Claude Code 2.1.329 computes', (model, tokens, expected) => {
    expect(costOfModel(BUNDLED_PRICES, model, tokens)).toBeCloseTo(expected, 10);
  });

  it('prices each kind of token, cache writes by their lifetime', () => {
    const opus = findPrice(BUNDLED_PRICES, 'claude-opus-4-1-20250805')!.price;
    expect(costOf(usage(1_000_000, 0, 0, 0, 0), opus)).toBe(15);
    expect(costOf(usage(0, 1_000_000, 0, 0, 0), opus)).toBe(75);
    expect(costOf(usage(0, 0, 1_000_000, 0, 0), opus)).toBe(18.75);
    expect(costOf(usage(0, 0, 1_000_000, 1_000_000, 0), opus)).toBe(30);
    expect(costOf(usage(0, 0, 0, 0, 1_000_000), opus)).toBe(1.5);
  });
});

describe('finding a model', () => {
  it.each([
    ['claude-sonnet-4-5', 'claude-sonnet-4-5', 'exact'],
    ['claude-opus-4-0', 'claude-opus-4', 'exact'],
    ['claude-sonnet-4-5-20250929', 'claude-sonnet-4-5', 'family'],
    ['claude-opus-4-20250514', 'claude-opus-4', 'family'],
    ['claude-opus-4-5-20251101', 'claude-opus-4-5', 'family'],
    ['us.anthropic.claude-sonnet-4-5-20250929-v1:0', 'claude-sonnet-4-5', 'family'],
    ['anthropic.claude-3-5-sonnet-20241022-v2:0', 'claude-3-5-sonnet', 'family'],
    ['claude-3-5-sonnet-v2@20241022', 'claude-3-5-sonnet', 'family'],
    ['claude-sonnet-4-5[1m]', 'claude-sonnet-4-5', 'family'],
    ['claude-3-7-sonnet-latest', 'claude-3-7-sonnet', 'family'],
    ['Claude-Haiku-4-5', 'claude-haiku-4-5', 'exact'],
  ])('%s → %s (%s)', (id, model, matchedBy) => {
    expect(findPrice(BUNDLED_PRICES, id)).toMatchObject({ model, matchedBy });
  });

  it('knows nothing of a newer model, not even by a shorter prefix — its cost is unknown, not zero', () => {
    for (const id of ['claude-opus-4-7', 'claude-opus-5-5', 'claude-sonnet-5', 'claude-opus-4-1-fast', '<synthetic>', 'gpt-4o']) {
      expect(findPrice(BUNDLED_PRICES, id)).toBeUndefined();
      expect(costOfModel(BUNDLED_PRICES, id, usage(10, 10, 0, 0, 0))).toBeNull();
    }
    expect(costOfModel(BUNDLED_PRICES, 'claude-haiku-4-5', usage(0, 0, 0, 0, 0))).toBe(0);
  });

  it('reduces ids to their family', () => {
    expect(modelFamily('global.anthropic.claude-opus-4-6-v1')).toBe('claude-opus-4-6');
    expect(modelFamily('claude-opus-4-7')).toBe('claude-opus-4-7');
  });
});

describe("the person's price file", () => {
  it('adds models and replaces prices model by model; a missing 1-hour price is twice the input price', async () => {
    const file = join(dir, 'prices.json');
    await writeFile(
      file,
      JSON.stringify({
        models: {
          'claude-opus-4-7': { input: 5, output: 25, cacheWrite5m: 6.25, cacheRead: 0.5 },
          'claude-sonnet-4-5': { name: 'Sonnet at our negotiated price', input: 2, output: 10, cacheWrite5m: 2.5, cacheWrite1h: 4, cacheRead: 0.2 },
        },
      }),
    );
    const table = loadPrices(file);

    expect(findPrice(table, 'claude-opus-4-7')).toMatchObject({ model: 'claude-opus-4-7', price: { cacheWrite1h: 10 } });
    expect(findPrice(table, 'claude-sonnet-4-5-20250929')?.price.input).toBe(2);
    expect(findPrice(table, 'claude-haiku-4-5')?.price.input).toBe(1);
    expect(table.origin.get('claude-opus-4-7')).toBe(file);
    expect(table.origin.get('claude-haiku-4-5')).toBe('the bundled prices.json');
    expect(loadPrices()).toBe(BUNDLED_PRICES);
  });

  it('lets an alias in the override take an id from a bundled model', () => {
    const override = parsePriceFile(
      { models: { 'my-opus': { aliases: ['claude-opus-4-0', 'claude-opus-4'], input: 1, output: 1, cacheWrite5m: 1, cacheRead: 1 } } },
      'mine.json',
    );
    const table = withOverrides(BUNDLED_PRICES, override);
    expect(findPrice(table, 'claude-opus-4-20250514')?.model).toBe('my-opus');
    expect(table.models.has('claude-opus-4')).toBe(false);
    expect(findPrice(table, 'claude-opus-4-1')?.model).toBe('claude-opus-4-1');
  });

  it.each([
    [{ models: { 'claude-opus-4-7': { input: 5, output: 25, cacheWrite5m: 6.25, cacheRead: -1 } } }, 'mine.json: models.claude-opus-4-7.cacheRead: expected a price in USD per million tokens (a number ≥ 0)'],
    [{ models: { 'claude-opus-4-7': { input: '5', output: 25, cacheWrite5m: 6.25, cacheRead: 0.5 } } }, 'mine.json: models.claude-opus-4-7.input: expected a price in USD per million tokens'],
    [{ models: { 'claude-opus-4-7': { input: 5, output: 25, cacheWrite5m: 6.25 } } }, 'mine.json: models.claude-opus-4-7.cacheRead: expected a price'],
    [{ models: { 'claude-opus-4-7': { input: 5, output: 25, cacheWrite5m: 6.25, cache_read: 0.5, cacheRead: 0.5 } } }, 'mine.json: models.claude-opus-4-7: unknown field "cache_read" (the fields are name, aliases, input, output, cacheWrite5m, cacheWrite1h, cacheRead)'],
    [{ models: { 'claude-opus-4-7': 5 } }, 'mine.json: models.claude-opus-4-7: expected an object of prices'],
    [{ prices: {} }, 'mine.json: models: expected an object of models by id'],
    [[], 'mine.json: expected an object with `models`'],
    [{ models: {}, currency: 'EUR' }, 'mine.json: unknown field "currency" (the fields are about, asOf, models)'],
    [
      { models: { a: { input: 1, output: 1, cacheWrite5m: 1, cacheRead: 1 }, b: { aliases: ['A'], input: 1, output: 1, cacheWrite5m: 1, cacheRead: 1 } } },
      'mine.json: models.b.aliases[0]: A is already the id or an alias of a',
    ],
  ])('refuses %j, naming the model and the field', (data, message) => {
    expect(() => parsePriceFile(data, 'mine.json')).toThrow(PriceFileError);
    expect(() => parsePriceFile(data, 'mine.json')).toThrow(message);
  });

  it('names the file when it cannot be read or is not JSON', async () => {
    const missing = join(dir, 'nope.json');
    expect(() => loadPrices(missing)).toThrow(`${missing}: cannot read`);
    const broken = join(dir, 'broken.json');
    await writeFile(broken, '{"models": {');
    expect(() => loadPrices(broken)).toThrow(`${broken}: not valid JSON`);
    const withBom = join(dir, 'bom.json');
    await writeFile(withBom, `\uFEFF${JSON.stringify({ models: {} })}`);
    expect(findPrice(loadPrices(withBom), 'claude-haiku-4-5')).toBeDefined();
  });
});
