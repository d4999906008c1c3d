/**
 * Who a topic or broadcast reaches. Agents subscribe to topics; broadcast reaches every agent the
 * hub knows: those that subscribed, and those that have sent a message (agents of later issues —
 * tabs, Claude Code sessions — register as they appear).
 */
import type { Directory } from '../bus/ports';
import { parseAddress } from '../protocol/address';
import type { SwitchboardDb } from './db';

export class DexieDirectory implements Directory {
  /** agents already recorded by this worker, so a busy sender costs no write per message */
  private readonly known = new Set<string>();

  constructor(
    private readonly db: SwitchboardDb,
    private readonly now: () => number = Date.now,
  ) {}

  async expand(address: string): Promise<string[]> {
    const parsed = parseAddress(address);
    if (parsed?.type === 'topic') {
      return (await this.db.subscriptions.where('topic').equals(parsed.name).toArray()).map((s) => s.agent);
    }
    if (parsed?.type === 'broadcast') return (await this.db.agents.toCollection().primaryKeys()) as string[];
    return [address];
  }

  /** Records an agent as known (for broadcast); cheap to call on every send. */
  async noteAgent(address: string): Promise<void> {
    if (this.known.has(address)) return;
    const at = this.now();
    await this.db.agents.put({ address, firstSeen: (await this.db.agents.get(address))?.firstSeen ?? at });
    this.known.add(address);
  }

  async subscribe(agent: string, topic: string): Promise<void> {
    await this.db.transaction('rw', this.db.subscriptions, this.db.agents, async () => {
      await this.db.subscriptions.put({ topic, agent, since: this.now() });
      await this.noteAgent(agent);
    });
  }

  async unsubscribe(agent: string, topic: string): Promise<void> {
    await this.db.subscriptions.delete([topic, agent]);
  }

  async topicsOf(agent: string): Promise<string[]> {
    return (await this.db.subscriptions.where('agent').equals(agent).toArray()).map((s) => s.topic);
  }
}
