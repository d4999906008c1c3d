/**
 * Delivers to the extension's own pages (`extension:<device>/<page>`, e.g. the popup). Their inbox
 * is the hub's store itself — a page reads it with `list({ agent })` whenever it opens — so a
 * message has reached the page once it is committed; the page acks it when the person has read it.
 */
import type { AgentAdapter, DeliveryOutcome } from '../bus/ports';

export class ExtensionInboxAdapter implements AgentAdapter {
  readonly kind = 'extension' as const;

  async deliver(): Promise<DeliveryOutcome> {
    return { status: 'delivered' };
  }
}
