import { beforeAll, describe, expect, it } from "vitest";
import { call, createAccount, type TestAccount } from "../helpers/api";
import { connectedSession } from "../helpers/messages";
import { createPhone } from "../helpers/sessions";

// The group API read side, its validation and its refusals, through the Worker with a real
// session whose Baileys client asks the sandbox (w:g2 participating / query).

let account: TestAccount;
let other: TestAccount;
let session: { id: string; session_id: string; phone_number: string };
let hana: string;
let ivo: string;
let group: { jid: string };

beforeAll(async () => {
  account = await createAccount({ plan: "pro" });
  other = await createAccount({ plan: "pro" });
  session = await connectedSession(account.key);
  hana = (await createPhone(account.key, { name: "Hana" })).phone_number;
  ivo = (await createPhone(account.key, { name: "Ivo" })).phone_number;
  const created = await call("POST", "/v1/sandbox/groups", { key: account.key, body: { owner: hana, subject: "Team", members: [session.phone_number, ivo] } });
  if (created.status !== 201) throw new Error(`group: ${created.status} ${created.text}`);
  group = created.json.group;
}, 60_000);

const groupsOf = (sessionId: string) => `/v1/whatsapp/sessions/${sessionId}/groups`;
const groupPath = (g = group.jid) => `${groupsOf(session.id)}/${encodeURIComponent(g)}`;

describe("reading groups", () => {
  it("lists the session's groups with its role", async () => {
    const res = await call("GET", groupsOf(session.id), { key: account.key });
    expect(res.status, res.text).toBe(200);
    expect(res.json.groups).toEqual([
      {
        id: group.jid,
        name: "Team",
        description: null,
        owner: hana,
        owner_lid: expect.stringMatching(/^\d+@lid$/),
        created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        size: 3,
        announce: false,
        locked: false,
        join_approval: false,
        role: "member",
      },
    ]);
    // The session_id string names the session too.
    const bySessionId = await call("GET", groupsOf(session.session_id), { key: account.key });
    expect(bySessionId.json.groups.map((g: any) => g.id)).toEqual([group.jid]);
  });

  it("answers one group with its participants (number, LID, role)", async () => {
    const res = await call("GET", groupPath(), { key: account.key });
    expect(res.status, res.text).toBe(200);
    expect(res.json.group).toMatchObject({ id: group.jid, name: "Team", owner: hana, size: 3, role: "member" });
    expect(res.json.group.participants).toEqual([
      { phone_number: hana, lid: expect.stringMatching(/^\d+@lid$/), role: "superadmin" },
      { phone_number: session.phone_number, lid: expect.stringMatching(/^\d+@lid$/), role: "member" },
      { phone_number: ivo, lid: expect.stringMatching(/^\d+@lid$/), role: "member" },
    ]);
  });

  it("answers 404 group_not_found for a group that does not exist, or one the session is not in", async () => {
    const unknown = await call("GET", groupPath("120363000000000000@g.us"), { key: account.key });
    expect(unknown.status, unknown.text).toBe(404);
    expect(unknown.json.error.code).toBe("group_not_found");

    const elsewhere = await call("POST", "/v1/sandbox/groups", { key: account.key, body: { owner: hana, subject: "Private", members: [ivo] } });
    expect(elsewhere.status, elsewhere.text).toBe(201);
    const res = await call("GET", groupPath(elsewhere.json.group.jid), { key: account.key });
    expect(res.status, res.text).toBe(404);
    expect(res.json.error.code).toBe("group_not_found");
  });
});

describe("validation", () => {
  it("refuses a group id that is not WhatsApp's form, before asking the session", async () => {
    for (const bad of ["__proto__", "constructor", "12345", "120363000000000000@s.whatsapp.net", "abc@g.us", "1-2-3@g.us"]) {
      const res = await call("GET", groupPath(bad), { key: account.key });
      expect(res.status, `${bad}: ${res.text}`).toBe(422);
      expect(res.json.error.details).toEqual([expect.objectContaining({ field: "group_id", in: "path" })]);
    }
  });

  it("refuses empty or invalid participants and a prototype key in the body", async () => {
    const add = `${groupPath()}/participants/add`;
    const empty = await call("POST", add, { key: account.key, body: { participants: [] } });
    expect(empty.status, empty.text).toBe(422);
    expect(empty.json.error.details).toEqual([expect.objectContaining({ field: "participants", in: "body" })]);

    const invalid = await call("POST", add, { key: account.key, body: { participants: ["+14155552671", "not a number"] } });
    expect(invalid.status, invalid.text).toBe(422);
    expect(invalid.json.error.details).toEqual([expect.objectContaining({ field: "participants.1", in: "body" })]);

    // remove/promote/demote take a LID too, but only in WhatsApp's form; add takes numbers only.
    const badLid = await call("POST", `${groupPath()}/participants/remove`, { key: account.key, body: { participants: ["12ab@lid"] } });
    expect(badLid.status, badLid.text).toBe(422);
    expect(badLid.json.error.details).toEqual([expect.objectContaining({ field: "participants.0", in: "body" })]);
    const addLid = await call("POST", add, { key: account.key, body: { participants: ["123456789012345@lid"] } });
    expect(addLid.status, addLid.text).toBe(422);

    const proto = await call("POST", add, { key: account.key, rawBody: `{"participants":["+14155552671"],"__proto__":{"x":1}}`, headers: { "Content-Type": "application/json" } });
    expect(proto.status, proto.text).toBe(422);
    expect(proto.json.error.details).toEqual([expect.objectContaining({ code: "forbidden_key" })]);

    const create = await call("POST", groupsOf(session.id), { key: account.key, body: { name: " ", participants: [ivo] } });
    expect(create.status, create.text).toBe(422);
    expect(create.json.error.details).toEqual([expect.objectContaining({ field: "name" })]);

    const patch = await call("PATCH", groupPath(), { key: account.key, body: {} });
    expect(patch.status, patch.text).toBe(422);

    const link = await call("GET", `${groupsOf(session.id)}/invite-info?link=${encodeURIComponent("https://example.com/x")}`, { key: account.key });
    expect(link.status, link.text).toBe(422);
    expect(link.json.error.details).toEqual([expect.objectContaining({ field: "link", in: "query" })]);
  });
});

