import { beforeAll, describe, expect, it } from "vitest";
import { call, createAccount, type TestAccount } from "../helpers/api";
import { poll } from "../helpers/sandbox-client";
import { createPhone, linkedSession, waitForSession } from "../helpers/sessions";

// A session logged out and linked again, to another phone, is another WhatsApp account: the
// contacts its first account's people left are gone, the new account's arrive.

let account: TestAccount;

beforeAll(async () => {
  account = await createAccount({ plan: "pro" });
});

const numbersOf = async (sessionId: string) =>
  ((await call("GET", `/v1/whatsapp/sessions/${sessionId}/contacts`, { key: account.key })).json.contacts as { phone_number: string | null }[]).map((c) => c.phone_number);
const write = async (from: string, to: string) => {
  const sent = await call("POST", `/v1/sandbox/phones/${from}/messages`, { key: account.key, body: { to, type: "text", text: "hello" } });
  expect(sent.status, sent.text).toBe(201);
};

describe("linking a session again", () => {
  it("forgets the previous account's contacts and learns the new account's", async () => {
    const { session, phone: first } = await linkedSession(account.key);
    const oldFriend = await createPhone(account.key, { name: "Old Friend" });
    await write(oldFriend.phone_number, first.phone_number);
    await expect.poll(() => numbersOf(session.id), poll).toContain(oldFriend.phone_number);

    const out = await call("POST", `/v1/whatsapp/sessions/${session.id}/logout`, { key: account.key });
    expect(out.status, out.text).toBe(200);
    const again = await call("PATCH", `/v1/whatsapp/sessions/${session.id}/reconnect`, { key: account.key });
    expect(again.status, again.text).toBe(200);
    const second = await createPhone(account.key, { name: "Second" });
    const scan = await call("POST", `/v1/sandbox/sessions/${session.id}/scan`, { key: account.key, body: { phone_number: second.phone_number } });
    expect(scan.status, scan.text).toBe(200);
    await waitForSession(account.key, session.id, (s) => s.status === "connected" && s.phone_number === second.phone_number);

    // A later positive marker: the new account's contact is listed; the old one's is not.
    const newFriend = await createPhone(account.key, { name: "New Friend" });
    await write(newFriend.phone_number, second.phone_number);
    await expect.poll(() => numbersOf(session.id), poll).toContain(newFriend.phone_number);
    expect(await numbersOf(session.id)).not.toContain(oldFriend.phone_number);
  });
});
