import { Buffer } from "node:buffer";
import type { BinaryNode } from "baileys/lib/WABinary/types.js";
import { random } from "./crypto";

export type { BinaryNode };

export const SERVER_JID = "s.whatsapp.net";

export const unixNow = (): number => Math.floor(Date.now() / 1000);

export const node = (tag: string, attrs: Record<string, string | undefined> = {}, content?: BinaryNode["content"]): BinaryNode => {
  const clean: Record<string, string> = {};
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined) clean[k] = v;
  return content === undefined ? { tag, attrs: clean } : { tag, attrs: clean, content };
};

export const children = (n: BinaryNode | undefined, tag?: string): BinaryNode[] =>
  n && Array.isArray(n.content) ? n.content.filter((c) => !tag || c.tag === tag) : [];

export const child = (n: BinaryNode | undefined, tag: string): BinaryNode | undefined => children(n, tag)[0];

export const bytesOf = (n: BinaryNode | undefined): Buffer | undefined =>
  n?.content instanceof Uint8Array ? Buffer.from(n.content) : typeof n?.content === "string" ? Buffer.from(n.content) : undefined;

export const textOf = (n: BinaryNode | undefined): string | undefined =>
  typeof n?.content === "string" ? n.content : n?.content instanceof Uint8Array ? Buffer.from(n.content).toString("utf8") : undefined;

export const iqResult = (req: BinaryNode, content?: BinaryNode[]): BinaryNode =>
  node("iq", { id: req.attrs.id, type: "result", from: req.attrs.to ?? SERVER_JID }, content);

export const iqError = (req: BinaryNode, code: number, text: string): BinaryNode =>
  node("iq", { id: req.attrs.id, type: "error", from: req.attrs.to ?? SERVER_JID }, [node("error", { code: String(code), text })]);

/** Server stanza ids look like the real ones: numeric for server iqs, hex for messages. */
export const serverId = (): string => String(random(4).readUInt32BE(0));
export const messageId = (): string => `3A${random(9).toString("hex").toUpperCase()}`;

// jids
export const pnJid = (phone: string, device = 0): string => (device ? `${phone}:${device}@s.whatsapp.net` : `${phone}@s.whatsapp.net`);
export const lidJid = (lid: string, device = 0): string => (device ? `${lid}:${device}@lid` : `${lid}@lid`);

export interface ParsedJid {
  user: string;
  device: number;
  server: string;
}

export function parseJid(jid: string | undefined): ParsedJid | undefined {
  if (!jid || !jid.includes("@")) return undefined;
  const [userPart, server] = jid.split("@");
  const [userAgent, device] = userPart.split(":");
  const user = userAgent.split("_")[0];
  return { user, device: device ? Number(device) : 0, server };
}
