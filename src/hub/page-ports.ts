/**
 * The two long-lived ports the extension's pages open to the hub: delivery changes pushed out, and
 * framed requests answered. A port can die at any moment (the page closes, the worker stops), so
 * nothing here may throw into the bus, and nothing a page asks may go unanswered.
 */
import type { Browser } from 'wxt/browser';
import type { Bus, DeliveryChange } from '../bus/bus';
import { CHANNEL_HELLO, FRAME_LIMITS, frameBatcher, type HubResponse, type RequestFrame, type ResponseFrame } from '../protocol/runtime';

type Port = Browser.runtime.Port;

/**
 * Pushes every delivery change to the page until its port closes. The changes of one task go in one
 * message (`frameBatcher`, as framed answers do): a send that starts at once is `queued` and `sent`
 * in the same commit, and each message through a runtime port costs the browser process an IPC hop
 * (BENCHMARKS.md, issue 3).
 */
export function serveChanges(port: Port, bus: Promise<Bus>): void {
  let closed = false;
  let unsubscribe = () => {};
  const close = () => {
    closed = true;
    unsubscribe();
  };
  // Registered at once: a page that closes while the worker is still starting must not leave a
  // subscription on a dead port behind.
  port.onDisconnect.addListener(close);
  const post = frameBatcher<DeliveryChange>((changes) => {
    if (closed) return;
    try {
      port.postMessage({ type: 'changes', changes });
    } catch {
      close();
    }
  });
  void bus.then((b) => {
    if (closed) return;
    unsubscribe = b.subscribe((changes) => {
      if (!closed) for (const change of changes) post(change);
    });
  });
}

/** What requests come over: a runtime port, or a page's channel (`serveChannel`). */
type FrameLink = Pick<Port, 'postMessage'> & { onMessage: { addListener(listener: (frame: RequestFrame) => void): void } };

/** Answers framed requests; answers that complete together go back in one frame. */
export function serveRequests(port: FrameLink, answer: (request: unknown) => Promise<HubResponse>): void {
  type Sized = { entry: ResponseFrame['responses'][number]; size: number };
  const reply = frameBatcher<Sized>(
    (items) => {
      try {
        port.postMessage({ responses: items.map((i) => i.entry) } satisfies ResponseFrame);
      } catch {
        // The page went away: it asks again on a new port.
      }
    },
    ({ size }) => size,
  );
  port.onMessage.addListener((frame: RequestFrame) => {
    if (!Array.isArray(frame?.requests)) return;
    for (const { seq, request } of frame.requests) {
      if (typeof seq !== 'number') continue;
      void answer(request)
        .catch((error: unknown): HubResponse => ({ ok: false, error: error instanceof Error ? error.message : String(error) }))
        .then((response) => reply(sized(seq, response)));
    }
  });
}

/** An answer with its size, measured once; one too large for a port message becomes an error that says so. */
function sized(seq: number, response: HubResponse): { entry: { seq: number; response: HubResponse }; size: number } {
  const size = JSON.stringify(response).length;
  if (size <= FRAME_LIMITS.weight) return { entry: { seq, response }, size };
  const error: HubResponse = {
    ok: false,
    error: `the answer is too large to send (${size} characters, at most ${FRAME_LIMITS.weight}): ask for fewer messages`,
  };
  return { entry: { seq, response: error }, size: 200 };
}

/** The channel a message to the worker opens: a hello from a page of the worker's own origin, with one port. */
export function channelOf(event: Pick<MessageEvent, 'data' | 'origin' | 'ports'>, origin: string): MessagePort | undefined {
  const hello = (event.data as { type?: unknown } | null)?.type === CHANNEL_HELLO;
  return hello && event.origin === origin && event.ports.length === 1 ? event.ports[0] : undefined;
}

/**
 * Answers framed requests over a page's channel (CHANNEL_HELLO), once the hello has said it is
 * served. A page's channel closes with the page; posting to a closed one does nothing.
 */
export function serveChannel(channel: MessagePort, answer: (request: unknown) => Promise<HubResponse>): void {
  serveRequests(
    {
      postMessage: (message) => channel.postMessage(message),
      onMessage: { addListener: (listener) => (channel.onmessage = (event: MessageEvent<RequestFrame>) => listener(event.data)) },
    },
    answer,
  );
  channel.postMessage({ type: CHANNEL_HELLO });
}
