import { BufferJSON, initAuthCreds, proto, type SignalDataTypeMap } from "baileys";
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createSqliteAuthState } from "../../src/session/auth-state";
import { AUTH_SCHEMA_VERSION } from "../../src/session/session.schema";
import { migrateAuthSchema } from "../../src/session/session.schema";

// Real Durable Object storage (a SessionObject's SQLite), no mocks.
function inSession<R>(name: string, fn: (storage: DurableObjectStorage) => R | Promise<R>): Promise<R> {
  const stub = env.SESSION.get(env.SESSION.idFromName(name));
  return runInDurableObject(stub, (_instance, state) => fn(state.storage));
}

const bytes = (n: number, seed = 1) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff));

describe("SQLite auth state", () => {
  it("creates its schema idempotently with a version row", () =>
    inSession("schema", (storage) => {
      migrateAuthSchema(storage);
      migrateAuthSchema(storage);
      createSqliteAuthState(storage);
      const rows = storage.sql.exec("SELECT key, value FROM wa_auth_meta").toArray();
      expect(rows).toEqual([{ key: "schema_version", value: String(AUTH_SCHEMA_VERSION) }]);
      storage.sql.exec("UPDATE wa_auth_meta SET value = ? WHERE key = 'schema_version'", String(AUTH_SCHEMA_VERSION + 1));
      expect(() => migrateAuthSchema(storage)).toThrow(/newer than supported/);
      expect(() => createSqliteAuthState(storage)).toThrow(/newer than supported/);
    }));

  it("round-trips creds with Buffers intact", () =>
    inSession("creds", (storage) => {
      const auth = createSqliteAuthState(storage);
      expect(auth.hasSavedCreds()).toBe(false);
      const creds = auth.state.creds;
      creds.me = { id: "15550001111:3@s.whatsapp.net", lid: "123456:3@lid", name: "Gateway" };
      creds.routingInfo = bytes(12);
      auth.saveCreds();

      const reloaded = createSqliteAuthState(storage).state.creds;
      expect(reloaded.me).toEqual(creds.me);
      for (const [a, b] of [
        [reloaded.noiseKey.private, creds.noiseKey.private],
        [reloaded.noiseKey.public, creds.noiseKey.public],
        [reloaded.signedIdentityKey.private, creds.signedIdentityKey.private],
        [reloaded.signedPreKey.signature, creds.signedPreKey.signature],
        [reloaded.routingInfo!, creds.routingInfo],
      ] as const) {
        expect(Buffer.isBuffer(a)).toBe(true);
        expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
      }
      expect(reloaded.registrationId).toBe(creds.registrationId);
      expect(reloaded.advSecretKey).toBe(creds.advSecretKey);
    }));

  it("round-trips every Signal key type", () =>
    inSession("keys", async (storage) => {
      const { state } = createSqliteAuthState(storage);
      const values: { [T in keyof SignalDataTypeMap]: SignalDataTypeMap[T] } = {
        "pre-key": { public: bytes(32, 1), private: bytes(32, 2) },
        session: new Uint8Array(bytes(200, 3)),
        "sender-key": new Uint8Array(bytes(90, 4)),
        "sender-key-memory": { "1555@s.whatsapp.net": true },
        "app-state-sync-key": proto.Message.AppStateSyncKeyData.fromObject({
          keyData: bytes(32, 5),
          timestamp: 1_700_000_000,
        }),
        "app-state-sync-version": { version: 7, hash: bytes(128, 6), indexValueMap: { abc: { valueMac: bytes(32, 7) } } },
        "lid-mapping": "123456@lid",
        "device-list": ["0", "3"],
        tctoken: { token: bytes(20, 8), timestamp: "1700000000" },
        "identity-key": new Uint8Array(bytes(33, 9)),
      };
      await state.keys.set(Object.fromEntries(Object.entries(values).map(([type, v]) => [type, { k1: v }])));

      const fresh = createSqliteAuthState(storage).state;
      for (const type of Object.keys(values) as (keyof SignalDataTypeMap)[]) {
        const got = (await fresh.keys.get(type, ["k1", "missing"])) as Record<string, unknown>;
        expect(Object.keys(got), type).toEqual(["k1"]);
        // Same bytes and fields; Uint8Array and Buffer both normalise to BufferJSON's form.
        const normal = (v: unknown) => JSON.parse(JSON.stringify(v, BufferJSON.replacer));
        expect(normal(got.k1), type).toEqual(normal(values[type]));
      }
      const preKey = (await fresh.keys.get("pre-key", ["k1"])).k1;
      expect(Buffer.isBuffer(preKey.private)).toBe(true);
      expect(Buffer.isBuffer((await fresh.keys.get("session", ["k1"])).k1)).toBe(true);
      const syncKey = (await fresh.keys.get("app-state-sync-key", ["k1"])).k1;
      expect(syncKey).toBeInstanceOf(proto.Message.AppStateSyncKeyData);
      expect(Buffer.isBuffer(syncKey.keyData)).toBe(true);
      const version = (await fresh.keys.get("app-state-sync-version", ["k1"])).k1;
      expect(Buffer.isBuffer(version.indexValueMap.abc.valueMac)).toBe(true);
    }));

  it("deletes keys set to null and reads many ids at once", () =>
    inSession("bulk", async (storage) => {
      const { state } = createSqliteAuthState(storage);
      const many = Object.fromEntries(
        Array.from({ length: 812 }, (_, i) => [String(i + 1), { public: bytes(32, i), private: bytes(32, i + 1) }]),
      );
      await state.keys.set({ "pre-key": many });
      const ids = Object.keys(many);
      expect(Object.keys(await state.keys.get("pre-key", ids))).toHaveLength(812);

      await state.keys.set({ "pre-key": { "1": null, "2": null } });
      const got = await state.keys.get("pre-key", ["1", "2", "3"]);
      expect(Object.keys(got)).toEqual(["3"]);
      expect(Buffer.from(got["3"].public).equals(bytes(32, 2))).toBe(true);
    }));

  it("writes a key set all or nothing", () =>
    inSession("atomic", async (storage) => {
      const { state } = createSqliteAuthState(storage);
      await state.keys.set({ session: { a: bytes(8, 1) } });
      // The third value cannot be serialised: nothing of this call may land, even rows written before it.
      const bad = { session: { a: bytes(8, 2), b: bytes(8, 3), c: { n: 1n } as unknown as Uint8Array, d: bytes(8, 4) } };
      await expect(async () => state.keys.set(bad)).rejects.toThrow(/BigInt/);
      const got = await state.keys.get("session", ["a", "b", "c", "d"]);
      expect(Object.keys(got)).toEqual(["a"]);
      expect(Buffer.from(got.a).equals(bytes(8, 1))).toBe(true);
    }));

  it("wipes creds and keys for logout", () =>
    inSession("wipe", async (storage) => {
      const auth = createSqliteAuthState(storage);
      const oldNoise = Buffer.from(auth.state.creds.noiseKey.public);
      auth.saveCreds();
      await auth.state.keys.set({ "pre-key": { "1": { public: bytes(32), private: bytes(32) } } });
      auth.wipe();
      expect(auth.hasSavedCreds()).toBe(false);
      expect(Buffer.from(auth.state.creds.noiseKey.public).equals(oldNoise)).toBe(false);
      expect(await auth.state.keys.get("pre-key", ["1"])).toEqual({});
      expect(createSqliteAuthState(storage).hasSavedCreds()).toBe(false);
      expect(initAuthCreds().registered).toBe(false);
    }));
});
