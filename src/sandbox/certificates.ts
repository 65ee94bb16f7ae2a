import type { Buffer } from "node:buffer";
import { proto } from "baileys/WAProto/index.js";
import { type KeyPair, generateKeyPair, sign, toBuffer, verify } from "./crypto";

export const ROOT_SERIAL = 0;
const INTERMEDIATE_SERIAL = 1;
const LEAF_SERIAL = 2;
const YEAR = 365 * 24 * 3600;

/**
 * Issues the Noise certificate chain the server presents: an intermediate signed by the sandbox root
 * (issuerSerial 0, the root's serial, which is what clients check) and a leaf for the server's static key
 * signed by the intermediate. Real XEdDSA signatures, so a correct verifier accepts them.
 */
export function issueCertChain(root: KeyPair, serverStaticPub: Uint8Array, now = Math.floor(Date.now() / 1000)): Buffer {
  const intermediateKey = generateKeyPair();
  const intermediateDetails = proto.CertChain.NoiseCertificate.Details.encode({
    serial: INTERMEDIATE_SERIAL,
    issuerSerial: ROOT_SERIAL,
    key: intermediateKey.pub,
    notBefore: now - 3600,
    notAfter: now + 10 * YEAR,
  }).finish();
  const leafDetails = proto.CertChain.NoiseCertificate.Details.encode({
    serial: LEAF_SERIAL,
    issuerSerial: INTERMEDIATE_SERIAL,
    key: serverStaticPub,
    notBefore: now - 3600,
    notAfter: now + 10 * YEAR,
  }).finish();
  return toBuffer(
    proto.CertChain.encode({
      intermediate: { details: intermediateDetails, signature: sign(root.priv, intermediateDetails) },
      leaf: { details: leafDetails, signature: sign(intermediateKey.priv, leafDetails) },
    }).finish(),
  );
}

export interface ChainCheck {
  ok: boolean;
  reason?: string;
  leafKey?: Buffer;
}

/** What a client must check, done correctly (no accept-any-64-bytes). */
export function verifyCertChain(chain: Uint8Array, rootPub: Uint8Array): ChainCheck {
  const { intermediate, leaf } = proto.CertChain.decode(chain);
  if (!intermediate?.details || !intermediate.signature || !leaf?.details || !leaf.signature) return { ok: false, reason: "incomplete chain" };
  const inter = proto.CertChain.NoiseCertificate.Details.decode(intermediate.details);
  const leafDetails = proto.CertChain.NoiseCertificate.Details.decode(leaf.details);
  if (inter.issuerSerial !== ROOT_SERIAL) return { ok: false, reason: "intermediate not issued by root" };
  if (!verify(rootPub, intermediate.details, intermediate.signature)) return { ok: false, reason: "intermediate signature invalid" };
  if (leafDetails.issuerSerial !== inter.serial) return { ok: false, reason: "leaf not issued by intermediate" };
  if (!inter.key || !verify(inter.key, leaf.details, leaf.signature)) return { ok: false, reason: "leaf signature invalid" };
  if (!leafDetails.key) return { ok: false, reason: "leaf has no key" };
  return { ok: true, leafKey: toBuffer(leafDetails.key) };
}
