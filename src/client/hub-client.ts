/** How the extension's pages talk to the hub: typed requests and a stream of delivery changes. */
import { browser } from 'wxt/browser';
import type { DeliveryChange, MessageStatus, SendReceipt } from '../bus/bus';
import type { Delivery } from '../bus/delivery';
import type { ListQuery, StoredEntry } from '../bus/ports';
import type { SendRequest } from '../protocol/envelope';
import { CHANGES_PORT, type HubRequest, type HubResponse, type HubStatus } from '../protocol/runtime';

async function request<T>(message: HubRequest): Promise<T> {
  const response = (await browser.runtime.sendMessage(message)) as HubResponse<T> | undefined;
  if (!response) throw new Error('the Switchboard hub did not answer');
  if (!response.ok) throw new Error(response.error);
  return response.result;
}

export const hub = {
  send: (message: SendRequest) => request<SendReceipt>({ type: 'send', message }),
  status: (id: string) => request<MessageStatus>({ type: 'status', id }),
  list: (query: ListQuery = {}) => request<StoredEntry[]>({ type: 'list', ...query }),
  ack: (id: string, recipient: string) => request<Delivery>({ type: 'ack', id, recipient }),
  hubStatus: () => request<HubStatus>({ type: 'hub-status' }),

  /** Calls `listener` with each batch of delivery changes until `signal` aborts; reconnects when the worker restarts. */
  watch(listener: (changes: DeliveryChange[]) => void, signal: AbortSignal): void {
    const connect = () => {
      if (signal.aborted) return;
      const port = browser.runtime.connect({ name: CHANGES_PORT });
      port.onMessage.addListener((message: { type: string; changes: DeliveryChange[] }) => {
        if (message.type === 'changes') listener(message.changes);
      });
      port.onDisconnect.addListener(() => setTimeout(connect, 500));
      signal.addEventListener('abort', () => port.disconnect(), { once: true });
    };
    connect();
  },
};
