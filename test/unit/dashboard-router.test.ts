import { describe, expect, it } from "vitest";
import { routeOf } from "../../dashboard/src/lib/route-path";

describe("dashboard: hash routes", () => {
  it("splits and decodes the hash", () => {
    expect(routeOf("#/sessions/a%20b")).toEqual(["sessions", "a b"]);
    expect(routeOf("")).toEqual([]);
    expect(routeOf("#/messages/campaign/x/")).toEqual(["messages", "campaign", "x"]);
  });

  it("keeps a malformed escape as typed instead of throwing (the app would go blank)", () => {
    expect(routeOf("#/sessions/%E0%A4%A")).toEqual(["sessions", "%E0%A4%A"]);
  });
});
