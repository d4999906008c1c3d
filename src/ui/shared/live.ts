/**
 * Live data for the extension's pages (issue 7: "everything they show is live data from the hub,
 * updated within a second, no reload"). `useHub` loads with a hub request and loads again when the
 * hub reports changes (gathered for ~100 ms) and on a 1 s tick, for state that changes with time
 * alone (a hold that ends, a session that goes quiet). All views of a page share one change port.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { DeliveryChange } from '../../bus/bus';
import { hub } from '../../client/hub-client';

/** How long changes are gathered before views load again. */
export const CHANGE_DEBOUNCE_MS = 100;
/** How often views load again with no change at all. */
export const TICK_MS = 1000;

type ChangeListener = (changes: DeliveryChange[]) => void;
const listeners = new Set<ChangeListener>();
let watching: AbortController | undefined;

/**
 * Calls `listener` with every batch of changes (progress reports included) until the returned
 * function is called. One port serves every listener of the page; it closes with the last one.
 */
export function onHubChanges(listener: ChangeListener): () => void {
  listeners.add(listener);
  if (!watching) {
    watching = new AbortController();
    hub.watch((changes) => {
      for (const each of [...listeners]) each(changes);
    }, watching.signal);
  }
  return () => {
    listeners.delete(listener);
    if (listeners.size === 0) {
      watching?.abort();
      watching = undefined;
    }
  };
}

/** Calls `listener` with each batch of changes while the component is mounted. */
export function useHubChanges(listener: ChangeListener): void {
  const latest = useRef(listener);
  latest.current = listener;
  useEffect(() => onHubChanges((changes) => latest.current(changes)), []);
}

export interface Live<T> {
  /** the last answer; kept while a new load runs, so views never blink */
  data: T | undefined;
  /** why the last load failed; cleared by the next that succeeds */
  error: string | undefined;
  /** true until the first load has answered (or failed) */
  loading: boolean;
  /** load again now (after an action of this page) */
  reload: () => void;
}

export interface LiveOptions {
  /** load again every this many ms with no change (default TICK_MS; 0: only on changes) */
  tickMs?: number;
  /** false: keep the last data and stop loading (a view that is hidden) */
  enabled?: boolean;
}

/**
 * `load` runs on mount, whenever `deps` change, after hub changes (debounced) and on the tick.
 * Loads never overlap: one asked for while another runs follows it, and an answer to old `deps`
 * is dropped. Progress reports alone (an answer being written) do not reload: nothing stored changed.
 */
export function useHub<T>(load: () => Promise<T>, deps: readonly unknown[], options: LiveOptions = {}): Live<T> {
  const { tickMs = TICK_MS, enabled = true } = options;
  const [state, setState] = useState<{ data: T | undefined; error: string | undefined; loading: boolean }>({
    data: undefined,
    error: undefined,
    loading: true,
  });
  const latestLoad = useRef(load);
  latestLoad.current = load;
  const reloadRef = useRef<() => void>(() => {});

  useEffect(() => {
    if (!enabled) return;
    let stopped = false;
    let running = false;
    let again = false;
    let debounce: ReturnType<typeof setTimeout> | undefined;

    const run = async () => {
      if (running) {
        again = true;
        return;
      }
      running = true;
      try {
        const data = await latestLoad.current();
        if (!stopped) setState({ data, error: undefined, loading: false });
      } catch (error) {
        if (!stopped) setState((s) => ({ ...s, error: error instanceof Error ? error.message : String(error), loading: false }));
      } finally {
        running = false;
        if (again && !stopped) {
          again = false;
          void run();
        }
      }
    };
    reloadRef.current = () => void run();

    void run();
    const unsubscribe = onHubChanges((changes) => {
      if (changes.every((c) => c.progress)) return;
      debounce ??= setTimeout(() => {
        debounce = undefined;
        void run();
      }, CHANGE_DEBOUNCE_MS);
    });
    const tick = tickMs > 0 ? setInterval(() => void run(), tickMs) : undefined;
    return () => {
      stopped = true;
      unsubscribe();
      clearTimeout(debounce);
      clearInterval(tick);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tickMs, enabled]);

  return { ...state, reload: () => reloadRef.current() };
}
