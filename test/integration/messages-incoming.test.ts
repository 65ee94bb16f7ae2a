import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, createAccount } from "../helpers/api";
import { createPhone, linkedSession } from "../helpers/sessions";

// Contacts' messages, sent by sandbox phones over the real protocol, are stored as incoming
// and their media can be downloaded through the API.

async function incoming(key: string, sessionId: string, count: number) {
  let rows: any[] = [];
  await expect
    .poll(
      async () => {
        rows = (await call("GET", `/v1/whatsapp/messages/${sessionId}/session?filter[direction]=incoming&limit=50`, { key })).json.data;
        return rows.length;
      },
      { timeout: 20_000, interval: 100 },
    )
    .toBeGreaterThanOrEqual(count);
  return rows;
}

describe("incoming messages", () => {
  it("stores a contact's image and serves its media bytes", async () => {
    const account = await createAccount();
    const { session } = await linkedSession(account.key);
    const contact = await createPhone(account.key, { name: "Eve" });
    const bytes = new Uint8Array(4096).map((_, i) => (i * 31) % 256);
    bytes.set([0xff, 0xd8, 0xff, 0xe0]);
    const base64 = btoa(String.fromCharCode(...bytes));

    const sent = await call("POST", `/v1/sandbox/phones/${contact.phone_number}/messages`, {
      key: account.key,
      body: { to: session.phone_number, type: "image", base64, mimetype: "image/jpeg", caption: "Receipt photo" },
    });
    expect(sent.status, sent.text).toBe(201);

    const [row] = await incoming(account.key, session.id, 1);
    expect(row).toMatchObject({ direction: "incoming", type: "image", content: "Receipt photo", from_number: contact.phone_number, status: "delivered" });

    const res = await exports.default.fetch(
      new Request(`http://gateway.test/v1/whatsapp/messages/${row.id}/media`, { headers: { Authorization: `Bearer ${account.key}` } }),
    );
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toBe("image/jpeg");
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(bytes);

    // Another account cannot see it, nor its media.
    const other = await createAccount();
    expect((await call("GET", `/v1/whatsapp/messages/${row.id}`, { key: other.key })).status).toBe(404);
    expect((await call("GET", `/v1/whatsapp/messages/${row.id}/media`, { key: other.key })).status).toBe(404);
  });

  it("stores group messages with the group as chat and the author as sender", async () => {
    const account = await createAccount();
    const { session } = await linkedSession(account.key);
    const alice = await createPhone(account.key, { name: "Alice" });
    const bob = await createPhone(account.key, { name: "Bob" });
    const group = await call("POST", "/v1/sandbox/groups", {
      key: account.key,
      body: { owner: alice.phone_number, subject: "Team", members: [bob.phone_number, session.phone_number] },
    });
    expect(group.status, group.text).toBe(201);
    const jid = group.json.group.jid;
    const sent = await call("POST", `/v1/sandbox/groups/${jid}/messages`, { key: account.key, body: { from: bob.phone_number, type: "text", text: "Standup in 5" } });
    expect(sent.status, sent.text).toBe(201);

    const [row] = await incoming(account.key, session.id, 1);
    expect(row).toMatchObject({ type: "text", content: "Standup in 5", from_number: bob.phone_number });
    expect(row.payload).toMatchObject({ chat_id: jid, chat_type: "group" });
  });
});
