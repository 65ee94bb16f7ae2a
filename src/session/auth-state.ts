import {
  BufferJSON,
  initAuthCreds,
  proto,
  type AuthenticationCreds,
  type AuthenticationState,
  type SignalDataSet,
  type SignalDataTypeMap,
} from "baileys";
import { migrateAuthSchema } from "./session.schema";


// Baileys' auth state (creds + Signal keys) in the Durable Object's own SQLite.
// Values are JSON with BufferJSON: storage hands back plain Uint8Array, while libsignal checks
// `instanceof Buffer`, so Buffers must be revived as Buffers.

/** Bound parameters per statement stay under SQLite's limit in Durable Objects. */
const IDS_PER_QUERY = 90;

export interface SqliteAuthState {
  /** Give to makeWASocket as `auth`. `creds` is mutated by Baileys; call saveCreds on creds.update. */
  readonly state: AuthenticationState;
  saveCreds(): void;
  /** Whether creds were ever saved (a pairing may still be incomplete: see creds.registered). */
  hasSavedCreds(): boolean;
  /** Deletes creds, every key and the sent messages kept for resends (logout); state.creds becomes fresh, unpaired creds. */
  wipe(): void;
}

export function serialize(value: unknown): string {
  return JSON.stringify(value, BufferJSON.replacer);
}

export function deserialize<T>(text: string): T {
  return JSON.parse(text, BufferJSON.reviver) as T;
}

/** Opens the auth state on a session object's storage; its tables come from the session schema. */
export function createSqliteAuthState(storage: DurableObjectStorage): SqliteAuthState {
  migrateAuthSchema(storage);
  const { sql } = storage;

  const loadCreds = (): AuthenticationCreds | undefined => {
    const row = sql.exec<{ value: string }>("SELECT value FROM wa_auth_creds WHERE id = 1").toArray()[0];
    return row ? deserialize<AuthenticationCreds>(row.value) : undefined;
  };

  const state: AuthenticationState = {
    creds: loadCreds() ?? initAuthCreds(),
    keys: {
      get<T extends keyof SignalDataTypeMap>(type: T, ids: string[]) {
        const out: { [id: string]: SignalDataTypeMap[T] } = {};
        for (let i = 0; i < ids.length; i += IDS_PER_QUERY) {
          const chunk = ids.slice(i, i + IDS_PER_QUERY);
          const rows = sql
            .exec<{ id: string; value: string }>(
              `SELECT id, value FROM wa_auth_keys WHERE type = ? AND id IN (${chunk.map(() => "?").join(",")})`,
              type,
              ...chunk,
            )
            .toArray();
          for (const row of rows) {
            let value: unknown = deserialize(row.value);
            // As Baileys' own stores do: this type is used as a protobuf message.
            if (type === "app-state-sync-key") value = proto.Message.AppStateSyncKeyData.fromObject(value as object);
            out[row.id] = value as SignalDataTypeMap[T];
          }
        }
        return out;
      },
      set(data: SignalDataSet) {
        // One transaction: a crash or a bad value never leaves half a key set written.
        storage.transactionSync(() => {
          for (const [type, entries] of Object.entries(data)) {
            for (const [id, value] of Object.entries(entries ?? {})) {
              if (value === null || value === undefined) {
                sql.exec("DELETE FROM wa_auth_keys WHERE type = ? AND id = ?", type, id);
              } else {
                sql.exec(
                  "INSERT INTO wa_auth_keys (type, id, value) VALUES (?, ?, ?) ON CONFLICT (type, id) DO UPDATE SET value = excluded.value",
                  type,
                  id,
                  serialize(value),
                );
              }
            }
          }
        });
      },
      clear() {
        sql.exec("DELETE FROM wa_auth_keys");
      },
    },
  };

  return {
    state,
    saveCreds() {
      sql.exec(
        "INSERT INTO wa_auth_creds (id, value) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET value = excluded.value",
        serialize(state.creds),
      );
    },
    hasSavedCreds() {
      return sql.exec("SELECT 1 FROM wa_auth_creds WHERE id = 1").toArray().length > 0;
    },
    wipe() {
      storage.transactionSync(() => {
        sql.exec("DELETE FROM wa_auth_keys");
        sql.exec("DELETE FROM wa_auth_creds");
        // What this link sent goes with its keys: no new link may resend it (sent-store.ts).
        // The table is the session schema's (always there in a session object).
        if (sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sent_messages'").toArray().length > 0) {
          sql.exec("DELETE FROM sent_messages");
        }
      });
      state.creds = initAuthCreds();
    },
  };
}
