import { describe, expect, it } from "vitest";
import { secondsUntilNextUtcDay, toTimestamp, utcDay } from "../../src/domain/time";

describe("timestamps", () => {
  it("formats with six fractional digits like seed 000", () => {
    expect(toTimestamp(Date.UTC(2024, 0, 15, 10, 30, 0, 123))).toBe("2024-01-15T10:30:00.123000Z");
  });

  it("gives the UTC day and the seconds left in it", () => {
    const at = Date.UTC(2024, 0, 15, 23, 59, 0);
    expect(utcDay(at)).toBe("2024-01-15");
    expect(secondsUntilNextUtcDay(at)).toBe(60);
  });
});
