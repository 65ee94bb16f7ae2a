import { Curve, makeNoiseHandler, NOISE_WA_HEADER, proto, WA_CERT_DETAILS } from "baileys";
import { verifySignature } from "libsignal/src/curve.js";
import { describe, expect, it } from "vitest";
import { genuineNoiseRoot, hardenBaileys, verifyCurveSignature } from "../../src/runtime/baileys-hardening";
import { currentNoiseRoot, runWithNoiseRoot } from "../../src/runtime/socket-target";
import { createLogger } from "../../src/platform/log";

hardenBaileys();

const GENUINE_ROOT_HEX = "142375574d0a587166aae71ebe516437c4a28b73e3695c6ce1f7f9545da8ee6b";
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
type KeyPair = ReturnType<typeof Curve.generateKeyPair>;

/** A Noise certificate chain: root signs intermediate, intermediate signs the leaf (server static key). */
function certChain(root: KeyPair, serverStatic: KeyPair, forgeIntermediateSignature = false): Uint8Array {
  const intermediate = Curve.generateKeyPair();
  const intermediateDetails = proto.CertChain.NoiseCertificate.Details.encode({
    serial: 1,
    issuerSerial: 0,
    key: intermediate.public,
  }).finish();
  const leafDetails = proto.CertChain.NoiseCertificate.Details.encode({
    serial: 2,
    issuerSerial: 1,
    key: serverStatic.public,
  }).finish();
  return proto.CertChain.encode({
    intermediate: {
      details: intermediateDetails,
      signature: forgeIntermediateSignature ? crypto.getRandomValues(new Uint8Array(64)) : Curve.sign(root.private, intermediateDetails),
    },
    leaf: { details: leafDetails, signature: Curve.sign(intermediate.private, leafDetails) },
  }).finish();
}

/**
 * Runs Baileys' own client-side processHandshake against a server hello built by a second noise
 * handler that mirrors the client's symmetric state (same hash chain), acting as the server.
 */
function clientHandshake(chain: (serverStatic: KeyPair) => Uint8Array): () => void {
  const logger = createLogger("silent");
  const clientEphemeral = Curve.generateKeyPair();
  const client = makeNoiseHandler({ keyPair: clientEphemeral, NOISE_HEADER: NOISE_WA_HEADER, logger });
  const server = makeNoiseHandler({
    keyPair: { private: Buffer.alloc(32), public: clientEphemeral.public },
    NOISE_HEADER: NOISE_WA_HEADER,
    logger,
  });
  const serverEphemeral = Curve.generateKeyPair();
  const serverStatic = Curve.generateKeyPair();
  server.authenticate(serverEphemeral.public);
  server.mixIntoKey(Curve.sharedKey(serverEphemeral.private, clientEphemeral.public));
  const staticEnc = server.encrypt(serverStatic.public);
  server.mixIntoKey(Curve.sharedKey(serverStatic.private, clientEphemeral.public));
  const payload = server.encrypt(chain(serverStatic));
  const hello = proto.HandshakeMessage.fromObject({
    serverHello: { ephemeral: serverEphemeral.public, static: staticEnc, payload },
  });
  const noiseKey = Curve.generateKeyPair();
  return () => void client.processHandshake(hello, noiseKey);
}

describe("Curve.verify", () => {
  const pair = Curve.generateKeyPair();
  const message = Buffer.from("noise certificate details");
  const signature = Curve.sign(pair.private, message);

  it("accepts a genuine signature", () => {
    expect(Curve.verify(pair.public, message, signature)).toBe(true);
    expect(verifyCurveSignature(pair.public, message, signature)).toBe(true);
  });

  it("rejects a forged, altered or misattributed signature", () => {
    const forged = crypto.getRandomValues(new Uint8Array(64));
    // libsignal answers false (no throw) for a forged signature: rc14's try/catch turned that into true.
    expect(verifySignature(Buffer.concat([Buffer.from([5]), pair.public]), message, Buffer.from(forged))).toBe(false);
    expect(Curve.verify(pair.public, message, Buffer.from(forged))).toBe(false);
    expect(Curve.verify(pair.public, Buffer.from("other details"), signature)).toBe(false);
    expect(Curve.verify(Curve.generateKeyPair().public, message, signature)).toBe(false);
    expect(Curve.verify(pair.public, message, signature.subarray(0, 63))).toBe(false);
  });

  it("cannot be replaced afterwards", () => {
    expect(() => {
      (Curve as { verify: unknown }).verify = () => true;
    }).toThrow(TypeError);
    expect(Curve.verify(pair.public, message, Buffer.alloc(64))).toBe(false);
  });
});

