/** A runtime.Port stand-in: records what is posted, and lets a test deliver messages or disconnect it. */
type Listener = (...args: any[]) => void;

function event() {
  const listeners = new Set<Listener>();
  return {
    addListener: (l: Listener) => void listeners.add(l),
    removeListener: (l: Listener) => void listeners.delete(l),
    hasListener: (l: Listener) => listeners.has(l),
    hasListeners: () => listeners.size > 0,
    fire: (...args: unknown[]) => listeners.forEach((l) => l(...args)),
  };
}

export class FakePort {
  readonly posted: any[] = [];
  readonly onMessage = event();
  readonly onDisconnect = event();
  disconnected = false;
  /** make postMessage throw, as Chrome does on a dead port or an oversized message */
  failWith: Error | undefined;

  constructor(
    readonly name: string,
    readonly sender?: { id?: string; url?: string },
  ) {}

  postMessage(message: unknown): void {
    if (this.failWith) throw this.failWith;
    this.posted.push(message);
  }

  disconnect(): void {
    this.disconnected = true;
  }

  /** the other side sends `message` */
  receive(message: unknown): void {
    this.onMessage.fire(message, this);
  }

  /** the other side goes away */
  drop(): void {
    this.onDisconnect.fire(this);
  }
}
