/**
 * Runs the real `claude` CLI (devDependency @anthropic-ai/claude-code, pinned) for end-to-end tests
 * (issue 5), the way ARCHITECTURE.md "Claude Code" says it is safe here: a fresh temporary HOME, a
 * temporary project folder as cwd, ANTHROPIC_BASE_URL at a fake Messages API on 127.0.0.1, a dummy
 * key, no nonessential traffic and no auto-updater — it never reaches the internet and never reads
 * the real ~/.claude of whoever runs the tests.
 *
 * The environment is built from scratch, not inherited: a test run started from inside a Claude
 * Code session carries CLAUDECODE, CLAUDE_CODE_* and ANTHROPIC_* variables that would change what
 * the CLI does.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';

export const CLAUDE_BIN = resolve(import.meta.dirname, '../../node_modules/.bin/claude');
export const FAKE_API_KEY = 'sk-ant-api03-switchboard-test-key-0000000000';

export interface ClaudeHomeOptions {
  /** ANTHROPIC_BASE_URL: the fake API's url */
  apiUrl: string;
  /** the content of `~/.claude/settings.json` (hooks, permissions, …); none by default */
  settings?: Record<string, unknown>;
  /** extra or overriding environment variables for every run */
  env?: Record<string, string>;
}

export interface RunOptions {
  /** extra environment for this run */
  env?: Record<string, string>;
  /** CLAUDE_CODE_MAX_RETRIES for this run (the CLI's default when unset) */
  maxRetries?: number;
  /** tools allowed without asking, passed as --allowedTools (default: Bash) */
  allowedTools?: string[];
  /** more CLI arguments */
  args?: string[];
  /** the process is killed and the run rejected after this long (default 45 s) */
  timeoutMs?: number;
}

export interface PrintResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** the parsed `--output-format json` result, or undefined when stdout was not JSON */
  result: PrintJson | undefined;
  stdout: string;
  stderr: string;
}

/** The fields of `claude -p --output-format json` the tests read (2.1.329 prints many more). */
export const printJsonSchema = z.looseObject({
  type: z.literal('result'),
  subtype: z.string(),
  is_error: z.boolean(),
  session_id: z.string(),
  result: z.string().optional(),
  num_turns: z.number().optional(),
  stop_reason: z.string().nullable().optional(),
  api_error_status: z.number().nullable().optional(),
});
export type PrintJson = z.infer<typeof printJsonSchema>;

/** One line of `--output-format stream-json`. */
export type StreamEvent = { type: string; subtype?: string; session_id?: string } & Record<string, unknown>;

export interface StreamingSession {
  readonly process: ChildProcess;
  /** every event read so far */
  readonly events: readonly StreamEvent[];
  /** Sends a user message on stdin (the stream-json input format). */
  send(text: string): void;
  /** Resolves with the first event (from index `from` on) that `match` accepts. */
  waitForEvent(match: (event: StreamEvent) => boolean, options?: { from?: number; timeoutMs?: number }): Promise<StreamEvent>;
  /** Closes stdin and resolves with the exit code once the CLI has exited (killed after timeoutMs). */
  close(timeoutMs?: number): Promise<number | null>;
  readonly stderr: () => string;
}

export interface ClaudeHome {
  /** the temporary HOME */
  readonly home: string;
  /** the temporary project folder, the CLI's cwd (real path: the CLI keys projects by it) */
  readonly projectDir: string;
  /** where the CLI writes this project's transcripts: `~/.claude/projects/<cwd-slug>` */
  readonly transcriptDir: string;
  /** the environment every run gets (before per-run additions) */
  readonly env: Record<string, string>;
  runPrint(prompt: string, options?: RunOptions): Promise<PrintResult>;
  startStreaming(options?: RunOptions): Promise<StreamingSession>;
  /** Kills every CLI still running and removes the temporary folders. */
  cleanup(): Promise<void>;
}

/** The folder name the CLI gives a project: every character other than a letter or digit becomes '-'. */
export function projectSlug(dir: string): string {
  return dir.replace(/[^a-zA-Z0-9]/g, '-');
}

