// The bench's side of the HTTP baseline: the same workloads as ours.mjs, over real HTTP with the
// same client (Node's fetch, keep-alive) to the node:http server in front of Baileys.
import { client, now, waitForInbox } from "./lib.mjs";

/** `sandboxApi` reads the contacts' inboxes (the gateway's sandbox routes). */
export function httpBaseline(port, sandboxApi) {
  const http = client(`http://127.0.0.1:${port}`, "none");
  const send = (body) => http.post("/send", body);
  return {
    /** (i) n sequential POST /send to one contact: the call's round trip. */
    async latency({ to, n, text }) {
      const samples = [];
      for (let i = 0; i < n; i++) {
        const s = now();
        await send({ to, text: `${text} #${i}` });
        samples.push(now() - s);
      }
      return { samples };
    },

    /** (ii) from the call until the text is in the contact's inbox. */
    async inbox({ to, n, text }) {
      const samples = [];
      for (let i = 0; i < n; i++) {
        const body = `${text} #${i}`;
        const t0 = now();
        await send({ to, text: body });
        samples.push((await waitForInbox(sandboxApi, to, body)) - t0);
      }
      return { samples };
    },

    /** (iii)/(iv) one bulk POST; it answers when every send resolved. Times are wall-clock ms. */
    async burst({ recipients, text }) {
      const startedAt = Date.now();
      const res = await send({ recipients, text });
      return { started_at: startedAt, first_sent_at: res.first_sent_at, last_sent_at: res.last_sent_at, sent: res.sent, failed: res.failed, first_error: res.first_error ?? undefined };
    },
  };
}
