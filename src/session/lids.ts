import { jidDecode } from "baileys";
import { PeopleRefusal } from "./people.errors";
import type { PeopleContext } from "./people.types";
import type { LidOp, LidPair } from "./lids.types";

// LID ↔ phone number (docs/protocol/lids.md). A LID's number is only what WhatsApp revealed to
// this device (the `*_pn` attributes of its stanzas, kept in Baileys' LID store): no query asks
// WhatsApp for a LID's number. A number's LID comes from the store, else from a usync `lid` query.

export async function runLidOp(ctx: PeopleContext, op: LidOp): Promise<LidPair> {
  const store = ctx.socket.signalRepository.lidMapping;
  switch (op.op) {
    case "phone_of": {
      const pn = await store.getPNForLID(op.lid);
      const phone = pn ? jidDecode(pn)?.user : undefined;
      if (!phone) throw new PeopleRefusal(404, "lid_not_found", "This session does not know the phone number behind this LID: WhatsApp has not revealed it.");
      return { lid: op.lid, phone_number: phone };
    }
    case "lid_of": {
      // Store first; Baileys asks WhatsApp (usync, `lid` protocol) for one it does not know and keeps it.
      const lid = await store.getLIDForPN(`${op.phone}@s.whatsapp.net`);
      const user = lid ? jidDecode(lid)?.user : undefined;
      if (!user) throw new PeopleRefusal(404, "lid_not_found", "WhatsApp has no LID for this phone number (not on WhatsApp).");
      return { lid: `${user}@lid`, phone_number: op.phone };
    }
  }
}
