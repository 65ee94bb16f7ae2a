import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { linkByQr, poll, sandboxOf, sessionOf, statusOf, upsert } from "../helpers/sandbox-client";

// The sandbox as a Durable Object: held acks, receipts that outlive a restart (schedule table +
// alarm), and a restart while a session's socket is open.

type Frame = { tag: string; attrs: Record<string, string> };

/** The server's `<ack class="message">` for one id (other stanzas carry the id too: receipts). */
function messageAck(sock: { ws: { on(e: string, f: (n: Frame) => void): void; off(e: string, f: (n: Frame) => void): void } }, id: string): Promise<Frame | undefined> {
  return new Promise((resolve) => {
    const done = (n: Frame | undefined) => {
      sock.ws.off("CB:ack,class:message", onAck);
      clearTimeout(timer);
      resolve(n);
    };
    const onAck = (n: Frame) => {
      if (n.attrs.id === id) done(n);
    };
    const timer = setTimeout(() => done(undefined), 10_000);
    sock.ws.on("CB:ack,class:message", onAck);
  });
}

describe("sandbox robustness", () => {
  it("delay_acks holds each message ack for the given time", () => {
    const accountId = "acct-delay-acks";
    const sessionId = "sess-delay-acks";
    return runInDurableObject(sessionOf(sessionId), async (_i, state) => {
      const sandbox = sandboxOf(accountId);
      const jo = await sandbox.createPhone({ phone_number: "15553330001", name: "Jo" });
      // Manual receipts: no delivery receipt comes from the contact (the account's own phone still
      // answers with a `sender` receipt, so the wait below picks the ack by its tag).
      const kim = await sandbox.createPhone({ phone_number: "15553330002", name: "Kim", receipt_policy: { delivered: "manual" } });
      const client = await linkByQr(state.storage, accountId, sessionId, jo.phone_number);
      const bad = await sandbox.fault(sessionId, "delay_acks", { ms: -1 }).then(() => undefined, (e: Error) => e);
      expect(bad?.message).toMatch(/^\[422\] /);
      await sandbox.fault(sessionId, "delay_acks", { ms: 1500 });

      const started = Date.now();
      const sent = await client.socket().sendMessage(`${kim.phone_number}@s.whatsapp.net`, { text: "held ack" });
      let acked: number | undefined;
      const ack = messageAck(client.socket(), sent!.key.id!).then((n) => {
        acked = Date.now();
        return n;
      });
      // The message reaches the contact at once; its ack comes only after the hold (timed from the
      // send, so a slow machine cannot make a prompt ack look held).
      await expect.poll(async () => (await sandbox.inbox(kim.phone_number)).some((m) => m.id === sent!.key.id), poll).toBe(true);
      const node = await ack;
      expect(node).toMatchObject({ tag: "ack", attrs: { class: "message", id: sent!.key.id } });
      expect(acked! - started).toBeGreaterThanOrEqual(1500);

      await sandbox.fault(sessionId, "normal_acks");
      const quick = await client.socket().sendMessage(`${kim.phone_number}@s.whatsapp.net`, { text: "normal ack" });
      expect(await messageAck(client.socket(), quick!.key.id!)).toMatchObject({ tag: "ack" });
      await client.host.stop();
    });
  });

  it("a sandbox restart with a live socket: the session logs back in without a QR and due receipts still arrive", async () => {
    const accountId = "acct-live-restart";
    const sessionId = "sess-live-restart";
    const sandbox = sandboxOf(accountId);
    const lou = await sandbox.createPhone({ phone_number: "15553340001", name: "Lou" });
    const max = await sandbox.createPhone({ phone_number: "15553340002", name: "Max", receipt_policy: { delivered: "auto", delivered_delay_ms: 2500 } });
    const client = await runInDurableObject(sessionOf(sessionId), (_i, state) => linkByQr(state.storage, accountId, sessionId, lou.phone_number));

    const sent = await runInDurableObject(sessionOf(sessionId), () => client.socket().sendMessage(`${max.phone_number}@s.whatsapp.net`, { text: "receipt must survive" }));
    const id = sent!.key.id!;
    await expect.poll(async () => (await sandbox.inbox(max.phone_number)).some((m) => m.id === id), poll).toBe(true);
    expect(await sandbox.scheduledJobs()).toBe(1);

    // Kill the sandbox instance while the session's socket is open (evictDurableObject would wait for it).
    await runInDurableObject(sandbox, (_i, state) => state.abort("restart")).catch(() => undefined);
    await expect.poll(() => client.opens, poll).toBe(2);
    expect(client.qrs).toHaveLength(1);
    // The receipt was due while no instance held a timer: the alarm delivers it.
    await expect.poll(() => statusOf(client, id), poll).toContain(3);
    expect(await sandboxOf(accountId).scheduledJobs()).toBe(0);
    expect((await sandboxOf(accountId).inbox(max.phone_number)).find((m) => m.id === id)?.delivered_at).toBeTruthy();

    // Both directions still work on the new instance.
    const back = await sandboxOf(accountId).sendMessage(max.phone_number, { to: lou.phone_number, type: "text", text: "after the restart" });
    await expect.poll(() => upsert(client, back.id)?.message?.conversation, poll).toBe("after the restart");
    await runInDurableObject(sessionOf(sessionId), () => client.host.stop());
  });
});
