/**
 * `npm run bench:hooks` — what Switchboard's Claude Code hook costs (issue 5, "What it must show"):
 *
 * 1. Per event, in one run on the same payloads: the installed `switchboard-hook` (sh + curl, which
 *    spools when the daemon is down) against a bare `curl` posting the payload to the same daemon URL
 *    (the floor of any curl hook), against a python3 script posting it the way the best-known hooks
 *    observability project does (bench/send_event.py), and against a no-op (`cat > /dev/null`: the
 *    cost of Claude Code spawning any command at all). Each is fired as Claude Code fires a command
 *    hook — `/bin/sh -c '<command>'`, the event's JSON on stdin, its stdout read — and timed from spawn
 *    to close. Interleaved: each round fires all four once, in an order that rotates every round, on
 *    one of three payloads (UserPromptSubmit; PreToolUse of Bash with ~1 KB of tool_input; its
 *    PostToolUse with ~8 KB of tool_response). Targets: ≤ 2× curl, ≤ ¼ of Python.
 * 2. Hook fired → event committed in the hub, p50/p99, at a steady 20 events/s (a busy session): the
 *    time the bench spawned the hook to the hub's `storedAt` (Date.now inside the storing
 *    transaction), both on this machine's clock, read back through the hub's 'session-events'.
 *
 * Everything is real: `switchboard claude-code install` into a temporary SWITCHBOARD_HOME and HOME,
 * a Chromium with the built extension, the host it launches, the daemon that posts to the hub.
 * Needs python3 (Debian: `apt-get install -y python3`); PYTHON picks another interpreter.
 * RUNS (default 2), ROUNDS (default 300 a run: each contender fires that many events), GAP_MS
 * (pause after each hook, default 25), PACED_EVENTS (default 400), PACED_RATE (default 20/s).
 */
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { launchExtension, waitFor, type ExtensionBrowser } from '../test/support/extension-browser';
import { installTestHost, type InstalledHost } from '../test/support/host-fixture';
import { installClaudeCode, settingsFileOf } from '../native-host/claude-code/install';
import { shellQuote, scriptPaths } from '../native-host/claude-code/hook-script';
import type { StoredHookEvent } from '../src/storage/events-db';
import { fmt, machineDescription, median, percentile } from './lib';

const RUNS = Number(process.env.RUNS ?? 2);
const ROUNDS = Number(process.env.ROUNDS ?? 300);
const WARMUP_ROUNDS = 12;
const GAP_MS = Number(process.env.GAP_MS ?? 25);
const PACED_EVENTS = Number(process.env.PACED_EVENTS ?? 400);
const PACED_RATE = Number(process.env.PACED_RATE ?? 20);
const SH = '/bin/sh';
const PYTHON = process.env.PYTHON ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
const SEND_EVENT_PY = resolve(import.meta.dirname, 'send_event.py');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function requirePython(): string {
  try {
    return execFileSync(PYTHON, ['--version']).toString().trim();
  } catch {
    console.error(`bench:hooks needs python3 for its Python contender (${PYTHON} did not run). On Debian: apt-get install -y python3`);
    process.exit(1);
  }
}

// ---------------------------------------------------------------------------------------------
// Payloads: the shape Claude Code 2.1.329 sends, keys in its order, as captured from the real CLI
// (a recording hook under `claude -p` with a Bash tool call): session_id, transcript_path, cwd,
// prompt_id, permission_mode, effort (tool events), hook_event_name; then prompt, or tool_name,
// tool_input, tool_use_id, and for PostToolUse tool_response (Bash: stdout, stderr, interrupted,
// isImage, noOutputExpected) and duration_ms. It runs a command hook as `/bin/sh -c '<command>'`.

type Kind = 'UserPromptSubmit' | 'PreToolUse' | 'PostToolUse';
const KINDS: Kind[] = ['UserPromptSubmit', 'PreToolUse', 'PostToolUse'];

interface Session {
  sessionId: string;
  transcriptPath: string;
  cwd: string;
}

