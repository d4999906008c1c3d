/**
 * What the extension adds to a claude.ai conversation's work (`npm run bench:claude`; issue 6),
 * against the fixture's own timeline in the same run (test/support/claude-site/):
 *  - in: from the hub accepting a message (its `createdAt`) to the page receiving the prompt (the
 *    fixture's `prompt-received`, when its send handler runs);
 *  - out: from the answer's end (the fixture's `answer-ended`: last chunk written and the streaming
 *    marker off, in one task) to the reply stored in the hub (its first change on the hub's change
 *    feed, which the bus sends after the commit, seen by an extension page).
 * Both clocks are epoch ms on this machine: the hub's Date.now and the pages' timeOrigin + now.
 * The reference is the fixture's own answer: from `answer-started` to `answer-ended`.
 * BENCH_PROMPTS prompts (default 100) go one after another to two conversations in turn, so one
 * tab's answer overlaps the next prompt's typing in the other. Writes bench/results/claude-tabs-latest.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { launchExtension, waitFor } from '../test/support/extension-browser';
import { claudeSiteArgs, startClaudeSite } from '../test/support/claude-site/server';
import { fmt, machineDescription, median, percentile } from './lib';
import type { ClaudeTabAgent } from '../src/adapters/claude-ai/tabs';
import type { MessageStatus, SendReceipt } from '../src/bus/bus';
import type { StoredEntry } from '../src/bus/ports';

const PROMPTS = Number(process.env.BENCH_PROMPTS ?? 100);
const ASKER = 'extension:local/bench';

const site = await startClaudeSite({ answerDefaults: { chunkMs: 20, chunkChars: 80, delayMs: 30 } });
const browser = await launchExtension({ args: claudeSiteArgs(site) });
try {
  const conversations = [site.control.addConversation(), site.control.addConversation()];
  for (const c of conversations) await (await browser.context.newPage()).goto(site.url(`/chat/${c.id}`));
  const addresses = conversations.map((c) => `claude-ai:local/chat-${c.id}`);
  await waitFor(
    () => browser.request<ClaudeTabAgent[]>({ type: 'claude-tabs' }),
    (list) => addresses.every((a) => list.some((t) => t.address === a && t.state === 'ready')),
    30_000,
    'the two conversations',
  );

  // When the hub's change feed first mentions each message: a reply is stored when its first
  // change is out (the bus tells listeners after the commit).
  await browser.page.evaluate(() => {
    const seen: Record<string, number> = ((window as unknown as { __firstSeen: Record<string, number> }).__firstSeen = {});
    chrome.runtime.connect({ name: 'switchboard/changes' }).onMessage.addListener((m: { changes: { messageId: string }[] }) => {
      const at = performance.timeOrigin + performance.now();
      for (const c of m.changes) seen[c.messageId] ??= at;
    });
  });
  const storedAt = (id: string) => browser.page.evaluate((messageId) => (window as unknown as { __firstSeen: Record<string, number> }).__firstSeen[messageId], id);
  const inbound: number[] = [];
  const outbound: number[] = [];
  const answers: number[] = [];
  // Two prompts in flight at a time, one per conversation.
  const ask = async (i: number) => {
    const text = `bench prompt ${i}: say something short`;
    const sent = await browser.request<SendReceipt>({ type: 'send', message: { from: ASKER, to: addresses[i % 2], body: text, ackRequired: true } });
    const status = await waitFor(() => browser.request<MessageStatus>({ type: 'status', id: sent.id }), (s) => s.deliveries[0].state === 'acked', 60_000, `prompt ${i}`);
    const thread = await browser.request<StoredEntry[]>({ type: 'list', threadId: status.message.threadId });
    const reply = thread.find((e) => e.message.inReplyTo === sent.id)!;
    // This prompt's arrival, then the first answer to start and end after it in its conversation.
    const timeline = site.control.timeline();
    const arrival = timeline.find((e) => e.event === 'prompt-received' && (e.text ?? '').includes(`bench prompt ${i}:`));
    const after = (event: string) => timeline.find((e) => e.event === event && e.conversation === arrival?.conversation && e.at >= arrival.at)?.at;
    const received = arrival?.at;
    const started = after('answer-started');
    const ended = after('answer-ended');
    if (received === undefined || started === undefined || ended === undefined) throw new Error(`prompt ${i}: the fixture's timeline misses an event: ${JSON.stringify(timeline)}`);
    inbound.push(received - status.message.createdAt);
    const stored = await storedAt(reply.message.id);
    if (stored === undefined) throw new Error(`prompt ${i}: the change feed never mentioned the reply ${reply.message.id}`);
    outbound.push(stored - ended);
    answers.push(ended - started);
  };
  for (let i = 0; i < PROMPTS; i += 2) await Promise.all([ask(i), ...(i + 1 < PROMPTS ? [ask(i + 1)] : [])]);

  const row = (name: string, values: number[]) => ({ name, p50: median(values), p99: percentile(values, 99), max: Math.max(...values) });
  const rows = [row('in: accepted → prompt in the page', inbound), row('out: answer ended → reply stored', outbound), row("reference: the fixture's answer (started → ended)", answers)];
  const reference = rows[2].p50;
  const machine = machineDescription();
  console.log(`\n${machine}; ${PROMPTS} prompts over two conversations\n`);
  console.log('| measure | p50 ms | p99 ms | max ms | p99 / reference p50 |');
  console.log('|---|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.name} | ${fmt(r.p50, 1)} | ${fmt(r.p99, 1)} | ${fmt(r.max, 1)} | ${fmt(r.p99 / reference, 2)} |`);
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/claude-tabs-latest.json', JSON.stringify({ machine, prompts: PROMPTS, at: new Date().toISOString(), rows }, null, 2));
} finally {
  await browser.close();
  await site.close();
}
