/**
 * The hub's directory, told to the native host (HubFrame `directory`): the agents the hub knows —
 * Claude Code sessions with their state, title and project — and the destinations the bus holds
 * back, with why and until when. The host cannot ask the hub, so the hub tells it: on every
 * connect, soon after anything that may have changed it (a hook event, a hold), and on a slow
 * timer for what changes by itself (a probe, a breaker's cool-down). A frame that differs from the
 * last one sent only in when agents were last seen is not sent.
 *
 * The host's MCP server lists agents from it, and `GET /recovery/status` shows the holds (issue 5).
 */
import type { DestinationRecord } from '../bus/destinations';
import type { DirectoryAgent, DirectoryDestination, DirectoryFrame } from '../protocol/native';
import type { KnownAgent } from '../storage/db';
import type { SessionRecord } from '../storage/events-db';

export interface DirectorySources {
  agents(): Promise<KnownAgent[]>;
  sessions(): Promise<SessionRecord[]>;
  destinations(): DestinationRecord[];
  now(): number;
}

/** Destinations with nothing held and no event for this long are left out. */
const RECENT_MS = 24 * 3_600_000;
const HISTORY = 10;
const clip = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

export function directoryFrame(known: KnownAgent[], sessions: SessionRecord[], destinations: DestinationRecord[], now: number): DirectoryFrame {
  const byAddress = new Map<string, DirectoryAgent>();
  for (const agent of known) byAddress.set(agent.address, { address: agent.address, firstSeen: agent.firstSeen });
  for (const session of sessions) {
    byAddress.set(session.address, {
      ...byAddress.get(session.address),
      address: session.address,
      state: session.state,
      ...(session.title ? { title: clip(session.title, 500) } : {}),
      ...(session.project ? { project: clip(session.project, 4_096) } : {}),
      ...(session.model ? { model: clip(session.model, 200) } : {}),
      firstSeen: byAddress.get(session.address)?.firstSeen ?? session.firstEventAt,
      lastSeen: session.lastEventAt,
    });
  }
  const held = destinations
    .filter((d) => d.hold || d.breaker !== 'closed' || (d.history.at(-1)?.at ?? 0) > now - RECENT_MS)
    .map(
      (d): DirectoryDestination => ({
        address: d.address,
        breaker: d.breaker,
        ...(d.reopenAt !== undefined ? { reopenAt: d.reopenAt } : {}),
        ...(d.hold
          ? {
              hold: {
                strategy: d.hold.strategy,
                reason: clip(d.hold.reason, 500),
                since: d.hold.since,
                probes: d.hold.probes,
                ...(d.hold.until !== undefined ? { until: d.hold.until } : {}),
                ...(d.hold.nextProbeAt !== undefined ? { nextProbeAt: d.hold.nextProbeAt } : {}),
                ...(d.hold.fallback !== undefined ? { fallback: d.hold.fallback } : {}),
              },
            }
          : {}),
        history: d.history.slice(-HISTORY).map((h) => ({ at: h.at, event: h.event, ...(h.note ? { note: clip(h.note, 600) } : {}) })),
      }),
    );
  return { type: 'directory', at: now, agents: [...byAddress.values()].slice(0, 5_000), destinations: held.slice(0, 5_000) };
}

export interface DirectoryFeedOptions {
  /** sends the frame; false when the host is not connected (it gets one on connect) */
  publish(frame: DirectoryFrame): boolean;
  /** how long after a change the frame goes, so a burst of hook events sends one; default 1_000 */
  debounceMs?: number;
  /** how often to look for changes nothing announced (probes, cool-downs); default 5_000 */
  checkEveryMs?: number;
  log?: (...args: unknown[]) => void;
}

export class DirectoryFeed {
  private lastSent = '';
  private pending: ReturnType<typeof setTimeout> | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;
  private running: Promise<void> = Promise.resolve();

  constructor(
    private readonly sources: DirectorySources,
    private readonly options: DirectoryFeedOptions,
  ) {}

  start(): void {
    this.timer ??= setInterval(() => this.changed(0), this.options.checkEveryMs ?? 5_000);
  }

  stop(): void {
    clearInterval(this.timer);
    clearTimeout(this.pending);
    this.timer = this.pending = undefined;
  }

  /** Something may have changed: send the directory soon, if it did. */
  changed(delayMs = this.options.debounceMs ?? 1_000): void {
    if (this.pending !== undefined) return;
    this.pending = setTimeout(() => {
      this.pending = undefined;
      void this.send(false);
    }, delayMs);
  }

  /** The host (re)connected: it has nothing, so send the whole directory now. */
  connected(): Promise<void> {
    return this.send(true);
  }

  private send(force: boolean): Promise<void> {
    this.running = this.running.then(async () => {
      try {
        const [agents, sessions] = await Promise.all([this.sources.agents(), this.sources.sessions()]);
        const frame = directoryFrame(agents, sessions, this.sources.destinations(), this.sources.now());
        // lastSeen moves with every hook event: alone, it is not worth a frame.
        const content = JSON.stringify({ agents: frame.agents.map(({ lastSeen: _, ...agent }) => agent), destinations: frame.destinations });
        if (!force && content === this.lastSent) return;
        if (this.options.publish(frame)) this.lastSent = content;
      } catch (error) {
        this.options.log?.('Switchboard: could not send the directory to the native host', error);
      }
    });
    return this.running;
  }
}