/** A Bash command of about 1 KB, the kind an agent writes: a heredoc and a test run. */
const BASH_COMMAND = [
  "cat > src/parser/tokens.test.ts <<'EOF'",
  "import { describe, expect, it } from 'vitest';",
  "import { tokenize } from './tokens';",
  '',
  "describe('tokenize', () => {",
  "  it('splits words, numbers and punctuation', () => {",
  "    expect(tokenize('sum(a, 42) + b')).toEqual(['sum', '(', 'a', ',', '42', ')', '+', 'b']);",
  '  });',
  "  it('keeps a quoted string whole, escapes included', () => {",
  '    expect(tokenize(\'say("a \\\\"quoted\\\\" word")\')).toEqual([\'say\', \'(\', \'"a \\\\"quoted\\\\" word"\', \')\']);',
  '  });',
  "  it('reports the column of a character it cannot read', () => {",
  "    expect(() => tokenize('a ¤ b')).toThrow(/column 3/);",
  '  });',
  "  it('reads an empty input as no tokens', () => {",
  "    expect(tokenize('')).toEqual([]);",
  '  });',
  '});',
  'EOF',
  'npx vitest run src/parser/tokens.test.ts --reporter=verbose 2>&1 | tail -n 40 && git diff --stat -- src/parser',
].join('\n');

/** About 8 KB of what such a command prints: a verbose test run. */
function testRunOutput(): string {
  const lines = [' RUN  v4.1.12 /home/dev/projects/parser', ''];
  for (let i = 0; lines.join('\n').length < 7_600; i++) {
    const ms = (i * 7) % 23;
    lines.push(` ✓ src/parser/tokens.test.ts > tokenize > case ${String(i).padStart(3, '0')}: splits input number ${i} into its tokens and keeps their columns ${ms}ms`);
  }
  lines.push('', ' Test Files  1 passed (1)', `      Tests  ${lines.length - 2} passed (${lines.length - 2})`, '   Start at  10:42:17', '   Duration  1.21s (transform 88ms, setup 0ms, collect 95ms, tests 41ms)');
  lines.push(' src/parser/tokens.test.ts | 19 +++++++++++++++++++', ' 1 file changed, 19 insertions(+)');
  return lines.join('\n');
}
const TEST_RUN_OUTPUT = testRunOutput();

/**
 * One event. `n` makes it distinct where a real session's events are distinct (each prompt's text,
 * each tool call's id), so the paced run can find each event again in the hub; the per-event run
 * uses the same three payloads throughout.
 */
function payload(kind: Kind, session: Session, n: number): string {
  const seq = String(n).padStart(6, '0');
  const common = { session_id: session.sessionId, transcript_path: session.transcriptPath, cwd: session.cwd, prompt_id: `2760c4b0-8ab0-4807-afbd-c35591${seq}`, permission_mode: 'default' };
  if (kind === 'UserPromptSubmit') {
    return JSON.stringify({ ...common, hook_event_name: kind, prompt: `The tokenizer drops escaped quotes inside strings (request ${seq}). Write tests for it in src/parser/tokens.test.ts, run them, and fix tokens.ts until they pass.` });
  }
  const tool = { ...common, effort: { level: 'medium' }, hook_event_name: kind, tool_name: 'Bash', tool_input: { command: BASH_COMMAND, description: 'Write the tokenizer tests and run them' } };
  const toolUseId = `toolu_01Jq110YZ2S6SFDHc${seq}BA`;
  if (kind === 'PreToolUse') return JSON.stringify({ ...tool, tool_use_id: toolUseId });
  return JSON.stringify({ ...tool, tool_response: { stdout: TEST_RUN_OUTPUT, stderr: '', interrupted: false, isImage: false, noOutputExpected: false }, tool_use_id: toolUseId, duration_ms: 1_214 });
}

/** What identifies an event of the paced run in the hub. */
const keyOf = (p: Record<string, unknown>) => `${p.hook_event_name} ${p.tool_use_id ?? p.prompt}`;

// ---------------------------------------------------------------------------------------------
// Firing a hook the way Claude Code does

interface Fired {
  ms: number;
  code: number | null;
  stdout: string;
  stderr: string;
}

function fire(command: string, input: string, env: NodeJS.ProcessEnv, cwd: string): Promise<Fired> {
  return new Promise((resolvePromise, reject) => {
    const start = performance.now();
    const child = spawn(SH, ['-c', command], { env, cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.stdin.on('error', () => {}); // a hook may exit without reading all of it
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ ms: performance.now() - start, code, stdout, stderr }));
    child.stdin.end(input);
  });
}

type Contender = 'switchboard' | 'curl' | 'python' | 'noop';
const CONTENDERS: Contender[] = ['switchboard', 'curl', 'python', 'noop'];

interface Setup {
  host: InstalledHost;
  browser: ExtensionBrowser;
  userHome: string;
  projectDir: string;
  env: NodeJS.ProcessEnv;
  commands: (kind: Kind) => Record<Contender, string>;
  session: (id: string) => Session;
  cleanup(): Promise<void>;
}

