import { DisconnectReason, generateMessageIDV2 } from "baileys";
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { linkByQr, poll, sandboxOf, startClient, statusOf, upserts } from "../helpers/sandbox-client";

// The real, unmodified Baileys client, running inside a SessionObject (workerd, the ws shim,
// SQLite auth state), talks the WhatsApp protocol to the account's SandboxObject. Nothing mocked.

describe("sandbox WhatsApp with the real Baileys client in workerd", () => {
  it("pairs by QR (515 restart, login, open), then sends, gets receipts and receives", () => {
    const accountId = "acct-qr";
    const sessionId = "sess-qr";
    return runInDurableObject(env.SESSION.get(env.SESSION.idFromName(sessionId)), async (_i, state) => {
      const sandbox = sandboxOf(accountId);
      const alice = await sandbox.createPhone({ phone_number: "15550001111", name: "Alice Account" });
      const carol = await sandbox.createPhone({ phone_number: "15550002222", name: "Carol Contact" });
      const client = await linkByQr(state.storage, accountId, sessionId, alice.phone_number);

      expect(client.qrs[0]).toMatch(/^https:\/\/wa\.me\/settings\/linked_devices#2@/);
      expect(client.closes).toEqual([DisconnectReason.restartRequired]);
      const creds = client.host.auth.state.creds;
      expect(creds.me?.id).toBe("15550001111:1@s.whatsapp.net");
      expect(creds.me?.lid).toMatch(/^\d{15}:1@lid$/);
      // The phone's history sync carries its push name: Baileys learns the display name.
      await expect.poll(() => client.host.auth.state.creds.me?.name, poll).toBe("Alice Account");
      expect((await sandbox.getPhone(alice.phone_number)).linked_devices).toMatchObject([{ device: 1, session_id: sessionId, status: "active", connected: true }]);

      // Baileys → contact: decrypted by the contact's own Signal keys, exactly the text.
      const sent = await client.socket().sendMessage(`${carol.phone_number}@s.whatsapp.net`, { text: "hello carol ✓ ünïcode" });
      const id = sent!.key.id!;
      await expect.poll(async () => (await sandbox.inbox(carol.phone_number)).find((m) => m.id === id), poll).toMatchObject({
        direction: "in",
        from: alice.phone_number,
        to: carol.phone_number,
        type: "text",
        text: "hello carol ✓ ünïcode",
      });
      // The copy for the account's own phone arrives as a device-sent message.
      expect((await sandbox.inbox(alice.phone_number)).find((m) => m.id === id)).toMatchObject({ direction: "out", to: carol.phone_number, text: "hello carol ✓ ünïcode" });

      // Default policy: delivered automatically; read on command.
      await expect.poll(() => statusOf(client, id), poll).toContain(3);
      await sandbox.sendReceipts(carol.phone_number, [id], "read");
      await expect.poll(() => statusOf(client, id), poll).toContain(4);
      expect((await sandbox.inbox(carol.phone_number)).find((m) => m.id === id)?.read_at).toBeTruthy();

      // Contact → Baileys: first a pkmsg, then a msg on the same session.
      const first = await sandbox.sendMessage(carol.phone_number, { to: alice.phone_number, type: "text", text: "hi alice" });
      const second = await sandbox.sendMessage(carol.phone_number, { to: alice.phone_number, type: "text", text: "second one" });
      await expect.poll(() => upserts(client).find((m) => m.key.id === second.id)?.message?.conversation, poll).toBe("second one");
      const got = upserts(client).find((m) => m.key.id === first.id)!;
      expect(got.message?.conversation).toBe("hi alice");
      expect(got.key.fromMe).toBe(false);
      expect(got.key.remoteJid).toBe("15550002222@s.whatsapp.net");
      expect(got.pushName).toBe("Carol Contact");
      // Baileys' delivery receipt reaches the contact.
      await expect.poll(async () => (await sandbox.inbox(carol.phone_number)).find((m) => m.id === first.id)?.delivered_at, poll).toBeTruthy();

      // A number that is not a simulated phone is not on WhatsApp.
      expect(await client.socket().onWhatsApp("15559999999")).toEqual([]);
      expect(await client.socket().onWhatsApp(carol.phone_number)).toEqual([{ jid: "15550002222@s.whatsapp.net", exists: true }]);
      await client.host.stop();
    });
  });

  it("links by pairing code", () => {
    const accountId = "acct-code";
    const sessionId = "sess-code";
    return runInDurableObject(env.SESSION.get(env.SESSION.idFromName(sessionId)), async (_i, state) => {
      const sandbox = sandboxOf(accountId);
      const bob = await sandbox.createPhone({ phone_number: "15550003333", name: "Bob" });
      let code: Promise<string> | undefined;
      const client = startClient(state.storage, accountId, sessionId, (_qr, c) => {
        code ??= c.socket().requestPairingCode(bob.phone_number);
      });
      await expect.poll(() => code, poll).toBeDefined();
      const typed = await code!;
      await expect.poll(async () => (await sandbox.events(50)).some((e) => e.kind === "link_code_requested"), poll).toBe(true);
      const wrong = await sandbox.enterPairingCode(bob.phone_number, "ZZZZZZZZ").then(() => undefined, (e: Error) => e);
      expect(wrong?.message).toMatch(/^\[422\] the pairing code does not match/);
      const linked = await sandbox.enterPairingCode(bob.phone_number, typed);
      expect(linked).toMatchObject({ phone_number: "15550003333", device: 1, session_id: sessionId });
      await expect.poll(() => client.opens, poll).toBe(1);
      expect(client.host.auth.state.creds.me?.id).toBe("15550003333:1@s.whatsapp.net");
      await client.host.stop();
    });
  });

  it("surfaces faults as Baileys' DisconnectReasons; a dropped socket logs back in without a QR", () => {
    const accountId = "acct-faults";
    const sessionId = "sess-faults";
    return runInDurableObject(env.SESSION.get(env.SESSION.idFromName(sessionId)), async (_i, state) => {
      const sandbox = sandboxOf(accountId);
      const dana = await sandbox.createPhone({ phone_number: "15550004444", name: "Dana" });
      const client = await linkByQr(state.storage, accountId, sessionId, dana.phone_number);
      const qrCount = client.qrs.length;

      await sandbox.fault(sessionId, "drop");
      await expect.poll(() => client.opens, poll).toBe(2);
      expect(client.closes.at(-1)).toBe(DisconnectReason.connectionClosed);
      expect(client.qrs.length).toBe(qrCount);

      await sandbox.fault(sessionId, "replaced");
      await expect.poll(() => client.closes.at(-1), poll).toBe(DisconnectReason.connectionReplaced);

      client.host.start();
      await expect.poll(() => client.opens, poll).toBe(3);
      await sandbox.fault(sessionId, "logout");
      await expect.poll(() => client.closes.at(-1), poll).toBe(DisconnectReason.loggedOut);
      // The device is gone: logging in again with the same creds fails the same way.
      client.host.start();
      await expect.poll(() => client.closes.length, poll).toBe(5);
      expect(client.closes.at(-1)).toBe(DisconnectReason.loggedOut);
      const unknown = await sandbox.fault("no-such-session", "logout").then(() => undefined, (e: Error) => e);
      expect(unknown?.message).toMatch(/^\[404\] session no-such-session is not linked/);
    });
  });

  it("refuses message acks on command (the send fails) and acks normally again after normal_acks", () => {
    const accountId = "acct-refuse-acks";
    const sessionId = "sess-refuse-acks";
    return runInDurableObject(env.SESSION.get(env.SESSION.idFromName(sessionId)), async (_i, state) => {
      const sandbox = sandboxOf(accountId);
      const erin = await sandbox.createPhone({ phone_number: "15550005555", name: "Erin" });
      const frank = await sandbox.createPhone({ phone_number: "15550006666", name: "Frank" });
      const client = await linkByQr(state.storage, accountId, sessionId, erin.phone_number);

      await sandbox.fault(sessionId, "refuse_acks", { code: "479" });
      const refused = await client.socket().sendMessage(`${frank.phone_number}@s.whatsapp.net`, { text: "will fail" });
      await expect.poll(() => statusOf(client, refused!.key.id!), poll).toContain(0); // ERROR
      await sandbox.fault(sessionId, "normal_acks");
      const id = generateMessageIDV2();
      const acked = client.socket().waitForMessage(id, 10_000);
      await client.socket().sendMessage(`${frank.phone_number}@s.whatsapp.net`, { text: "fine" }, { messageId: id });
      const ack = (await acked) as { tag: string; attrs: Record<string, string> };
      expect(ack).toMatchObject({ tag: "ack", attrs: { class: "message", id } });
      expect(ack.attrs.error).toBeUndefined();
      await client.host.stop();
    });
  });

  it("follows a manual receipt policy: no receipt until the phone sends one", () => {
    const accountId = "acct-manual-receipts";
    const sessionId = "sess-manual-receipts";
    return runInDurableObject(env.SESSION.get(env.SESSION.idFromName(sessionId)), async (_i, state) => {
      const sandbox = sandboxOf(accountId);
      const erin = await sandbox.createPhone({ phone_number: "15550005556", name: "Erin" });
      const frank = await sandbox.createPhone({ phone_number: "15550006667", name: "Frank" });
      await sandbox.setReceiptPolicy(frank.phone_number, { delivered: "manual" });
      const client = await linkByQr(state.storage, accountId, sessionId, erin.phone_number);

      // The server acks and schedules any automatic receipt in the same turn: once the ack is in, the
      // schedule shows what this message asked for.
      const id = generateMessageIDV2();
      const acked = client.socket().waitForMessage(id, 10_000);
      await client.socket().sendMessage(`${frank.phone_number}@s.whatsapp.net`, { text: "fine" }, { messageId: id });
      // waitForMessage resolves undefined on timeout: the ack itself must be there.
      expect(await acked).toMatchObject({ tag: "ack", attrs: { class: "message", id } });
      // Manual policy: no receipt job was scheduled, and the contact has not marked it delivered.
      expect(await sandbox.scheduledJobs()).toBe(0);
      expect((await sandbox.inbox(frank.phone_number)).find((m) => m.id === id)).toMatchObject({ text: "fine", delivered_at: null, read_at: null });
      expect(statusOf(client, id)).not.toContain(3); // manual policy: no receipt yet
      await sandbox.sendReceipts(frank.phone_number, [id], "delivered");
      await expect.poll(() => statusOf(client, id), poll).toContain(3);
      await client.host.stop();
    });
  });

  it("bans an account on command: the socket ends with 403 and the phone shows banned", () => {
    const accountId = "acct-ban";
    const sessionId = "sess-ban";
    return runInDurableObject(env.SESSION.get(env.SESSION.idFromName(sessionId)), async (_i, state) => {
      const sandbox = sandboxOf(accountId);
      const erin = await sandbox.createPhone({ phone_number: "15550005557", name: "Erin" });
      const client = await linkByQr(state.storage, accountId, sessionId, erin.phone_number);

      await sandbox.fault(sessionId, "ban");
      await expect.poll(() => client.closes.at(-1), poll).toBe(DisconnectReason.forbidden);
      expect((await sandbox.getPhone(erin.phone_number)).banned).toBe(true);
    });
  });

  it("keeps its world (root, phones, links, Signal sessions) across a restart of the sandbox object", async () => {
    const accountId = "acct-restart";
    const sessionId = "sess-restart";
    const session = env.SESSION.get(env.SESSION.idFromName(sessionId));
    const sandbox = sandboxOf(accountId);
    const gina = await sandbox.createPhone({ phone_number: "15550007777", name: "Gina" });
    const hal = await sandbox.createPhone({ phone_number: "15550008888", name: "Hal" });
    const root = await sandbox.trustRoot();
    // The client keeps running in the session object between these blocks.
    const client = await runInDurableObject(session, (_i, state) => linkByQr(state.storage, accountId, sessionId, gina.phone_number));
    const before = await sandbox.sendMessage(hal.phone_number, { to: gina.phone_number, type: "text", text: "before restart" });
    await expect.poll(() => upserts(client).some((m) => m.key.id === before.id), poll).toBe(true);

    // Eviction waits for open requests, and an accepted socket is one: close the client first.
    await runInDurableObject(session, () => client.host.stop());
    await expect.poll(async () => (await sandbox.sockets()).length, poll).toBe(0);
    await evictDurableObject(sandbox);
    const fresh = sandboxOf(accountId);
    // A new instance, from SQLite only; the client logs in with its creds, no new QR.
    await runInDurableObject(session, () => void client.host.start());
    await expect.poll(() => client.opens, poll).toBe(2);
    expect(client.qrs).toHaveLength(1);
    expect([...(await fresh.trustRoot())]).toEqual([...root]);
    expect((await fresh.listPhones()).map((p) => p.phone_number)).toEqual([gina.phone_number, hal.phone_number]);
    // The Signal session from before the restart still decrypts.
    const after = await fresh.sendMessage(hal.phone_number, { to: gina.phone_number, type: "text", text: "after restart" });
    await expect.poll(() => upserts(client).find((m) => m.key.id === after.id)?.message?.conversation, poll).toBe("after restart");
    const sent = await runInDurableObject(session, () => client.socket().sendMessage(`${hal.phone_number}@s.whatsapp.net`, { text: "to hal after restart" }));
    await expect.poll(async () => (await fresh.inbox(hal.phone_number)).find((m) => m.id === sent!.key.id)?.text, poll).toBe("to hal after restart");
    await runInDurableObject(session, () => client.host.stop());
  });
});
