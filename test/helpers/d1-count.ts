import { countedD1, type TripLog } from "./trips";

// The D1 binding is one object for the whole test runtime: the Worker, the queue consumers and
// every Durable Object share it. To count one part's round trips, this wrapper counts every call
// (trips.ts countedD1) except those whose calling stack passes through `except` (e.g. the API's
// and the queue consumers' files, the test's own reads). It fails closed: an async stack that
// lost its frames is counted, never let through.
export function countedFromD1(log: TripLog, db: D1Database, except: RegExp): D1Database {
  const counted = countedD1(log, db);
  const pick = () => (except.test(new Error().stack ?? "") ? db : counted);
  return new Proxy(db, {
    get(target, prop) {
      if (prop === "prepare") return (sql: string) => pick().prepare(sql);
      if (prop === "batch") return (statements: D1PreparedStatement[]) => pick().batch(statements);
      if (prop === "exec") return (sql: string) => pick().exec(sql);
      const value = Reflect.get(target, prop);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