export async function createClaudeHome(options: ClaudeHomeOptions): Promise<ClaudeHome> {
  const home = await realpath(await mkdtemp(join(tmpdir(), 'sb-claude-home-')));
  const projectDir = await realpath(await mkdtemp(join(tmpdir(), 'sb-claude-project-')));
  await mkdir(join(home, '.claude'), { recursive: true });
  // What the interactive CLI would ask once (onboarding, "use this API key?", "trust this folder?"),
  // answered in advance; `-p` needs none of it, a pseudo-terminal session does. The key is
  // approved by its last 20 characters, as the CLI stores it.
  await writeFile(
    join(home, '.claude.json'),
    JSON.stringify({
      hasCompletedOnboarding: true,
      lastOnboardingVersion: '2.1.329',
      theme: 'dark',
      numStartups: 1,
      customApiKeyResponses: { approved: [FAKE_API_KEY.slice(-20)], rejected: [] },
      projects: {
        [projectDir]: { allowedTools: [], hasTrustDialogAccepted: true, hasCompletedProjectOnboarding: true, projectOnboardingSeenCount: 1 },
      },
    }),
  );
  if (options.settings) await writeFile(join(home, '.claude', 'settings.json'), JSON.stringify(options.settings, null, 2));

  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    LANG: process.env.LANG ?? 'C.UTF-8',
    SHELL: '/bin/bash',
    TMPDIR: tmpdir(),
    HOME: home,
    ANTHROPIC_BASE_URL: options.apiUrl,
    ANTHROPIC_API_KEY: FAKE_API_KEY,
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    DISABLE_AUTOUPDATER: '1',
    ...options.env,
  };
  const running = new Set<ChildProcess>();

  const spawnCli = (args: string[], run: RunOptions) => {
    const child = spawn(CLAUDE_BIN, [...args, '--allowedTools', ...(run.allowedTools ?? ['Bash']), ...(run.args ?? [])], {
      cwd: projectDir,
      env: { ...env, ...(run.maxRetries === undefined ? {} : { CLAUDE_CODE_MAX_RETRIES: String(run.maxRetries) }), ...run.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    running.add(child);
    child.once('exit', () => running.delete(child));
    return child;
  };

  return {
    home,
    projectDir,
    transcriptDir: join(home, '.claude', 'projects', projectSlug(projectDir)),
    env,

    runPrint(prompt, run = {}) {
      // `--` ends the options: --allowedTools takes several values and would swallow the prompt.
      const child = spawnCli(['-p', '--output-format', 'json'], { ...run, args: [...(run.args ?? []), '--', prompt] });
      child.stdin!.end();
      let stdout = '';
      let stderr = '';
      child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk));
      child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk));
      const timeoutMs = run.timeoutMs ?? 45_000;
      return new Promise<PrintResult>((resolvePrint, reject) => {
        const timer = setTimeout(() => {
          child.kill('SIGKILL');
          reject(new Error(`claude -p did not finish within ${timeoutMs} ms; stderr: ${stderr.slice(-2000)}; stdout: ${stdout.slice(-2000)}`));
        }, timeoutMs);
        child.once('error', (error) => {
          clearTimeout(timer);
          reject(error);
        });
        child.once('close', (exitCode, signal) => {
          clearTimeout(timer);
          resolvePrint({ exitCode, signal, result: parsePrintJson(stdout), stdout, stderr });
        });
      });
    },

    async startStreaming(run = {}) {
      const child = spawnCli(['-p', '--input-format', 'stream-json', '--output-format', 'stream-json', '--verbose'], run);
      const events: StreamEvent[] = [];
      const waiters = new Set<() => void>();
      let stderr = '';
      let buffered = '';
      child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk));
      child.stdout!.on('data', (chunk: Buffer) => {
        buffered += chunk;
        let newline: number;
        while ((newline = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, newline).trim();
          buffered = buffered.slice(newline + 1);
          if (!line) continue;
          try {
            events.push(JSON.parse(line) as StreamEvent);
          } catch {
            // stream-json prints only JSON lines; anything else is kept so a failure shows it.
            events.push({ type: 'unparsed', line });
          }
        }
        waiters.forEach((wake) => wake());
      });
      const exited = new Promise<number | null>((resolveExit) => child.once('close', (code) => resolveExit(code)));
      child.once('close', () => waiters.forEach((wake) => wake()));
      return {
        process: child,
        events,
        stderr: () => stderr,
        send(text) {
          const line = { type: 'user', message: { role: 'user', content: [{ type: 'text', text }] }, parent_tool_use_id: null, session_id: '' };
          child.stdin!.write(JSON.stringify(line) + '\n');
        },
        waitForEvent(match, { from = 0, timeoutMs = 30_000 } = {}) {
          return new Promise((resolveEvent, reject) => {
            const check = () => {
              const found = events.slice(from).find(match);
              if (found) {
                finish();
                resolveEvent(found);
              } else if (child.exitCode !== null || child.signalCode !== null) {
                finish();
                reject(new Error(`claude exited (${child.exitCode ?? child.signalCode}) before the awaited event; stderr: ${stderr.slice(-2000)}`));
              }
            };
            const finish = () => {
              clearTimeout(timer);
              waiters.delete(check);
            };
            const timer = setTimeout(() => {
              finish();
              reject(new Error(`no matching stream-json event within ${timeoutMs} ms; last events: ${JSON.stringify(events.slice(-3)).slice(0, 2000)}`));
            }, timeoutMs);
            waiters.add(check);
            check();
          });
        },
        async close(timeoutMs = 15_000) {
          child.stdin!.end();
          const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
          const code = await exited;
          clearTimeout(timer);
          return code;
        },
      };
    },

    async cleanup() {
      await Promise.all(
        [...running].map(
          (child) =>
            new Promise<void>((resolveKill) => {
              child.once('close', () => resolveKill());
              child.kill('SIGKILL');
            }),
        ),
      );
      await rm(home, { recursive: true, force: true });
      await rm(projectDir, { recursive: true, force: true });
    },
  };
}

function parsePrintJson(stdout: string): PrintJson | undefined {
  try {
    const parsed = printJsonSchema.safeParse(JSON.parse(stdout.trim()));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
