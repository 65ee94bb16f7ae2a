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

/** One schema step: SQL statements, or a function for what plain SQL cannot say (a column added only if missing). */
export type Migration = readonly string[] | ((sql: Sql) => void);

/** Where a schema keeps its version. The default is a one-row `schema_version` table. */
export interface VersionRow {
  read(sql: Sql): number;
  write(sql: Sql, version: number): void;
}

const SCHEMA_VERSION_TABLE: VersionRow = {
  read(sql) {
    sql.run("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
    return sql.one<{ version: number }>("SELECT version FROM schema_version")?.version ?? 0;
  },
  write(sql, version) {
    sql.run("DELETE FROM schema_version");
    sql.run("INSERT INTO schema_version (version) VALUES (?)", version);
  },
};

export interface MigrateOptions {
  version?: VersionRow;
  /** Runs the steps and the version write as one unit (a Durable Object's `storage.transactionSync`). */
  transaction?: <T>(fn: () => T) => T;
}

/**
 * Brings an object's SQLite to the newest schema: a version row records how many of the ordered
 * `migrations` ran, and only the later ones run. Call it once, before any other query (the
 * object's constructor). Steps must be idempotent (IF NOT EXISTS), since objects made before the
 * version row existed run them all. A version newer than this build knows is refused: its data
 * would be misread.
 */
export function migrate(db: SqlExec, migrations: readonly Migration[], options: MigrateOptions = {}): number {
  const sql = new Sql(db);
  const versionRow = options.version ?? SCHEMA_VERSION_TABLE;
  const run = () => {
    const current = versionRow.read(sql);
    if (current > migrations.length) throw new Error(`schema version ${current} is newer than supported ${migrations.length}`);
    for (let step = current; step < migrations.length; step++) {
      const migration = migrations[step];
      if (typeof migration === "function") migration(sql);
      else for (const statement of migration) sql.run(statement);
    }
    if (current < migrations.length) versionRow.write(sql, migrations.length);
    return migrations.length;
  };
  return options.transaction ? options.transaction(run) : run();
}

/** For a migration: add a column unless an older object already has it. */
export function addColumn(sql: Sql, table: string, column: string, type: string): void {
  const has = sql.all<{ name: string }>(`PRAGMA table_info(${table})`).some((c) => c.name === column);
  if (!has) sql.run(`ALTER TABLE ${table} ADD COLUMN ${column} ${type}`);
}
