import { beforeAll, describe, expect, it } from "vitest";
import { call, createAccount, type TestAccount } from "../helpers/api";
import { connectedSession } from "../helpers/messages";
import { createPhone } from "../helpers/sessions";

// Every chat route answers 404 to another account's key, by session row id or name, and changes
// nothing: the owner's chat list is as it was.

let owner: TestAccount;
let stranger: TestAccount;
let session: { id: string; session_id: string; phone_number: string };
let hana: string;

beforeAll(async () => {
  owner = await createAccount({ balance: 10_000, message_cost: 10, plan: "pro" });
  stranger = await createAccount({ balance: 10_000, message_cost: 10, plan: "pro" });
  session = await connectedSession(owner.key);
  hana = (await createPhone(owner.key, { name: "Hana" })).phone_number;
}, 60_000);

const routes: [string, string, unknown?][] = [
  ["GET", "chats"],
  ["GET", "chats/CHAT/messages"],
  ["DELETE", "chats/CHAT/messages"],
  ["POST", "chats/CHAT/archive"],
  ["DELETE", "chats/CHAT/archive"],
  ["POST", "chats/CHAT/pin"],
  ["DELETE", "chats/CHAT/pin"],
  ["POST", "chats/CHAT/mute", { until: "2099-01-01T00:00:00Z" }],
  ["DELETE", "chats/CHAT/mute"],
  ["POST", "chats/CHAT/read", { status: "read" }],
];

describe("chat routes and another account's session", () => {
  for (const [method, path, body] of routes) {
    it(`${method} …/${path} is 404`, async () => {
      for (const id of [session.id, session.session_id]) {
        const res = await call(method, `/v1/whatsapp/sessions/${id}/${path.replace("CHAT", hana)}`, { key: stranger.key, body });
        expect(res.status, res.text).toBe(404);
        expect(res.json.success).toBe(false);
      }
    });
  }

  it("left the owner's chats untouched", async () => {
    const res = await call("GET", `/v1/whatsapp/sessions/${session.id}/chats`, { key: owner.key });
    expect(res.status, res.text).toBe(200);
    expect(res.json.data).toEqual([]);
  });
});
