// Serves media fixtures over real HTTP for the media_url tests (workerd tests cannot listen).
// Its base URL reaches the tests as `inject("mediaServerUrl")`.
//
//   /png             a tiny PNG, image/png
//   /jpeg            a tiny baseline JPEG (8×8 grey), image/jpeg; ?pad=N appends N filler bytes after its end
//   /png-octet       the same bytes labelled application/octet-stream (sniffed)
//   /webp            a tiny WebP header, image/webp
//   /pdf             a small PDF, application/pdf
//   /mp4, /ogg       a video and an audio file (headers + filler bytes)
//   /text            text/plain
//   /big-declared    HEAD and GET say 20 MB (never sends it)
//   /big-chunked     no length; streams 1 MB of WebP-looking bytes (past a sticker's 500 KB)
//   /missing         404
//   /redirect        302 → /png
//   /no-head         405 on HEAD, the PNG on GET
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  interface ProvidedContext {
    mediaServerUrl: string;
  }
}

// 1x1 transparent PNG.
export const PNG = Buffer.from(
  "89504e470d0a1a0a0000000d4948445200000001000000010806000000" + "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082",
  "hex",
);
// An 8×8 mid-grey baseline JPEG, written by hand: JFIF, an all-ones quantization table, one
// component, one-code Huffman tables (DC category 0, AC end-of-block), one block of entropy data.
export const JPEG = Buffer.from(
  "ffd8ffe000104a46494600010100000100010000ffdb0043000101010101010101010101010101010101010101010101010101010101010101010101010101010101010101010101010101" +
    "0101010101010101010101010101ffc0000b080008000801011100ffc40026000100000000000000000000000000000000100100000000000000000000000000000000ffda0008010100003f003fffd9",
  "hex",
);
const WEBP = Buffer.concat([Buffer.from("RIFF"), Buffer.from([26, 0, 0, 0]), Buffer.from("WEBPVP8L"), Buffer.alloc(14)]);
const PDF = Buffer.from("%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n");
// An MP4 file type box and an Ogg page header: enough for type sniffing and byte-exact checks.
const MP4 = Buffer.concat([Buffer.from([0, 0, 0, 0x18]), Buffer.from("ftypmp42"), Buffer.alloc(12), Buffer.alloc(2048, 7)]);
const OGG = Buffer.concat([Buffer.from("OggS"), Buffer.alloc(2048, 3)]);

function startMediaServer(): Promise<Server> {
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://media").pathname;
    const head = req.method === "HEAD";
    const send = (status: number, type: string, body: Buffer, extra: Record<string, string> = {}) => {
      res.writeHead(status, { "content-type": type, "content-length": String(body.length), ...extra });
      res.end(head ? undefined : body);
    };
    switch (path) {
      case "/png":
        return send(200, "image/png", PNG);
      case "/jpeg": {
        const pad = Math.min(Number(new URL(req.url ?? "/", "http://media").searchParams.get("pad")) || 0, 8 * 1024 * 1024);
        return send(200, "image/jpeg", pad ? Buffer.concat([JPEG, Buffer.alloc(pad, 0x20)]) : JPEG);
      }
      case "/png-octet":
        return send(200, "application/octet-stream", PNG);
      case "/webp":
        return send(200, "image/webp", WEBP);
      case "/pdf":
        return send(200, "application/pdf", PDF);
      case "/mp4":
        return send(200, "video/mp4", MP4);
      case "/ogg":
        return send(200, "audio/ogg", OGG);
      case "/text":
        return send(200, "text/plain; charset=utf-8", Buffer.from("hello"));
      case "/big-declared":
        res.writeHead(200, { "content-type": "image/jpeg", "content-length": String(20 * 1024 * 1024) });
        // Never send the body: the gateway must refuse from the declared length.
        if (head) res.end();
        else res.destroy();
        return;
      case "/big-chunked": {
        if (head) {
          res.writeHead(200, { "content-type": "image/webp" });
          return res.end();
        }
        res.writeHead(200, { "content-type": "image/webp", "transfer-encoding": "chunked" });
        const chunk = Buffer.alloc(64 * 1024, 0xab);
        WEBP.copy(chunk);
        let sent = 0;
        const pump = () => {
          while (sent < 1024 * 1024) {
            sent += chunk.length;
            if (!res.write(chunk)) return res.once("drain", pump);
          }
          res.end();
        };
        res.on("error", () => {});
        return pump();
      }
      case "/redirect":
        res.writeHead(302, { location: "/png" });
        return res.end();
      case "/no-head":
        if (head) {
          res.writeHead(405);
          return res.end();
        }
        return send(200, "image/png", PNG);
      default:
        res.writeHead(404, { "content-type": "text/plain" });
        return res.end(head ? undefined : "not found");
    }
  });
  server.on("clientError", (_err, socket) => socket.destroy());
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

export default async function setup(project: TestProject) {
  const server = await startMediaServer();
  const { port } = server.address() as AddressInfo;
  project.provide("mediaServerUrl", `http://127.0.0.1:${port}`);
  return () => new Promise<void>((resolve) => server.close(() => resolve()));
}