describe("per-socket noise root", () => {
  const sandboxRoot = Curve.generateKeyPair();

  it("is WhatsApp's genuine root outside a sandbox socket", () => {
    expect(currentNoiseRoot()).toBeNull();
    expect(hex(WA_CERT_DETAILS.PUBLIC_KEY)).toBe(GENUINE_ROOT_HEX);
    expect(hex(genuineNoiseRoot())).toBe(GENUINE_ROOT_HEX);
  });

  it("is the sandbox root inside the socket's context, across awaits, without leaking", async () => {
    const inside = await runWithNoiseRoot(sandboxRoot.public, async () => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      return hex(WA_CERT_DETAILS.PUBLIC_KEY);
    });
    expect(inside).toBe(hex(sandboxRoot.public));
    expect(hex(WA_CERT_DETAILS.PUBLIC_KEY)).toBe(GENUINE_ROOT_HEX);

    const other = Curve.generateKeyPair();
    const [a, b] = await Promise.all([
      runWithNoiseRoot(sandboxRoot.public, async () => {
        await new Promise((resolve) => setTimeout(resolve, 10));
        return hex(WA_CERT_DETAILS.PUBLIC_KEY);
      }),
      runWithNoiseRoot(other.public, async () => {
        await new Promise((resolve) => setTimeout(resolve, 1));
        return hex(WA_CERT_DETAILS.PUBLIC_KEY);
      }),
    ]);
    expect([a, b]).toEqual([hex(sandboxRoot.public), hex(other.public)]);
  });

  it("cannot be reassigned or mutated through the exported object", () => {
    expect(() => {
      (WA_CERT_DETAILS as { PUBLIC_KEY: Buffer }).PUBLIC_KEY = Buffer.alloc(32);
    }).toThrow(TypeError);
    WA_CERT_DETAILS.PUBLIC_KEY.fill(0);
    expect(hex(WA_CERT_DETAILS.PUBLIC_KEY)).toBe(GENUINE_ROOT_HEX);
  });
});

describe("Baileys' noise handshake certificate check", () => {
  const sandboxRoot = Curve.generateKeyPair();
  const sandboxChain = (serverStatic: KeyPair) => certChain(sandboxRoot, serverStatic);

  it("accepts a sandbox chain only on a socket that trusts the sandbox root", () => {
    expect(() => runWithNoiseRoot(sandboxRoot.public, clientHandshake(sandboxChain))).not.toThrow();
  });

  it("rejects the sandbox chain on a real-WhatsApp socket (genuine root)", () => {
    expect(clientHandshake(sandboxChain)).toThrow("noise intermediate certificate signature invalid");
    expect(() => runWithNoiseRoot(null, clientHandshake(sandboxChain))).toThrow(
      "noise intermediate certificate signature invalid",
    );
  });

  it("rejects a chain signed by another root", () => {
    const otherRoot = Curve.generateKeyPair();
    expect(() => runWithNoiseRoot(otherRoot.public, clientHandshake(sandboxChain))).toThrow(
      "noise intermediate certificate signature invalid",
    );
  });

  it("rejects a forged 64-byte intermediate signature (accepted by unpatched rc14)", () => {
    const forged = (serverStatic: KeyPair) => certChain(sandboxRoot, serverStatic, true);
    expect(() => runWithNoiseRoot(sandboxRoot.public, clientHandshake(forged))).toThrow(
      "noise intermediate certificate signature invalid",
    );
  });
});
