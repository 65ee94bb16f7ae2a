import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { describeError } from "./api";

export interface Loaded<T> {
  data: T | undefined;
  error: string | undefined;
  /** Loads now (after the load in flight, if any, so the answer is fresh). */
  reload: () => Promise<void>;
}

export interface PollOptions<T> {
  /** Wait between the end of one load and the start of the next; 0 loads once. */
  intervalMs?: number;
  /** Whether to keep polling after this answer (e.g. not once every campaign has finished). */
  keepPolling?: (data: T) => boolean;
}

/**
 * Loads once, and again `intervalMs` after each load ends (a slow answer is never cut off nor
 * overlapped), while the tab is visible; stops with the component.
 */
export function usePoll<T>(load: (signal: AbortSignal) => Promise<T>, deps: unknown[], { intervalMs = 0, keepPolling }: PollOptions<T> = {}): Loaded<T> {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<string>();
  const loader = useRef(load);
  loader.current = load;
  const keep = useRef(keepPolling);
  keep.current = keepPolling;
  const runner = useRef<() => Promise<void>>(async () => undefined);

  useEffect(() => {
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    let inFlight: Promise<void> | undefined;
    let again = false;
    let polling = intervalMs > 0;

    const schedule = () => {
      clearTimeout(timer);
      if (polling && !controller.signal.aborted && !document.hidden) timer = setTimeout(() => void run(), intervalMs);
    };
    const once = async () => {
      try {
        const value = await loader.current(controller.signal);
        if (controller.signal.aborted) return;
        setData(value);
        setError(undefined);
        if (keep.current && !keep.current(value)) polling = false;
      } catch (e) {
        if (!controller.signal.aborted) setError(describeError(e));
      }
    };
    const run = (): Promise<void> => {
      if (inFlight) {
        again = true;
        return inFlight;
      }
      clearTimeout(timer);
      inFlight = (async () => {
        do {
          again = false;
          await once();
        } while (again && !controller.signal.aborted);
        inFlight = undefined;
        schedule();
      })();
      return inFlight;
    };
    // Hidden tabs stop asking; coming back loads at once and resumes the rhythm.
    const onVisibility = () => {
      if (document.hidden) clearTimeout(timer);
      else if (polling && !inFlight) void run();
    };

    runner.current = () => {
      polling = intervalMs > 0; // an explicit reload resumes a poll that had stopped
      return run();
    };
    void run();
    document.addEventListener("visibilitychange", onVisibility);
    return () => {
      controller.abort();
      clearTimeout(timer);
      document.removeEventListener("visibilitychange", onVisibility);
    };
  }, deps);

  const reload = useCallback(() => runner.current(), []);
  return { data, error, reload };
}

/**
 * Runs an action, keeping a status line for an aria-live region: "<label>…", then the string the
 * action resolved with (else "<label>: done."), or "<label> failed: <the API's message>".
 */
export function useAction(): [status: string, busy: boolean, run: (label: string, action: () => Promise<unknown>) => Promise<boolean>] {
  const [status, setStatus] = useState("");
  const [busy, setBusy] = useState(false);
  const run = useCallback(async (label: string, action: () => Promise<unknown>) => {
    setBusy(true);
    setStatus(`${label}…`);
    try {
      const outcome = await action();
      setStatus(typeof outcome === "string" ? outcome : `${label}: done.`);
      return true;
    } catch (e) {
      setStatus(`${label} failed: ${describeError(e)}`);
      return false;
    } finally {
      setBusy(false);
    }
  }, []);
  return [status, busy, run];
}
