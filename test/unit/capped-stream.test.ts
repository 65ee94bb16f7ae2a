import { describe, expect, it } from "vitest";
import { forEachChunkCapped, readAllCapped, StreamTooLarge } from "../../src/domain/capped-stream";

function chunks(sizes: number[]) {
  let i = 0;
  let cancelled = false;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (i < sizes.length) controller.enqueue(new Uint8Array(sizes[i]).fill(i++));
      else controller.close();
    },
    cancel() {
      cancelled = true;
    },
  });
  return { stream, pulled: () => i, cancelled: () => cancelled };
}

describe("capped stream reading", () => {
  it("reads a stream of exactly the cap, in order", async () => {
    const bytes = await readAllCapped(chunks([3, 2]).stream, 5);
    expect([...bytes]).toEqual([0, 0, 0, 1, 1]);
  });

  it("stops at the chunk that passes the cap, cancels the stream and says so", async () => {
    const source = chunks([4, 4, 4, 4]);
    await expect(readAllCapped(source.stream, 5)).rejects.toBeInstanceOf(StreamTooLarge);
    expect(source.cancelled()).toBe(true);
    expect(source.pulled()).toBeLessThan(4);
  });

  it("hands chunks over with their offsets and returns the size", async () => {
    const seen: [number, number][] = [];
    const size = await forEachChunkCapped(chunks([2, 3]).stream, 10, (chunk, offset) => {
      seen.push([chunk.byteLength, offset]);
    });
    expect(size).toBe(5);
    expect(seen).toEqual([
      [2, 0],
      [3, 2],
    ]);
  });

  it("a cap of 0 only tells whether there is anything at all", async () => {
    expect((await readAllCapped(chunks([]).stream, 0)).byteLength).toBe(0);
    await expect(readAllCapped(chunks([1]).stream, 0)).rejects.toBeInstanceOf(StreamTooLarge);
  });
});
