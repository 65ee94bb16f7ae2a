import { Buffer } from "node:buffer";

/** The part of `ctx.storage.sql` the sandbox uses, so the same store runs on another SQLite in tests. */
export interface SqlExec {
  exec(query: string, ...bindings: unknown[]): { toArray(): Record<string, unknown>[] };
}

export type Row = Record<string, unknown>;

/** Thin helper: blobs go in as ArrayBuffer (what DO SQLite wants) and come out as Buffer (what libsignal wants). */
export class Sql {
  constructor(private readonly db: SqlExec) {}

  all<T = Row>(query: string, ...bindings: unknown[]): T[] {
    return this.db.exec(query, ...bindings.map(toSql)).toArray().map(fromSql) as T[];
  }

  one<T = Row>(query: string, ...bindings: unknown[]): T | undefined {
    return this.all<T>(query, ...bindings)[0];
  }

  run(query: string, ...bindings: unknown[]): void {
    this.db.exec(query, ...bindings.map(toSql)).toArray();
  }
}

function toSql(v: unknown): unknown {
  if (v instanceof Uint8Array) return v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength);
  if (typeof v === "boolean") return v ? 1 : 0;
  return v === undefined ? null : v;
}

function fromSql(row: Row): Row {
  const out: Row = {};
  for (const [k, v] of Object.entries(row)) {
    out[k] = v instanceof ArrayBuffer ? Buffer.from(v) : v instanceof Uint8Array ? Buffer.from(v) : v;
  }
  return out;
}
