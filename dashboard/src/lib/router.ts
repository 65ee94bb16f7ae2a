import { useEffect, useState } from "preact/hooks";
import { routeOf } from "./route-path";

// Hash routes (#/sessions/<id>): the assets need no SPA fallback, and the Worker keeps every
// other path (/v1, /docs, /openapi.json) to itself.
export function currentRoute(): string[] {
  return routeOf(location.hash);
}

export function useRoute(): string[] {
  const [route, setRoute] = useState(currentRoute);
  useEffect(() => {
    const update = () => setRoute(currentRoute());
    addEventListener("hashchange", update);
    return () => removeEventListener("hashchange", update);
  }, []);
  return route;
}

export function navigate(path: string): void {
  location.hash = `#${path}`;
}
