import { describe, expect, it } from 'vitest';
import { register as globalRegistry } from 'prom-client';
import { HostMetrics } from '../../native-host/metrics';
import { MemoryHostCore, envelopeFor } from '../support/memory-host-core';

const fresh = () => new HostMetrics({ processMetrics: false });

describe('HostMetrics', () => {
  it('counts messages in and out by kind from the core events, once however often it is attached, until the last holder lets go', async () => {
    const metrics = fresh();
    const core = new MemoryHostCore();
    const detach = metrics.attach(core);
    const detachOther = metrics.attach(core); // the API and the daemon may both attach
    await core.submit({ from: 'api:local/a', to: 'api:local/b', kind: 'prompt', body: 'x' });
    await core.submit({ from: 'api:local/a', to: 'api:local/b', body: 'y' });
    core.deliver('api:local/b', envelopeFor({ from: 'api:local/a', to: ['api:local/b'], kind: 'reply' }));
    const text = await metrics.render();
    expect(text).toContain('switchboard_messages_in_total{kind="prompt"} 1');
    expect(text).toContain('switchboard_messages_in_total{kind="note"} 1');
    expect(text).toContain('switchboard_messages_out_total{kind="reply"} 1');

    detach();
    detach(); // releasing twice does not release the other holder
    await core.submit({ from: 'api:local/a', to: 'api:local/b', kind: 'prompt', body: 'z' });
    expect(await metrics.render()).toContain('switchboard_messages_in_total{kind="prompt"} 2');
    detachOther();
    await core.submit({ from: 'api:local/a', to: 'api:local/b', kind: 'prompt', body: 'w' });
    expect(await metrics.render()).toContain('switchboard_messages_in_total{kind="prompt"} 2');
  });

  it('reads queue depth, journal size and inbox size from the core status at each scrape', async () => {
    const metrics = fresh();
    const core = new MemoryHostCore();
    metrics.attach(core);
    core.statusFacts.journal.records = 7;
    core.statusFacts.journal.bytes = 123_456;
    core.statusFacts.inbox.messages = 3;
    metrics.setWsClients(2);
    const text = await metrics.render();
    expect(text).toContain('switchboard_queue_depth 7');
    expect(text).toContain('switchboard_journal_bytes 123456');
    expect(text).toContain('switchboard_inbox_messages 3');
    expect(text).toContain('switchboard_ws_clients 2');
    core.statusFacts.journal.records = 0;
    expect(await metrics.render()).toContain('switchboard_queue_depth 0');
  });

  it('counts hook events and webhook failures, and records latency per hop', async () => {
    const metrics = fresh();
    metrics.hookEvent('PostToolUse');
    metrics.hookEvent('PostToolUse');
    metrics.hookEvent('Stop');
    metrics.webhookFailure();
    metrics.observeDelivery('api_to_hub', 0.004);
    metrics.observeDelivery('hub_to_client', 0.02);
    metrics.observeDelivery('hub_to_client', -1); // a clock step back is not a latency
    const text = await metrics.render();
    expect(text).toContain('switchboard_hook_events_total{type="PostToolUse"} 2');
    expect(text).toContain('switchboard_hook_events_total{type="Stop"} 1');
    expect(text).toContain('switchboard_webhook_failures_total 1');
    expect(text).toContain('switchboard_delivery_latency_seconds_bucket{le="0.005",hop="api_to_hub"} 1');
    expect(text).toContain('switchboard_delivery_latency_seconds_count{hop="hub_to_client"} 1');
  });

  it('keeps its own registry: two instances do not share numbers, the global registry stays empty', async () => {
    const one = fresh();
    const two = fresh();
    one.hookEvent('Stop');
    expect(await two.render()).not.toContain('type="Stop"');
    expect(await globalRegistry.metrics()).not.toContain('switchboard_');
  });

  it('exports process metrics under the same prefix unless told not to', async () => {
    expect(await new HostMetrics().render()).toMatch(/switchboard_process_resident_memory_bytes|switchboard_nodejs_heap_size_used_bytes/);
    expect(await fresh().render()).not.toContain('nodejs_');
  });
});
