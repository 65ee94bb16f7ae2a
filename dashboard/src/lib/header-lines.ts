/** "Name: value" per line, as in an HTTP request; a line without a colon is refused by its number. */
export function parseHeaderLines(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  text.split("\n").forEach((raw, i) => {
    const line = raw.trim();
    if (!line) return;
    const colon = line.indexOf(":");
    if (colon <= 0) throw new Error(`Custom headers, line ${i + 1}: write "Name: value".`);
    out[line.slice(0, colon).trim()] = line.slice(colon + 1).trim();
  });
  return out;
}
