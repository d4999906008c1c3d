/**
 * The test adapter: delivers to `test:<device>/<instance>` agents by recording an effect in its
 * own object store (`sinkEffects`, in the receiver's own database), deduping redeliveries by message
 * id (`sinkReceipts`), so tests count real effects rather than the bus's bookkeeping.
 *
 * The instance name scripts how the receiver behaves, by attempt number, so a scenario survives a
 * worker restart:
 *   fail-N…   the first N attempts fail before anything is applied (a retry is pending)
 *   lose-N…   the first N attempts apply the effect but the confirmation is lost (the redelivery is deduped)
 *   reject…   every attempt fails permanently
 *   noack…    delivered, but never acked (exercises the ack timeout)
 *   anything else: applied once; acked when the message asks for an ack
 */
import { GroupCommitter } from '../bus/group-commit';
import { parseAddress } from '../protocol/address';
import type { AgentAdapter, DeliveryAttempt, DeliveryOutcome } from '../bus/ports';
import type { SinkEffect, TestSinkDb } from '../storage/db';
import { addEach } from '../storage/bus-store';

type Script = { mode: 'fail' | 'lose'; times: number } | { mode: 'reject' | 'noack' | 'plain' };

export function scriptOf(recipient: string): Script {
  const address = parseAddress(recipient);
  const instance = address?.type === 'agent' ? address.instance : '';
  const counted = /^(fail|lose)-(\d+)/.exec(instance);
  if (counted) return { mode: counted[1] as 'fail' | 'lose', times: Number(counted[2]) };
  if (instance.startsWith('reject')) return { mode: 'reject' };
  if (instance.startsWith('noack')) return { mode: 'noack' };
  return { mode: 'plain' };
}

export class TestSinkAdapter implements AgentAdapter {
  readonly kind = 'test' as const;
  private readonly effects: GroupCommitter<SinkEffect, boolean>;

  /** `ack` is how the receiver confirms a message back to the bus. */
  constructor(
    private readonly db: TestSinkDb,
    private readonly ack: (messageId: string, recipient: string) => Promise<unknown>,
  ) {
    this.effects = new GroupCommitter((batch) => this.apply(batch));
  }

  async deliver({ envelope, recipient, attempt }: DeliveryAttempt): Promise<DeliveryOutcome> {
    const script = scriptOf(recipient);
    if (script.mode === 'reject') return { status: 'failed', reason: `${recipient} rejects every message` };
    if (script.mode === 'fail' && attempt <= script.times) return { status: 'retry', reason: `scripted failure ${attempt} of ${script.times}` };
    await this.effects.submit({ recipient, messageId: envelope.id, attempt, at: Date.now() });
    if (script.mode === 'lose' && attempt <= script.times) return { status: 'retry', reason: `confirmation lost (scripted, ${attempt} of ${script.times})` };
    if (envelope.ackRequired && script.mode !== 'noack') {
      setTimeout(() => void this.ack(envelope.id, recipient).catch(() => undefined), 0);
    }
    return { status: 'delivered' };
  }

  /** Applies each effect at most once per (recipient, message); returns whether it was new. */
  private apply(batch: SinkEffect[]): Promise<boolean[]> {
    const { sinkReceipts, sinkEffects } = this.db;
    return this.db.transaction('rw', sinkReceipts, sinkEffects, async () => {
      // The receipt is the dedupe: adding it fails for a message this recipient already has.
      const fresh = await addEach(
        sinkReceipts,
        batch.map((e) => ({ recipient: e.recipient, messageId: e.messageId, at: e.at, duplicates: 0 })),
      );
      await sinkEffects.bulkAdd(batch.filter((_, i) => fresh[i]));
      const repeats = batch.filter((_, i) => !fresh[i]);
      for (const { recipient, messageId } of repeats) {
        await sinkReceipts.where('[recipient+messageId]').equals([recipient, messageId]).modify((r) => void r.duplicates++);
      }
      return fresh;
    });
  }
}
