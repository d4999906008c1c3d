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
import { addAllUnlessTaken, requests, type SinkEffect, type SinkReceipt, type TestSinkDb } from '../storage/db';

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

  /**
   * Applies each effect at most once per (recipient, message); returns whether it was new. On the
   * connection itself, as the bus's own per-message writes (writeTransaction in db.ts). The receipt
   * is the dedupe: adding it fails for a message this recipient already has.
   */
  private async apply(batch: SinkEffect[]): Promise<boolean[]> {
    const receipts: SinkReceipt[] = batch.map((e) => ({ recipient: e.recipient, messageId: e.messageId, at: e.at, duplicates: 0 }));
    // A batch is nearly always new: receipts and effects go in together. One already received
    // aborts that, and the batch is applied again, counting the redeliveries.
    if (await this.applyAllNew(batch, receipts)) return batch.map(() => true);
    return this.applyCountingRedeliveries(batch, receipts);
  }

  private applyAllNew(batch: SinkEffect[], receipts: SinkReceipt[]): Promise<boolean> {
    return this.db.writeIfAllNew(['sinkReceipts', 'sinkEffects'], (tx) => {
      const adds = receipts.map((receipt) => tx.objectStore('sinkReceipts').add(receipt));
      for (const effect of batch) tx.objectStore('sinkEffects').add(effect);
      return adds;
    });
  }

  private async applyCountingRedeliveries(batch: SinkEffect[], receiptsOf: SinkReceipt[]): Promise<boolean[]> {
    const { tx, done } = await this.db.writeTransaction(['sinkReceipts', 'sinkEffects']);
    const receipts = tx.objectStore('sinkReceipts');
    const effects = tx.objectStore('sinkEffects');
    const fresh = batch.map(() => false);
    requests(tx, () =>
      addAllUnlessTaken(receipts, receiptsOf, (added) => {
        batch.forEach((effect, i) => {
          fresh[i] = added[i];
          if (added[i]) {
            effects.add(effect);
            return;
          }
          const stored = receipts.get([effect.recipient, effect.messageId]);
          stored.onsuccess = () => receipts.put({ ...(stored.result as SinkReceipt), duplicates: (stored.result as SinkReceipt).duplicates + 1 });
        });
      }),
    );
    await done;
    return fresh;
  }
}
