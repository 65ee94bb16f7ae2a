import { describe, expect, it } from "vitest";
import { call, createAccount } from "../helpers/api";
import { createSandboxSession } from "../helpers/sessions";
import { bytes, sha256Hex } from "../helpers/sandbox-client";

// The sandbox driver over HTTP: every JSON answer goes through `call`, which checks it against the
// route's declared response schema (no field missing, none undeclared), so the schemas in
// src/sandbox/driver.responses.ts describe exactly what the driver answers.

describe("sandbox driver routes", () => {
  it("answer phones, sends, inboxes, receipts, groups and faults in their declared shapes", async () => {
    const account = await createAccount({ plan: "pro" });
    const key = account.key;
    const ana = await call("POST", "/v1/sandbox/phones", { key, body: { phone_number: "+15554440001", name: "Ana", receipt_policy: { delivered: "manual" } } });
    expect(ana.status, ana.text).toBe(201);
    expect(ana.json.phone).toMatchObject({ phone_number: "15554440001", name: "Ana", banned: false, linked_devices: [], receipt_policy: { delivered: "manual", read: "manual" } });
    const ben = await call("POST", "/v1/sandbox/phones", { key, body: { phone_number: "15554440002", name: "Ben" } });
    const bare = await call("POST", "/v1/sandbox/phones", { key });
    expect([ben.status, bare.status]).toEqual([201, 201]);
    const listed = await call("GET", "/v1/sandbox/phones", { key });
    expect(listed.json.phones.map((p: { phone_number: string }) => p.phone_number)).toEqual(
      expect.arrayContaining(["15554440001", "15554440002", bare.json.phone.phone_number]),
    );

    // Text, media and location from one phone to another (no linked device: delivered to none).
    const text = await call("POST", "/v1/sandbox/phones/15554440001/messages", { key, body: { to: "15554440002", type: "text", text: "hi ben", mentions: ["15554440002"] } });
    expect(text.status, text.text).toBe(201);
    expect(text.json.message).toMatchObject({ from: "15554440001", to: "15554440002", type: "text", delivered_to_devices: 0, media_sha256: null, file_length: null });
    const file = bytes(2_000, 3);
    const doc = await call("POST", "/v1/sandbox/phones/15554440001/messages", {
      key,
      body: { to: "+15554440002", type: "document", base64: Buffer.from(file).toString("base64"), mimetype: "application/pdf", filename: "a.pdf" },
    });
    expect(doc.status, doc.text).toBe(201);
    expect(doc.json.message).toMatchObject({ type: "document", media_sha256: await sha256Hex(file), file_length: file.length });
    const where = await call("POST", "/v1/sandbox/phones/15554440001/messages", { key, body: { to: "15554440002", type: "location", latitude: 52.5, longitude: 13.4, name: "Berlin" } });
    expect(where.status, where.text).toBe(201);

    const inbox = await call("GET", "/v1/sandbox/phones/+15554440002/inbox", { key });
    expect(inbox.status, inbox.text).toBe(200);
    expect(inbox.json.messages.map((m: { type: string }) => m.type)).toEqual(["text", "document", "location"]);
    expect(inbox.json.messages[1]).toMatchObject({ direction: "in", file_name: "a.pdf", media_status: "ok", file_length: file.length });
    expect(inbox.json.messages[2].location).toEqual({ latitude: 52.5, longitude: 13.4, name: "Berlin", address: null });

    const receipts = await call("POST", "/v1/sandbox/phones/15554440002/receipts", { key, body: { ids: [text.json.message.id], type: "read" } });
    expect(receipts.status, receipts.text).toBe(200);
    // From a phone, not a linked device: nobody to tell.
    expect(receipts.json.result).toEqual({ phone_number: "15554440002", type: "read", receipts: [{ id: text.json.message.id, sent: false }] });

    const policy = await call("PUT", "/v1/sandbox/phones/15554440002/receipt-policy", { key, body: { read: "auto", read_delay_ms: 10 } });
    expect(policy.status, policy.text).toBe(200);
    expect(policy.json.phone.receipt_policy).toEqual({ delivered: "auto", read: "auto", delivered_delay_ms: 100, read_delay_ms: 10 });

    const group = await call("POST", "/v1/sandbox/groups", { key, body: { owner: "15554440001", subject: "Crew", members: ["15554440002"] } });
    expect(group.status, group.text).toBe(201);
    expect(group.json.group.participants.map((p: { admin: string | null }) => p.admin)).toEqual(["superadmin", null]);
    const toGroup = await call("POST", `/v1/sandbox/groups/${group.json.group.jid}/messages`, { key, body: { from: "15554440002", type: "text", text: "hello crew" } });
    expect(toGroup.status, toGroup.text).toBe(201);
    expect(toGroup.json.message).toMatchObject({ from: "15554440002", to: group.json.group.jid, type: "text" });

    const { session } = await createSandboxSession(key);
    const fault = await call("POST", `/v1/sandbox/sessions/${session.id}/faults`, { key, body: { kind: "normal_acks" } });
    expect(fault.status, fault.text).toBe(200);
    expect(fault.json.result).toEqual({ session_id: session.id, kind: "normal_acks", applied: true });
  });

  it("validates driver input with the stricter of the old limits", async () => {
    const account = await createAccount({ plan: "pro" });
    const key = account.key;
    const long = await call("POST", "/v1/sandbox/phones", { key, body: { name: "x".repeat(65) } });
    expect(long.status).toBe(422);
    expect(long.json.error.details[0]).toMatchObject({ field: "name", in: "body" });
    const short = await call("POST", "/v1/sandbox/phones", { key, body: { phone_number: "123456" } });
    expect(short.status).toBe(422);
    expect(short.json.error.details[0]).toMatchObject({ field: "phone_number", in: "body" });
    const slow = await call("POST", "/v1/sandbox/phones", { key, body: { receipt_policy: { delivered_delay_ms: 600_001 } } });
    expect(slow.status).toBe(422);
    expect(slow.json.error.details[0]).toMatchObject({ field: "receipt_policy.delivered_delay_ms" });
  });
});
