import { countedD1, type TripLog } from "./trips";

// The D1 binding is one object for the whole test runtime: the Worker, the queue consumers and
// every Durable Object share it. To count one part's round trips, this wrapper counts every call
// (trips.ts countedD1) except those whose calling stack passes through `except` (e.g. the API's
// and the queue consumers' files, the test's own reads). The stack is read without this file's
// own frames (they sit under test/, which `except` usually names) and deeper than V8's default
// 10 frames (drizzle alone takes 5), so a caller far down is seen. It fails closed: an async
// stack that lost its frames is counted, never let through.
const SELF = "/test/helpers/d1-count.ts";

function callers(): string {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 200;
  const stack = new Error().stack ?? "";
  Error.stackTraceLimit = limit;
  return stack.split("\n").slice(1).filter((line) => !line.includes(SELF)).join("\n");
}

/** `origins`, when given, counts the counted calls (prepare, batch, exec) by their nearest src/ caller. */
export function countedFromD1(log: TripLog, db: D1Database, except: RegExp, origins?: Record<string, number>): D1Database {
  const counted = countedD1(log, db);
  const pick = (call: string) => {
    const stack = callers();
    if (except.test(stack)) return db;
    if (origins) {
      const frame = (dir: string) => stack.split("\n").find((line) => line.includes(dir))?.trim().replace(/^at (async )?/, "").replace(/\/.*\/src\//, "src/");
      const where = [...new Set([frame("/src/") ?? "(no src frame)", frame("/src/session/") ?? "(no session frame)"])].join(" ← ");
      origins[`${call} ← ${where}`] = (origins[`${call} ← ${where}`] ?? 0) + 1;
    }
    return counted;
  };
  return new Proxy(db, {
    get(target, prop) {
      if (prop === "prepare") return (sql: string) => pick("prepare").prepare(sql);
      if (prop === "batch") return (statements: D1PreparedStatement[]) => pick("batch").batch(statements);
      if (prop === "exec") return (sql: string) => pick("exec").exec(sql);
      const value = Reflect.get(target, prop);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
