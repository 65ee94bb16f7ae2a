import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { database } from "../../src/db/client";
import { insertIncomingMessage } from "../../src/db/messages.incoming";
import { findMessageByProvider } from "../../src/db/messages.query";
import { createAccount, type TestAccount } from "../helpers/api";

// Runs against the real D1 of the test worker: the query is the session's receipt lookup.
let account: TestAccount;
const db = () => database(env);
const providerId = () => `3EB0${crypto.randomUUID().replace(/-/g, "").slice(0, 20).toUpperCase()}`;

function receive(sessionId: string, waId: string, content: string) {
  return insertIncomingMessage(db(), {
    accountId: account.id,
    whatsappSessionId: sessionId,
    providerMessageId: waId,
    fromNumber: "14155559999",
    toNumber: "14155550000",
    type: "text",
    content,
    receivedAtIso: new Date().toISOString(),
  });
}

beforeAll(async () => {
  account = await createAccount();
});

describe("findMessageByProvider", () => {
  it("finds the row of that session with that WhatsApp id, not another session's", async () => {
    const [mine, theirs] = [crypto.randomUUID(), crypto.randomUUID()];
    const waId = providerId();
    const inMine = await receive(mine, waId, "mine");
    const inTheirs = await receive(theirs, waId, "theirs");
    expect(inMine && inTheirs).toBeTruthy();

    expect(await findMessageByProvider(db(), mine, waId)).toMatchObject({ id: inMine!.id, whatsappSessionId: mine, providerMessageId: waId });
    expect(await findMessageByProvider(db(), theirs, waId)).toMatchObject({ id: inTheirs!.id, whatsappSessionId: theirs });
  });

  it("answers undefined for an id the session does not hold", async () => {
    const session = crypto.randomUUID();
    await receive(session, providerId(), "x");
    expect(await findMessageByProvider(db(), session, providerId())).toBeUndefined();
    expect(await findMessageByProvider(db(), crypto.randomUUID(), providerId())).toBeUndefined();
  });
});
