import { Buffer } from "node:buffer";
import type { BinaryNode } from "baileys";
import { configureSuccessfulPairing, Curve, initAuthCreds, makeNoiseHandler, NOISE_WA_HEADER, proto } from "baileys";
import { describe, expect, it } from "vitest";
import { issueCertChain, verifyCertChain } from "../../src/sandbox/certificates";
import { generateKeyPair, padMax16, sign, unpadMax16, verify } from "../../src/sandbox/crypto";
import { FrameReader, encodeFrame } from "../../src/sandbox/frames";
import { NoiseServer } from "../../src/sandbox/noise.server";
import { buildDeviceIdentity, openKeyBundle, parseQr, unwrapWithCode, verifyDeviceSign, wrapWithCode } from "../../src/sandbox/pairing";
import { normalizePhone, parseReceiptPolicy } from "../../src/sandbox/phones";
import { verifyCurveSignature } from "../../src/runtime/baileys-hardening";
import { runWithNoiseRoot } from "../../src/runtime/socket-target";

const silent = { child: () => silent, trace() {}, debug() {}, info() {}, warn() {}, error() {}, level: "silent" } as never;

describe("sandbox certificate chain", () => {
  const root = generateKeyPair();
  const server = generateKeyPair();
  const chain = issueCertChain(root, server.pub);

  it("verifies with a correct XEdDSA verifier against the sandbox root", () => {
    expect(verifyCertChain(chain, root.pub)).toEqual({ ok: true, leafKey: server.pub });
    const { intermediate, leaf } = proto.CertChain.decode(chain);
    const inter = proto.CertChain.NoiseCertificate.Details.decode(intermediate!.details!);
    expect(inter.issuerSerial).toBe(0);
    // The verifier the client side installs in place of rc14's accept-anything Curve.verify.
    expect(verifyCurveSignature(root.pub, intermediate!.details!, intermediate!.signature!)).toBe(true);
    expect(verifyCurveSignature(inter.key!, leaf!.details!, leaf!.signature!)).toBe(true);
  });

  it("is rejected under another root or with a tampered signature", () => {
    expect(verifyCertChain(chain, generateKeyPair().pub)).toMatchObject({ ok: false, reason: "intermediate signature invalid" });
    const decoded = proto.CertChain.decode(chain);
    const sig = Buffer.from(decoded.leaf!.signature!);
    sig[10] ^= 1;
    const tampered = proto.CertChain.encode({ ...decoded, leaf: { ...decoded.leaf, signature: sig } }).finish();
    expect(verifyCertChain(tampered, root.pub)).toMatchObject({ ok: false, reason: "leaf signature invalid" });
    expect(verify(root.pub, Buffer.from("x"), Buffer.alloc(64, 7))).toBe(false);
  });
});

describe("sandbox Noise responder against Baileys' own noise handler", () => {
  it("completes XX and exchanges transport frames both ways", async () => {
    const root = generateKeyPair();
    const serverStatic = generateKeyPair();
    const chain = issueCertChain(root, serverStatic.pub);
    const ephemeral = Curve.generateKeyPair();
    const clientNoise = makeNoiseHandler({ keyPair: ephemeral, NOISE_HEADER: NOISE_WA_HEADER, logger: silent });
    const noiseKey = Curve.generateKeyPair();
    const reader = new FrameReader();

    const hello = clientNoise.encodeFrame(proto.HandshakeMessage.encode({ clientHello: { ephemeral: ephemeral.public } }).finish());
    const [helloFrame] = reader.push(hello);
    expect(reader.prologue).toEqual(Buffer.from(NOISE_WA_HEADER));
    const server = new NoiseServer(serverStatic, chain, reader.prologue!);
    const serverHello = proto.HandshakeMessage.decode(server.respondToHello(helloFrame));

    // The client trusts the sandbox root for this socket only (with the real verifier installed).
    const keyEnc = runWithNoiseRoot(root.pub, () => clientNoise.processHandshake(serverHello, noiseKey));
    // A client trusting another root refuses the same server.
    const otherEphemeral = Curve.generateKeyPair();
    const other = makeNoiseHandler({ keyPair: otherEphemeral, NOISE_HEADER: NOISE_WA_HEADER, logger: silent });
    const otherReader = new FrameReader();
    const [otherHello] = otherReader.push(other.encodeFrame(proto.HandshakeMessage.encode({ clientHello: { ephemeral: otherEphemeral.public } }).finish()));
    const otherServerHello = proto.HandshakeMessage.decode(new NoiseServer(serverStatic, chain, otherReader.prologue!).respondToHello(otherHello));
    expect(() => runWithNoiseRoot(generateKeyPair().pub, () => other.processHandshake(otherServerHello, noiseKey))).toThrow(/intermediate certificate signature invalid/);
    const payload = clientNoise.encrypt(Buffer.from("client payload"));
    const [finishFrame] = reader.push(clientNoise.encodeFrame(proto.HandshakeMessage.encode({ clientFinish: { static: keyEnc, payload } }).finish()));
    const finished = server.finish(finishFrame);
    expect(finished.clientStatic).toEqual(noiseKey.public);
    expect(finished.payload.toString()).toBe("client payload");
    await clientNoise.finishInit();

    // client → server
    const [frame] = reader.push(clientNoise.encodeFrame(Buffer.from([0, 1, 2, 3])));
    expect([...server.decrypt(frame)]).toEqual([0, 1, 2, 3]);
    // server → client (a binary node: 0 flag byte + encoded node)
    const { encodeBinaryNode } = await import("baileys");
    const out = encodeFrame(server.encrypt(encodeBinaryNode({ tag: "iq", attrs: { id: "1", type: "result" } })));
    const received: unknown[] = [];
    await clientNoise.decodeFrame(out, (f) => received.push(f));
    expect(received).toEqual([{ tag: "iq", attrs: { id: "1", type: "result" } }]);
  });
});

