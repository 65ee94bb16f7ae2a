import { useEffect, useRef, useState } from "preact/hooks";

/**
 * A sentence for a live region when a polled list's items change state ("Support line: connected."),
 * so screen-reader users hear what sighted users see the badges do. Silent on the first load.
 */
export function useChangeAnnouncer<T>(items: T[] | undefined, key: (item: T) => string, state: (item: T) => string, name: (item: T) => string): string {
  const previous = useRef<Map<string, string> | undefined>(undefined);
  const [text, setText] = useState("");
  useEffect(() => {
    if (!items) return;
    const now = new Map(items.map((item) => [key(item), state(item)]));
    const before = previous.current;
    previous.current = now;
    if (!before) return;
    const changed = items.filter((item) => before.has(key(item)) && before.get(key(item)) !== state(item));
    if (changed.length) setText(changed.map((item) => `${name(item)}: ${state(item)}.`).join(" "));
  }, [items]);
  return text;
}
