import { Buffer } from "node:buffer";
import { proto } from "baileys";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { call, createAccount } from "../helpers/api";
import { connectedSession } from "../helpers/messages";
import { poll, sandboxOf } from "../helpers/sandbox-client";
import { createPhone } from "../helpers/sessions";

// The phone's view of app state checks each patch's MACs before it folds a mutation: a patch whose
// MAC does not match its content is named in `problems` and left out of the view.

describe("the phone's app-state view", () => {
  it("leaves out a patch whose MAC does not verify", async () => {
    const account = await createAccount({ balance: 10_000, message_cost: 10, plan: "pro" });
    const session = await connectedSession(account.key);
    const hana = (await createPhone(account.key, { name: "Hana" })).phone_number;
    const view = async () => (await call("GET", `/v1/sandbox/phones/${session.phone_number}/app-state`, { key: account.key })).json.app_state;

    const res = await call("POST", `/v1/whatsapp/sessions/${session.id}/chats/${hana}/archive`, { key: account.key });
    expect(res.status, res.text).toBe(200);
    await expect.poll(async () => (await view()).chats.find((c: any) => c.chat === `${hana}@s.whatsapp.net`)?.archived, poll).toBe(true);
    expect((await view()).problems).toEqual([]);

    // One byte of the stored patch's MAC changed, as a tampering server would.
    await runInDurableObject(sandboxOf(account.id), (_i, state) => {
      const row = state.storage.sql.exec<{ patch: ArrayBuffer }>("SELECT patch FROM app_state_patches WHERE phone = ? AND collection = 'regular_low' AND version = 1", session.phone_number).one();
      const patch = proto.SyncdPatch.decode(new Uint8Array(row.patch));
      const mac = Buffer.from(patch.patchMac!);
      mac[0] ^= 0xff;
      patch.patchMac = mac;
      state.storage.sql.exec("UPDATE app_state_patches SET patch = ? WHERE phone = ? AND collection = 'regular_low' AND version = 1", proto.SyncdPatch.encode(patch).finish(), session.phone_number);
    });
    const after = await view();
    expect(after.problems.length).toBeGreaterThan(0);
    expect(after.problems[0]).toContain("regular_low");
    expect(after.chats.find((c: any) => c.chat === `${hana}@s.whatsapp.net`)?.archived ?? false).toBe(false);
  });
});
