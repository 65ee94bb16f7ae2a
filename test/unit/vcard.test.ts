import { describe, expect, it } from "vitest";
import { toVCard } from "../../src/domain/vcard";

describe("toVCard", () => {
  it("renders a full contact with escaping and waid", () => {
    const v = toVCard({
      name: { formatted_name: "Jane Doe", first_name: "Jane", last_name: "Doe" },
      phones: [{ phone: "+1 (415) 555-2671", type: "work" }],
      emails: [{ email: "jane@example.com" }],
      org: { company: "Acme, Inc.", title: "CTO" },
      birthday: "1990-01-31",
    });
    expect(v.split("\n")).toEqual([
      "BEGIN:VCARD",
      "VERSION:3.0",
      "N:Doe;Jane;;;",
      "FN:Jane Doe",
      "ORG:Acme\\, Inc.;",
      "TITLE:CTO",
      "TEL;type=CELL;type=WORK;waid=14155552671:+1 (415) 555-2671",
      "EMAIL:jane@example.com",
      "BDAY:1990-01-31",
      "END:VCARD",
    ]);
  });
});