/** A real install: host in a temporary home launched by the browser, `claude-code install` into a temporary HOME. */
async function setUp(): Promise<Setup> {
  const host = await installTestHost();
  const userHome = await mkdtemp(join(tmpdir(), 'sb-bench-user-'));
  const projectDir = join(userHome, 'projects', 'parser');
  await mkdir(projectDir, { recursive: true });
  const browser = await launchExtension({ profileDir: host.profileDir, env: host.env });
  await waitFor(() => browser.hubStatus(), (s) => s.nativeHost.connected, 30_000, 'the hub to connect to the host');
  installClaudeCode({ home: host.home, userHome, apiPort: host.port });
  // The hook command exactly as install wrote it into Claude Code's settings.
  const settings = JSON.parse(readFileSync(settingsFileOf({ userHome }), 'utf8')) as { hooks: Record<string, { hooks: { command: string; asyncRewake?: boolean }[] }[]> };
  const ours = settings.hooks.PreToolUse.flatMap((g) => g.hooks).find((h) => !h.asyncRewake && h.command.includes('switchboard-hook'));
  if (!ours) throw new Error('claude-code install wrote no PreToolUse hook');
  const url = `http://127.0.0.1:${host.port}/hooks`;
  const curl = `curl -s --fail --max-time 2 -H ${shellQuote(`Authorization: Bearer ${host.token}`)} -H 'Content-Type: application/json' --data-binary @- ${url}`;
  const python = (kind: Kind) =>
    `${shellQuote(PYTHON)} ${shellQuote(SEND_EVENT_PY)} --source-app parser --event-type ${kind} --server-url ${url} --token-file ${shellQuote(scriptPaths(host.home).token)}`;
  // The environment Claude Code gives a hook: its own, and (among others) these.
  const env = { ...process.env, HOME: userHome, CLAUDECODE: '1', CLAUDE_PROJECT_DIR: projectDir, CLAUDE_CODE_ENTRYPOINT: 'cli', CLAUDE_PID: String(process.pid) };
  const slug = projectDir.replace(/[^A-Za-z0-9]/g, '-');
  return {
    host,
    browser,
    userHome,
    projectDir,
    env,
    commands: (kind) => ({ switchboard: ours.command, curl, python: python(kind), noop: 'cat > /dev/null' }),
    session: (sessionId) => ({ sessionId, cwd: projectDir, transcriptPath: join(userHome, '.claude', 'projects', slug, `${sessionId}.jsonl`) }),
    async cleanup() {
      await browser.close();
      await host.remove();
      await rm(userHome, { recursive: true, force: true });
    },
  };
}

const eventsOf = (b: ExtensionBrowser, sessionId: string) => b.request<StoredHookEvent[]>({ type: 'session-events', sessionId, limit: 10_000 });

function spooled(home: string): number {
  return readdirSync(scriptPaths(home).spool).filter((f) => f.endsWith('.json')).length;
}

const stat = (values: number[]) => ({ n: values.length, p50: median(values), p99: percentile(values, 99), mean: values.reduce((a, b) => a + b, 0) / values.length });
type Stat = ReturnType<typeof stat>;

/** The machine's CPU time so far, busy and total (/proc/stat, all cores). */
function cpuTimes(): { busy: number; total: number } {
  const [, ...fields] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
  const values = fields.map(Number);
  const total = values.reduce((a, b) => a + b, 0);
  return { busy: total - values[3] - values[4], total };
}
/** How busy the whole machine was between two readings (0–1): this benchmark's own work included. */
const busyShare = (a: { busy: number; total: number }, b: { busy: number; total: number }) => (b.busy - a.busy) / (b.total - a.total);

// ---------------------------------------------------------------------------------------------
// 1. Per event: the four contenders, interleaved

