// LID ↔ phone number, as this session knows it (Baileys' LID store, filled from the phone-number
// attributes WhatsApp puts on stanzas) or as WhatsApp answers it (usync `lid` protocol).

export type LidOp =
  /** The phone number behind a LID (`…@lid`). */
  | { area: "lids"; op: "phone_of"; lid: string }
  /** The LID of a phone number (digits). */
  | { area: "lids"; op: "lid_of"; phone: string };

/** One mapping: the LID (`…@lid`) and the phone number (digits). */
export interface LidPair {
  lid: string;
  phone_number: string;
}