describe("sandbox framing", () => {
  it("reads the intro header, then frames split across chunks", () => {
    const r = new FrameReader();
    const bytes = Buffer.concat([Buffer.from([87, 65, 6, 3]), encodeFrame(Buffer.from("abc")), encodeFrame(Buffer.from("de"))]);
    expect(r.push(bytes.subarray(0, 5))).toEqual([]);
    expect(r.push(bytes.subarray(5, 10)).map(String)).toEqual(["abc"]);
    expect(r.push(bytes.subarray(10)).map(String)).toEqual(["de"]);
  });

  it("skips an ED routing header", () => {
    const r = new FrameReader();
    const routing = Buffer.from([1, 2, 3]);
    const header = Buffer.concat([Buffer.from("ED"), Buffer.from([0, 1, 0, 0, 3]), routing, Buffer.from([87, 65, 6, 3])]);
    expect(r.push(Buffer.concat([header, encodeFrame(Buffer.from("x"))])).map(String)).toEqual(["x"]);
    expect([...r.prologue!]).toEqual([87, 65, 6, 3]);
  });
});

describe("sandbox pairing", () => {
  it("issues a device identity Baileys accepts, and checks Baileys' device signature", () => {
    const creds = initAuthCreds();
    const phone = generateKeyPair();
    const adv = buildDeviceIdentity(phone, creds.signedIdentityKey.public, Buffer.from(creds.advSecretKey, "base64"), 3);
    const stanza = {
      tag: "iq",
      attrs: { id: "42" },
      content: [{ tag: "pair-success", attrs: {}, content: [
        { tag: "device-identity", attrs: {}, content: adv.hmacWrapped },
        { tag: "device", attrs: { jid: "15550001111:3@s.whatsapp.net", lid: "123456789012345:3@lid" } },
      ] }],
    };
    const { reply, creds: update } = configureSuccessfulPairing(stanza as BinaryNode, creds);
    expect(update.me?.id).toBe("15550001111:3@s.whatsapp.net");
    const signed = ((reply.content as never[])[0] as { content: { content: Uint8Array; attrs: { "key-index": string } }[] }).content[0];
    expect(signed.attrs["key-index"]).toBe("3");
    expect(verifyDeviceSign(signed.content, adv.details, creds.signedIdentityKey.public, phone.pub)).toBe(true);
    expect(verifyDeviceSign(signed.content, adv.details, creds.signedIdentityKey.public, generateKeyPair().pub)).toBe(false);
    // The account signature is a real one over [6,0] ‖ details ‖ companion identity.
    const account = proto.ADVSignedDeviceIdentity.decode(proto.ADVSignedDeviceIdentityHMAC.decode(adv.hmacWrapped).details!);
    const msg = Buffer.concat([Buffer.from([6, 0]), account.details!, creds.signedIdentityKey.public]);
    expect(verify(phone.pub, msg, account.accountSignature!)).toBe(true);
  });

  it("parses rc14 QR strings and rejects others", () => {
    const k = Buffer.alloc(32, 1).toString("base64");
    expect(parseQr(`https://wa.me/settings/linked_devices#2@abc,${k},${k},${k},1`)).toMatchObject({ ref: "2@abc", platformId: "1" });
    expect(() => parseQr("hello")).toThrow();
  });

  it("wraps keys with a pairing code, and opens a key bundle only with the right code", async () => {
    const eph = generateKeyPair();
    const wrapped = await wrapWithCode("ABCD1234", eph.pub);
    expect(await unwrapWithCode("ABCD1234", wrapped)).toEqual(eph.pub);
    expect(await unwrapWithCode("ABCD1235", wrapped)).not.toEqual(eph.pub);
    expect(() => openKeyBundle({
      bundle: Buffer.alloc(32 + 12 + 96 + 16), phoneEphemeral: eph, companionEphemeralPub: generateKeyPair().pub,
      phoneIdentity: generateKeyPair(), companionIdentityPub: generateKeyPair().pub,
    })).toThrow();
  });
});

describe("sandbox helpers", () => {
  it("pads like WhatsApp (1-16 bytes of the pad length)", () => {
    const m = Buffer.from("hello");
    for (let i = 0; i < 20; i++) expect(unpadMax16(padMax16(m))).toEqual(m);
  });

  it("signs with XEdDSA verifiable by libsignal", () => {
    const k = generateKeyPair();
    expect(verify(k.pub, Buffer.from("m"), sign(k.priv, Buffer.from("m")))).toBe(true);
    expect(verify(k.pub, Buffer.from("n"), sign(k.priv, Buffer.from("m")))).toBe(false);
  });

  it("normalises phone numbers and validates receipt policies", () => {
    expect(normalizePhone("+1 (555) 000-1111")).toBe("15550001111");
    expect(() => normalizePhone("12")).toThrow(/invalid phone number/);
    expect(parseReceiptPolicy({ read: "auto" })).toMatchObject({ delivered: "auto", read: "auto" });
    expect(() => parseReceiptPolicy({ delivered: "sometimes" })).toThrow(/"delivered" must be/);
  });
});