async function perEvent(setup: Setup) {
  const session = setup.session('0b7d3c52-6f1e-4a8e-9d27-5c4e1f8a2b90');
  const inputs = Object.fromEntries(KINDS.map((k) => [k, payload(k, session, 1)])) as Record<Kind, string>;
  /** one row a round: each contender's time on that round's payload */
  const rows: ({ kind: Kind } & Record<Contender, number>)[] = [];
  const cpuBefore = cpuTimes();
  for (let round = -WARMUP_ROUNDS; round < ROUNDS; round++) {
    const kind = KINDS[((round % 3) + 3) % 3];
    const commands = setup.commands(kind);
    const shift = ((round % 4) + 4) % 4;
    const order = [...CONTENDERS.slice(shift), ...CONTENDERS.slice(0, shift)];
    const row = { kind } as { kind: Kind } & Record<Contender, number>;
    for (const contender of order) {
      const fired = await fire(commands[contender], inputs[kind], setup.env, setup.projectDir);
      if (fired.code !== 0 || fired.stderr) throw new Error(`${contender} on ${kind} exited ${fired.code}: ${fired.stderr.slice(0, 500)}`);
      // Each contender that posts must have had the daemon's answer ({} for an event that carries no mail).
      if ((contender === 'switchboard' || contender === 'curl') && fired.stdout.trim() !== '{}') throw new Error(`${contender} printed ${JSON.stringify(fired.stdout)}`);
      row[contender] = fired.ms;
      await sleep(GAP_MS);
    }
    if (round >= 0) rows.push(row);
  }
  const cpuBusy = busyShare(cpuBefore, cpuTimes());
  // Every posted event reached the hub (the Python contender's carry its own fields), and none was spooled.
  const posted = (ROUNDS + WARMUP_ROUNDS) * 3;
  const stored = await waitFor(() => eventsOf(setup.browser, session.sessionId), (e) => e.length >= posted, 60_000, `${posted} events in the hub`);
  if (stored.length !== posted) throw new Error(`the hub holds ${stored.length} events, ${posted} were posted`);
  if (spooled(setup.host.home)) throw new Error('the hook spooled events: the daemon did not answer in time');

  const figures = Object.fromEntries(CONTENDERS.map((c) => [c, stat(rows.map((r) => r[c]))])) as Record<Contender, Stat>;
  // Above spawning any process: each round's time less the same round's no-op.
  const net = Object.fromEntries(CONTENDERS.map((c) => [c, stat(rows.map((r) => r[c] - r.noop))])) as Record<Contender, Stat>;
  const kindP50 = Object.fromEntries(CONTENDERS.map((c) => [c, Object.fromEntries(KINDS.map((k) => [k, median(rows.filter((r) => r.kind === k).map((r) => r[c]))]))]));
  const against = (other: Contender) => ({
    p50: figures.switchboard.p50 / figures[other].p50,
    p99: figures.switchboard.p99 / figures[other].p99,
    netP50: net.switchboard.p50 / net[other].p50,
    netP99: net.switchboard.p99 / net[other].p99,
  });
  const payloadBytes = Object.fromEntries(KINDS.map((k) => [k, Buffer.byteLength(inputs[k])]));
  // How each was fired, for the record (the token left out).
  const commands = Object.fromEntries(CONTENDERS.map((c) => [c, setup.commands('PreToolUse')[c].replace(setup.host.token, '<token>')]));
  const raw = rows.map((r) => ({ kind: r.kind, ...Object.fromEntries(CONTENDERS.map((c) => [c, Math.round(r[c] * 100) / 100])) }));
  return { rounds: ROUNDS, cpuBusy, commands, payloadBytes, figures, net, ratios: { curl: against('curl'), python: against('python') }, kindP50, raw };
}

// ---------------------------------------------------------------------------------------------
// 2. Hook fired → committed in the hub, at a steady rate

