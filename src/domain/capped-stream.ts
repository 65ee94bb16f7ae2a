// Reading a body without trusting its declared size: the API's JSON reader, the API's media
// probe and the session's media download all stop at a cap, whatever Content-Length said.

export class StreamTooLarge extends Error {
  constructor(readonly max: number) {
    super(`the stream passed ${max} bytes`);
  }
}

/**
 * Hands each chunk (and the offset it starts at) to `onChunk` until the stream ends; cancels the
 * stream and throws StreamTooLarge as soon as it passes `max` bytes. Returns the total size.
 */
export async function forEachChunkCapped(
  stream: ReadableStream<Uint8Array>,
  max: number,
  onChunk: (chunk: Uint8Array, offset: number) => void | Promise<void>,
): Promise<number> {
  const reader = stream.getReader();
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return size;
    if (size + value.byteLength > max) {
      await reader.cancel().catch(() => undefined);
      throw new StreamTooLarge(max);
    }
    await onChunk(value, size);
    size += value.byteLength;
  }
}

/** All of the stream's bytes, or StreamTooLarge past `max`. */
export async function readAllCapped(stream: ReadableStream<Uint8Array>, max: number): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  const size = await forEachChunkCapped(stream, max, (chunk) => {
    chunks.push(chunk);
  });
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}
