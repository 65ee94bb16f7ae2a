import { describe, expect, it } from "vitest";
import { withRetries } from "../../src/platform/retry";

/** A recording sleep: the waits asked for, without waiting. */
function recorder() {
  const waits: number[] = [];
  return { waits, sleep: async (ms: number) => void waits.push(ms) };
}

describe("withRetries", () => {
  it("returns the first answer when it needs no retry, without waiting", async () => {
    const { waits, sleep } = recorder();
    const tries: number[] = [];
    const value = await withRetries(async (attempt) => (tries.push(attempt), "ok"), { attempts: 3, delayMs: 100, sleep });
    expect(value).toBe("ok");
    expect(tries).toEqual([1]);
    expect(waits).toEqual([]);
  });

  it("retries a retryable error until a try succeeds, waiting between tries", async () => {
    const { waits, sleep } = recorder();
    const tries: number[] = [];
    const value = await withRetries(
      async (attempt) => {
        tries.push(attempt);
        if (attempt < 3) throw new Error("busy");
        return attempt;
      },
      { attempts: 5, delayMs: (attempt) => attempt * 10, retryable: (e) => (e as Error).message === "busy", sleep },
    );
    expect(value).toBe(3);
    expect(tries).toEqual([1, 2, 3]);
    expect(waits).toEqual([10, 20]);
  });

  it("throws the last error once the attempts are spent", async () => {
    const { waits, sleep } = recorder();
    let tries = 0;
    const run = withRetries(
      async (attempt) => {
        tries++;
        throw new Error(`busy ${attempt}`);
      },
      { attempts: 3, delayMs: 5, retryable: () => true, sleep },
    );
    await expect(run).rejects.toThrow("busy 3");
    expect(tries).toBe(3);
    expect(waits).toEqual([5, 5]);
  });

  it("throws at once an error that is not retryable (by default none is)", async () => {
    let tries = 0;
    const fail = async () => {
      tries++;
      throw new Error("permanent");
    };
    await expect(withRetries(fail, { attempts: 4 })).rejects.toThrow("permanent");
    expect(tries).toBe(1);
    await expect(withRetries(fail, { attempts: 4, retryable: (e) => (e as Error).message !== "permanent" })).rejects.toThrow("permanent");
    expect(tries).toBe(2);
  });

  it("retries an answer that asks for it, and returns the last such answer when the attempts are spent", async () => {
    const answers = ["contended", "contended", "accepted"];
    const got = await withRetries(async (attempt) => answers[attempt - 1], { attempts: 3, retryResult: (a) => a === "contended" });
    expect(got).toBe("accepted");

    let tries = 0;
    const last = await withRetries(async () => (++tries, "contended"), { attempts: 3, retryResult: (a) => a === "contended" });
    expect(last).toBe("contended");
    expect(tries).toBe(3);
  });

  it("tries at least once whatever the count", async () => {
    let tries = 0;
    expect(await withRetries(async () => ++tries, { attempts: 0, retryResult: () => true })).toBe(1);
    expect(tries).toBe(1);
  });

  it("waits with a real timer by default", async () => {
    const started = Date.now();
    const value = await withRetries(async (attempt) => attempt, { attempts: 2, delayMs: 20, retryResult: (n) => n === 1 });
    expect(value).toBe(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(15);
  });
});