describe("refusals", () => {
  it("answers 403 not_group_admin when a member who is not an admin changes settings", async () => {
    const res = await call("PATCH", groupPath(), { key: account.key, body: { announce: true } });
    expect(res.status, res.text).toBe(403);
    expect(res.json.error.code).toBe("not_group_admin");
    // Nothing changed.
    expect((await call("GET", groupPath(), { key: account.key })).json.group.announce).toBe(false);
  });

  it("answers 409 session_not_connected for a session that is not linked, on reads and on changes", async () => {
    const pending = await call("POST", "/v1/whatsapp/sessions", { key: account.key, body: { sandbox: true } });
    expect(pending.status, pending.text).toBe(201);
    const at = `${groupsOf(pending.json.session.id)}/${encodeURIComponent(group.jid)}`;
    const routes: [string, string, unknown?][] = [
      ["GET", groupsOf(pending.json.session.id)],
      ["GET", at],
      ["POST", `${at}/participants/remove`, { participants: [ivo] }],
    ];
    for (const [method, path, body] of routes) {
      const res = await call(method, path, { key: account.key, body });
      expect(res.status, `${method} ${path}: ${res.text}`).toBe(409);
      expect(res.json.error.code).toBe("session_not_connected");
    }
  });

  it("answers 404 to another account's key on every group route", async () => {
    const g = groupPath();
    const body = { participants: [ivo] };
    const routes: [string, string, unknown?][] = [
      ["GET", groupsOf(session.id)],
      ["POST", groupsOf(session.id), { name: "Mine now", participants: [ivo] }],
      ["GET", `${groupsOf(session.id)}/invite-info?link=https%3A%2F%2Fchat.whatsapp.com%2FAbCdEfGhIjKlMnOpQrStUv`],
      ["POST", `${groupsOf(session.id)}/join`, { link: "https://chat.whatsapp.com/AbCdEfGhIjKlMnOpQrStUv" }],
      ["GET", g],
      ["PATCH", g, { name: "Taken" }],
      ["DELETE", g],
      ...["add", "remove", "promote", "demote"].map((a): [string, string, unknown] => ["POST", `${g}/participants/${a}`, body]),
      ["GET", `${g}/invite-link`],
      ["GET", `${g}/invite-link?reset=true`],
      ["POST", `${g}/invite-link/reset`],
      ["GET", `${g}/requests`],
      ["POST", `${g}/requests/approve`, body],
      ["POST", `${g}/requests/reject`, body],
      ["POST", `${g}/leave`],
    ];
    for (const [method, path, json] of routes) {
      const res = await call(method, path, { key: other.key, body: json });
      expect(res.status, `${method} ${path}: ${res.text}`).toBe(404);
      expect(res.json.error.code, `${method} ${path}`).toBe("not_found");
    }
    // The group is untouched and the session still in it.
    const after = await call("GET", g, { key: account.key });
    expect(after.json.group).toMatchObject({ name: "Team", size: 3, role: "member" });
  });
});

describe("OpenAPI", () => {
  it("documents every group route under the Groups tag, with examples and the delete caveat", async () => {
    const doc = (await call("GET", "/openapi.json")).json;
    const base = "/v1/whatsapp/sessions/{id}/groups";
    const routes: [string, string][] = [
      [base, "get"], [base, "post"], [`${base}/invite-info`, "get"], [`${base}/join`, "post"],
      [`${base}/{group_id}`, "get"], [`${base}/{group_id}`, "patch"], [`${base}/{group_id}`, "delete"],
      ...["add", "remove", "promote", "demote"].map((a): [string, string] => [`${base}/{group_id}/participants/${a}`, "post"]),
      [`${base}/{group_id}/invite-link`, "get"], [`${base}/{group_id}/invite-link/reset`, "post"], [`${base}/{group_id}/requests`, "get"],
      [`${base}/{group_id}/requests/approve`, "post"], [`${base}/{group_id}/requests/reject`, "post"], [`${base}/{group_id}/leave`, "post"],
    ];
    for (const [path, method] of routes) {
      const op = doc.paths[path]?.[method];
      expect(op, `${method} ${path}`).toBeDefined();
      expect(op.tags).toEqual(["Groups"]);
      expect(op.summary).toBeTruthy();
    }
    expect(doc.paths[`${base}/{group_id}`].delete.description).toMatch(/no true group deletion/);
    const create = doc.paths[base].post.requestBody.content["application/json"].schema;
    expect(create.example ?? doc.components.schemas[create.$ref?.split("/").pop()]?.example).toMatchObject({ name: "Support team" });
    expect(doc.paths[`${base}/{group_id}`].get.responses["404"]).toBeDefined();
    expect(doc.paths[`${base}/{group_id}`].patch.responses["403"]).toBeDefined();
  });
});
