/**
 * Delivers to the agents the native host serves — local API clients (`api:<device>/<client>`) and
 * Claude Code sessions (`claude-code:<device>/<session>`) — by handing each message to the host over
 * the native link. An API client has the message once the host's inbox holds it on disk (it reads it
 * there, by WebSocket push or polling). A session has it only once the host has put it into the
 * session at a hook point: until then the delivery is pending, and the host's `delivered` record
 * ends the wait. Acks come back as journal records too.
 */
import type { AgentAdapter, DeliveryAttempt, DeliveryOutcome } from '../bus/ports';
import type { NativeLink } from '../hub/native-link';

export class NativeHostAdapter implements AgentAdapter {
  constructor(
    private readonly link: NativeLink,
    /** the kind of agent this adapter serves through the host: `api` clients, `claude-code` sessions */
    readonly kind: 'api' | 'claude-code' = 'api',
  ) {}

  async deliver({ envelope, recipient }: DeliveryAttempt): Promise<DeliveryOutcome> {
    const outcome = await this.link.deliver(recipient, envelope);
    if (!outcome.ok) return { status: 'retry', reason: outcome.reason };
    // A Claude Code session takes a message only at its next hook point: the host holds it till then.
    return outcome.held ? { status: 'pending', note: 'held by the native host until the session can take it' } : { status: 'delivered' };
  }
}
