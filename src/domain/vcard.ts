// vCard 3.0 text for a contact card (the API's Contact object), as WhatsApp clients expect it.

export interface ContactCard {
  name: { formatted_name: string; first_name?: string; last_name?: string; middle_name?: string; prefix?: string; suffix?: string };
  phones?: { phone: string; type?: string; wa_id?: string }[];
  emails?: { email: string; type?: string }[];
  org?: { company?: string; department?: string; title?: string };
  urls?: { url: string; type?: string }[];
  addresses?: { street?: string; city?: string; state?: string; zip?: string; country?: string; country_code?: string; type?: string }[];
  birthday?: string;
}

/** RFC 6350 §3.4 escaping of property values. */
function esc(value: string | undefined): string {
  return (value ?? "").replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/,/g, "\\,").replace(/;/g, "\\;");
}

const type = (t: string | undefined) => (t ? `;type=${esc(t.toUpperCase())}` : "");

export function toVCard(card: ContactCard): string {
  const n = card.name;
  const lines = [
    "BEGIN:VCARD",
    "VERSION:3.0",
    `N:${esc(n.last_name)};${esc(n.first_name)};${esc(n.middle_name)};${esc(n.prefix)};${esc(n.suffix)}`,
    `FN:${esc(n.formatted_name)}`,
  ];
  if (card.org) lines.push(`ORG:${esc(card.org.company)};${esc(card.org.department)}`);
  if (card.org?.title) lines.push(`TITLE:${esc(card.org.title)}`);
  for (const p of card.phones ?? []) {
    // waid lets WhatsApp show "Message" / "Add" buttons for the number.
    const digits = p.wa_id ?? p.phone.replace(/\D/g, "");
    lines.push(`TEL;type=CELL${type(p.type)};waid=${esc(digits)}:${esc(p.phone)}`);
  }
  for (const e of card.emails ?? []) lines.push(`EMAIL${type(e.type)}:${esc(e.email)}`);
  for (const u of card.urls ?? []) lines.push(`URL${type(u.type)}:${esc(u.url)}`);
  for (const a of card.addresses ?? []) {
    lines.push(`ADR${type(a.type)}:;;${esc(a.street)};${esc(a.city)};${esc(a.state)};${esc(a.zip)};${esc(a.country)}`);
  }
  if (card.birthday) lines.push(`BDAY:${esc(card.birthday)}`);
  lines.push("END:VCARD");
  return lines.join("\n");
}
