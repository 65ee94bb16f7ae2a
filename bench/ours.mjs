// The gateway side of the bench: everything through the public API (POST /v1/whatsapp/messages),
// measured from this Node process like any API client would see it.
import { now, waitFor, waitForInbox } from "./lib.mjs";

export function gateway(api, sessionId) {
  const send = (to, text, extra = {}) =>
    api.post("/v1/whatsapp/messages", { whatsapp_session_id: sessionId, to_number: to, type: "text", content: text, delay_between: 0, ...extra });

  /** Until nothing of this session is queued any more (the outbox has drained). */
  async function drained(timeout = 120_000) {
    await waitFor(
      async () => {
        const res = await api.get(`/v1/whatsapp/messages?session_id=${sessionId}&filter[status]=queued&limit=1`);
        return res.data.length === 0;
      },
      { timeout, interval: 100, what: "the outbox to drain" },
    );
  }

  /** Polls the campaign's counts until every row is final. */
  async function campaignDone(campaignId, total, timeout) {
    return waitFor(
      async () => {
        const { campaign } = await api.get(`/v1/whatsapp/campaigns/${campaignId}`);
        const c = campaign.counts;
        const done = c.sent + c.delivered + c.read + c.failed;
        return done >= total ? { at: now(), counts: c } : null;
      },
      { timeout, interval: 100, what: `campaign ${campaignId} to finish` },
    );
  }

  async function rowsOf(campaignId) {
    const rows = [];
    let cursor = null;
    do {
      const q = `filter[campaign_id]=${campaignId}&limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
      const res = await api.get(`/v1/whatsapp/messages?${q}`);
      rows.push(...res.data);
      cursor = res.meta.next_cursor;
    } while (cursor);
    return rows;
  }

  return {
    /** (i) n accepts for one recipient, sequential: the API call's round trip. */
    async latency({ to, n, text }) {
      const samples = [];
      const t0 = now();
      for (let i = 0; i < n; i++) {
        const s = now();
        await send([to], `${text} #${i}`);
        samples.push(now() - s);
      }
      await drained();
      return { samples, all_sent_ms: now() - t0 };
    },

    /** (ii) from the API call to the text in the contact's inbox. */
    async inbox({ to, n, text }) {
      const samples = [];
      for (let i = 0; i < n; i++) {
        const body = `${text} #${i}`;
        const t0 = now();
        await send([to], body);
        samples.push((await waitForInbox(api, to, body)) - t0);
      }
      return { samples };
    },

    /** (iii)/(iv) one campaign, delay_between 0: accept, then until every row is final. Times are wall-clock ms. */
    async burst({ recipients, text, timeout }) {
      const startedAt = Date.now();
      const t0 = now();
      const res = await send(recipients, text);
      const acceptMs = now() - t0;
      const { counts } = await campaignDone(res.data.campaign_id, recipients.length, timeout);
      // The rows' own sent_at (the gateway's clock, same machine): when sending started and ended.
      const sentAt = (await rowsOf(res.data.campaign_id)).map((m) => Date.parse(m.sent_at)).filter(Number.isFinite);
      return {
        started_at: startedAt,
        accept_ms: acceptMs,
        first_sent_at: sentAt.length ? Math.min(...sentAt) : null,
        last_sent_at: sentAt.length ? Math.max(...sentAt) : null,
        sent: counts.sent + counts.delivered + counts.read,
        failed: counts.failed,
        counts,
      };
    },
  };
}
