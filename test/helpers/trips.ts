// Round-trip counting around the REAL bindings: every D1 call (a statement's first/all/run/raw,
// a batch, an exec) and every Durable Object stub call (fetch or RPC) is one trip, recorded
// with a start and an end on one logical clock (a counter bumped at each start and end), so
// "did not overlap" is exact whatever the timers do.

export interface Trip {
  what: string;
  /** The whole statement of a D1 call on a prepared statement (to tell which table it read). */
  sql?: string;
  start: number;
  end: number;
}

export class TripLog {
  readonly trips: Trip[] = [];
  private clock = 0;

  async track<T>(what: string, call: () => T | Promise<T>, sql?: string): Promise<Awaited<T>> {
    const trip: Trip = { what, sql, start: ++this.clock, end: Number.POSITIVE_INFINITY };
    this.trips.push(trip);
    try {
      return await call();
    } finally {
      trip.end = ++this.clock;
    }
  }

  reset(): void {
    this.trips.length = 0;
  }

  /** The longest chain of trips each starting after the previous one ended. */
  sequential(): number {
    const byEnd = [...this.trips].sort((a, b) => a.end - b.end);
    const chain = new Map<Trip, number>();
    let longest = 0;
    for (const trip of byEnd) {
      let before = 0;
      for (const [prev, n] of chain) if (prev.end < trip.start) before = Math.max(before, n);
      chain.set(trip, before + 1);
      longest = Math.max(longest, before + 1);
    }
    return longest;
  }

  /** Trip names in start order, for assertion messages. */
  describe(): string {
    return [...this.trips].sort((a, b) => a.start - b.start).map((t) => `${t.what}[${t.start}-${t.end}]`).join(", ");
  }
}

const real = new WeakMap<object, D1PreparedStatement>();

function countedStatement(log: TripLog, statement: D1PreparedStatement, sql: string): D1PreparedStatement {
  const proxy = new Proxy(statement, {
    get(target, prop) {
      if (prop === "bind") return (...args: unknown[]) => countedStatement(log, target.bind(...args), sql);
      if (prop === "first" || prop === "all" || prop === "run" || prop === "raw") {
        const fn = Reflect.get(target, prop) as (...a: unknown[]) => Promise<unknown>;
        return (...args: unknown[]) => log.track(`d1.${String(prop)} ${sql.trim().slice(0, 40)}`, () => fn.apply(target, args), sql);
      }
      const value = Reflect.get(target, prop);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  real.set(proxy, statement);
  return proxy;
}

/** The database, each call one trip. Statements it prepares unwrap for its batch. */
export function countedD1(log: TripLog, db: D1Database): D1Database {
  return new Proxy(db, {
    get(target, prop) {
      if (prop === "prepare") return (sql: string) => countedStatement(log, target.prepare(sql), sql);
      if (prop === "batch") {
        return (statements: D1PreparedStatement[]) =>
          log.track(`d1.batch(${statements.length})`, () => target.batch(statements.map((s) => real.get(s) ?? s)));
      }
      if (prop === "exec") return (sql: string) => log.track("d1.exec", () => target.exec(sql));
      const value = Reflect.get(target, prop);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** A Durable Object namespace whose stubs count each call (fetch or RPC method) as one trip. */
export function countedNamespace<T extends DurableObjectNamespace<any>>(log: TripLog, ns: T, name: string): T {
  const stubOf = (stub: object) =>
    new Proxy(stub, {
      get(target, prop) {
        const value = Reflect.get(target, prop);
        // Not a call: ids, names, and `then` (a stub must not look like a promise).
        if (typeof prop !== "string" || prop === "then" || typeof value !== "function") return value;
        // Called through the stub: an RPC method's own `apply` would be taken for a remote method.
        return (...args: unknown[]) => log.track(`${name}.${prop}`, () => (target as Record<string, (...a: unknown[]) => unknown>)[prop](...args));
      },
    });
  return new Proxy(ns, {
    get(target, prop) {
      const value = Reflect.get(target, prop);
      if (prop === "get" || prop === "getByName") return (...args: unknown[]) => stubOf((target as unknown as Record<string, (...a: unknown[]) => object>)[prop](...args));
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** A queue producer whose send/sendBatch calls each count as one trip. */
export function countedQueue<T extends Queue<any>>(log: TripLog, queue: T, name: string): T {
  return new Proxy(queue, {
    get(target, prop) {
      const value = Reflect.get(target, prop);
      if (prop === "send" || prop === "sendBatch") return (...args: unknown[]) => log.track(`${name}.${prop}`, () => (value as (...a: unknown[]) => unknown).apply(target, args));
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
