/**
 * Reaching the daemon's local API from another process on this machine — the `switchboard` CLI and
 * the MCP server: where it listens (config.json, or the daemon itself when the config lets it pick a
 * port) and one authenticated JSON request.
 */
import { loadConfig, paths, readToken } from './config';
import { Pong, realProbes } from './doctor';

export interface ApiAddress {
  /** e.g. http://127.0.0.1:8737 */
  base: string;
  token: string;
}

export async function resolveApi(home: string): Promise<ApiAddress> {
  const config = loadConfig(home);
  const token = readToken(home);
  let port = config.api.port;
  if (port === 0) {
    const pong = Pong.safeParse(await realProbes.ping(paths(home).socket, 2_000).catch(() => undefined));
    if (!pong.success || pong.data.apiPort === undefined) {
      throw new Error(`api.port is 0 in ${paths(home).config} and the daemon did not say which port it took; is it running? (\`switchboard doctor\`)`);
    }
    port = pong.data.apiPort;
  }
  const host = config.api.host.includes(':') ? `[${config.api.host}]` : config.api.host;
  return { base: `http://${host}:${port}`, token };
}

/** A request the API refused: `reason` is its `error`, `status` its HTTP status. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    method: string,
    path: string,
  ) {
    super(`${method} ${path} answered ${status}: ${reason}`);
    this.name = 'ApiError';
  }
}

/** One request; resolves with the parsed answer (undefined for 204), throws ApiError or a "nothing answers" Error. */
export async function apiRequest(api: ApiAddress, method: 'GET' | 'POST', path: string, body?: unknown, signal?: AbortSignal): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(`${api.base}${path}`, {
      method,
      headers: { Authorization: `Bearer ${api.token}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
    });
  } catch (error) {
    if (signal?.aborted) throw error;
    throw unreachable(api.base, error);
  }
  if (response.status === 204) return undefined;
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: reported as text below
  }
  if (!response.ok) {
    const reason = (parsed as { error?: unknown } | undefined)?.error;
    throw new ApiError(response.status, typeof reason === 'string' ? reason : text.slice(0, 300), method, path);
  }
  return parsed;
}

export function unreachable(base: string, error: unknown): Error {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return new Error(`nothing answers at ${base} (${cause?.code ?? cause?.message ?? (error as Error).message}): is the daemon running? \`switchboard doctor\` will tell`);
}
