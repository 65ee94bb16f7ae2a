import { drizzle } from "drizzle-orm/d1";
import * as schema from "./schema";

export type Db = ReturnType<typeof build>;

const build = (db: D1Database) => drizzle(db, { schema });

// One drizzle instance per binding: building one walks the whole schema, and the hot paths
// asked for a new one on every call.
const instances = new WeakMap<D1Database, Db>();

export function database(env: Pick<Env, "DB">): Db {
  let db = instances.get(env.DB);
  if (!db) {
    db = build(env.DB);
    instances.set(env.DB, db);
  }
  return db;
}
