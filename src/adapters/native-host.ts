/**
 * Delivers to the agents the native host serves — local API clients (`api:<device>/<client>`) — by
 * handing each message to the host over the native link. A message has reached the agent once the
 * host's inbox holds it on disk: the client reads it there (WebSocket push or polling) and acks it
 * through the host, which sends the ack back as a journal record.
 */
import type { AgentAdapter, DeliveryAttempt, DeliveryOutcome } from '../bus/ports';
import type { NativeLink } from '../hub/native-link';

export class NativeHostAdapter implements AgentAdapter {
  readonly kind = 'api' as const;

  constructor(private readonly link: NativeLink) {}

  async deliver({ envelope, recipient }: DeliveryAttempt): Promise<DeliveryOutcome> {
    const outcome = await this.link.deliver(recipient, envelope);
    return outcome.ok ? { status: 'delivered' } : { status: 'retry', reason: outcome.reason };
  }
}
