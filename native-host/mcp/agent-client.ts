/**
 * The MCP server's way to the daemon: the local API's agent routes (api/agent-routes.ts) over HTTP
 * on loopback, with the daemon's token. Every failure is an Error whose message says what to do.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { SendRequest } from '../../src/protocol/envelope';
import type { DirectoryAgent, DirectoryDestination } from '../../src/protocol/native';
import type { AgentMessage } from '../api/agent-routes';
import { ApiError, apiRequest, type ApiAddress } from '../api-client';

export interface Directory {
  hubConnected: boolean;
  asOf: number | null;
  agents: DirectoryAgent[];
  destinations: DirectoryDestination[];
}

export class AgentClient {
  constructor(private readonly api: ApiAddress) {}

  whoami(pids: number[]): Promise<{ agent: string }> {
    return this.call('GET', `/agent/whoami?pids=${pids.join(',')}`);
  }

  directory(): Promise<Directory> {
    return this.call('GET', '/agent/directory');
  }

  /** Lists; the agent is reading them itself (`seen`): a session's hooks will not put them in again. */
  inbox(agent: string, options: { after?: number; limit?: number; unread?: boolean } = {}): Promise<{ messages: AgentMessage[]; more: boolean }> {
    const query = new URLSearchParams({ agent, seen: 'true' });
    if (options.after !== undefined && options.after >= 0) query.set('after', String(options.after));
    if (options.limit !== undefined) query.set('limit', String(options.limit));
    if (options.unread) query.set('unread', 'true');
    return this.call('GET', `/agent/inbox?${query}`);
  }

  message(agent: string, id: string): Promise<{ message: AgentMessage }> {
    return this.call('GET', `/agent/message?${new URLSearchParams({ agent, id, seen: 'true' })}`);
  }

  /** The first unread message after seq `after`, or undefined when none comes within `timeoutSeconds`. */
  async wait(agent: string, after: number, timeoutSeconds: number, signal?: AbortSignal): Promise<AgentMessage | undefined> {
    const query = new URLSearchParams({ agent, timeout: String(timeoutSeconds), seen: 'true' });
    if (after >= 0) query.set('after', String(after));
    const answer = await this.call<{ message: AgentMessage } | undefined>('GET', `/agent/wait?${query}`, undefined, signal);
    return answer?.message;
  }

  send(request: SendRequest): Promise<{ message_id: string }> {
    return this.call('POST', '/agent/send', request);
  }

  ack(agent: string, messageId: string): Promise<{ acked: string }> {
    return this.call('POST', '/agent/ack', { agent, message_id: messageId });
  }

  present(agent: string): Promise<{ present: string }> {
    return this.call('POST', '/agent/present', { agent });
  }

  reply(agent: string, messageId: string, text: string): Promise<{ message_id: string }> {
    return this.call('POST', '/agent/reply', { agent, message_id: messageId, text });
  }

  private async call<T>(method: 'GET' | 'POST', path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    try {
      return (await apiRequest(this.api, method, path, body, signal)) as T;
    } catch (error) {
      // The model reads this: the API's own words, without the HTTP framing.
      throw error instanceof ApiError ? new Error(error.reason) : error;
    }
  }
}

/**
 * This process's ancestors, nearest first (its parent, its parent's parent…), up to `depth`: the
 * Claude Code process that started this MCP server is its parent (or the parent's parent, through a
 * wrapper). No further: a `claude` started by another session's tool is not that session. /proc on
 * Linux, ps elsewhere.
 */
export function ancestors(depth = 2, start = process.ppid): number[] {
  const found: number[] = [];
  let pid = start;
  while (pid > 1 && found.length < depth) {
    found.push(pid);
    pid = parentOf(pid) ?? 0;
  }
  return found;
}

function parentOf(pid: number): number | undefined {
  try {
    // The command name (field 2) is in parentheses and may hold spaces: read after its closing one.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    if (process.platform === 'linux') return undefined;
  }
  try {
    return Number(execFileSync('ps', ['-o', 'ppid=', '-p', String(pid)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()) || undefined;
  } catch {
    return undefined;
  }
}