async function firedToCommitted(setup: Setup) {
  const session = setup.session('9c1f4e27-2a6b-4d3f-8e15-7b0a6d2c4f81');
  const command = setup.commands('PreToolUse').switchboard;
  const spawnedAt = new Map<string, number>();
  const hookMs: number[] = [];
  const cpuBefore = cpuTimes();
  const pending: Promise<void>[] = [];
  const start = performance.now();
  for (let i = 0; i < PACED_EVENTS; i++) {
    const due = start + (i * 1_000) / PACED_RATE;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    // Prompt, then one tool call's pair: the tool call number is shared by its PreToolUse and PostToolUse.
    const kind = KINDS[i % 3];
    const input = payload(kind, session, Math.floor(i / 3));
    spawnedAt.set(keyOf(JSON.parse(input)), Date.now());
    pending.push(
      fire(command, input, setup.env, setup.projectDir).then((fired) => {
        if (fired.code !== 0) throw new Error(`the hook exited ${fired.code}: ${fired.stderr}`);
        hookMs.push(fired.ms);
      }),
    );
  }
  await Promise.all(pending);
  const cpuBusy = busyShare(cpuBefore, cpuTimes());
  const stored = await waitFor(() => eventsOf(setup.browser, session.sessionId), (e) => e.length >= PACED_EVENTS, 60_000, 'the paced events in the hub');
  if (spooled(setup.host.home)) throw new Error('the hook spooled events: the daemon did not answer in time');
  const rows = stored.map((event) => {
    const at = spawnedAt.get(keyOf(event.payload));
    if (at === undefined) throw new Error(`an event the bench did not fire: ${keyOf(event.payload)}`);
    if (event.storedAt === undefined) throw new Error('stored events carry no storedAt: rebuild the extension (npm run bench:hooks builds it)');
    return { total: event.storedAt - at, toDaemon: event.receivedAt - at, daemonToHub: event.storedAt - event.receivedAt };
  });
  if (rows.length !== PACED_EVENTS) throw new Error(`the hub holds ${rows.length} events, ${PACED_EVENTS} were fired`);
  const of = (key: keyof (typeof rows)[number]) => stat(rows.map((r) => r[key]));
  return { events: rows.length, rate: PACED_RATE, cpuBusy, total: of('total'), toDaemon: of('toDaemon'), daemonToHub: of('daemonToHub'), hookExit: stat(hookMs) };
}

// ---------------------------------------------------------------------------------------------

const machine = machineDescription();
const python = requirePython();
const curlVersion = execFileSync('curl', ['--version']).toString().split('\n')[0];
console.log(`machine: ${machine}; ${python} (${PYTHON}); ${curlVersion}; sh: ${SH}`);
const runs = [];
for (let run = 1; run <= RUNS; run++) {
  const loadBefore = loadavg();
  const setup = await setUp();
  try {
    await sleep(1_000);
    const events = await perEvent(setup);
    await sleep(1_000);
    const paced = await firedToCommitted(setup);
    const loadAfter = loadavg();
    runs.push({ run, loadBefore, loadAfter, perEvent: events, paced });
    const f = events.figures;
    console.log(`\nrun ${run} (load average ${loadBefore.map((l) => fmt(l, 2)).join(' ')} before, ${loadAfter.map((l) => fmt(l, 2)).join(' ')} after)`);
    console.log(`per event, ${ROUNDS} each, spawn → close, p50 / p99 ms (less the same round's no-op); machine ${fmt(events.cpuBusy * 100)} % busy:`);
    for (const c of CONTENDERS) console.log(`  ${c.padEnd(12)} ${fmt(f[c].p50, 1)} / ${fmt(f[c].p99, 1)}   (${fmt(events.net[c].p50, 1)} / ${fmt(events.net[c].p99, 1)})   by kind p50 ${KINDS.map((k) => `${k} ${fmt(events.kindP50[c][k], 1)}`).join(', ')}`);
    const r = events.ratios;
    console.log(`  switchboard ÷ curl   p50 ${fmt(r.curl.p50, 2)}, p99 ${fmt(r.curl.p99, 2)}; minus no-op p50 ${fmt(r.curl.netP50, 2)}, p99 ${fmt(r.curl.netP99, 2)} (target ≤ 2)`);
    console.log(`  switchboard ÷ python p50 ${fmt(r.python.p50, 2)}, p99 ${fmt(r.python.p99, 2)}; minus no-op p50 ${fmt(r.python.netP50, 2)}, p99 ${fmt(r.python.netP99, 2)} (target ≤ 0.25)`);
    console.log(`hook fired → committed in the hub, ${paced.events} at ${paced.rate}/s (machine ${fmt(paced.cpuBusy * 100)} % busy): p50 ${paced.total.p50} ms, p99 ${paced.total.p99} ms`);
    console.log(`  fired → daemon took it p50 ${paced.toDaemon.p50} / p99 ${paced.toDaemon.p99} ms; daemon → hub stored p50 ${paced.daemonToHub.p50} / p99 ${paced.daemonToHub.p99} ms; hook exit p50 ${fmt(paced.hookExit.p50, 1)} / p99 ${fmt(paced.hookExit.p99, 1)} ms`);
  } finally {
    await setup.cleanup();
  }
}
const out = resolve(import.meta.dirname, 'results');
mkdirSync(out, { recursive: true });
writeFileSync(
  join(out, 'hooks-latest.json'),
  JSON.stringify({ machine, python: `${python} (${PYTHON})`, curl: curlVersion, date: new Date().toISOString(), rounds: ROUNDS, gapMs: GAP_MS, runs }, null, 2),
);
process.exit(0);
