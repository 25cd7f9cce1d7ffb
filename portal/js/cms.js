// cms — a detached CMS signature (RFC 5652 SignedData, the .p7s file) of a document hashed in the
// page and signed remotely (spec/protocol.md §25): the page builds the signed attributes
// (contentType id-data, messageDigest = SHA-256 of the document, signingTime), asks the server to
// sign the SHA-256 of their DER encoding, and wraps that signature with the certificates into
// ContentInfo. ASN.1 by pkijs/asn1js (pki.js); the private key is never in the page.

import {
  AlgorithmIdentifier, Attribute, Certificate, ContentInfo, EncapsulatedContentInfo,
  IssuerAndSerialNumber, Null, ObjectIdentifier, OctetString, SignedAndUnsignedAttributes,
  SignedData, SignerInfo, UTCTime, fromBER,
} from "./pki.js";

export const SHA256 = "2.16.840.1.101.3.4.2.1";
const ID_DATA = "1.2.840.113549.1.7.1";
const ID_SIGNED_DATA = "1.2.840.113549.1.7.2";
const CONTENT_TYPE = "1.2.840.113549.1.9.3";
const MESSAGE_DIGEST = "1.2.840.113549.1.9.4";
const SIGNING_TIME = "1.2.840.113549.1.9.5";
const EC_SHA256 = "1.2.840.10045.4.3.2";
const RSA_SHA256 = "1.2.840.113549.1.1.11";
const EC_KEY = "1.2.840.10045.2.1";

// Standard base64 with padding (the CSC API's binary values), both ways.
export function b64(bytes) {
  let s = "";
  for (const b of new Uint8Array(bytes)) s += String.fromCharCode(b);
  return btoa(s);
}

export function unb64(text) {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

export async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}

function certificate(der) {
  const asn = fromBER(der.buffer.slice(der.byteOffset, der.byteOffset + der.byteLength));
  if (asn.offset === -1) throw new Error("certificate: not DER");
  return new Certificate({ schema: asn.result });
}

// The signature algorithm of the key for SHA-256 (CSC signAlgo, §25.2): its OID.
export function signAlgoFor(keyAlgoOid) {
  return keyAlgoOid === EC_KEY ? EC_SHA256 : RSA_SHA256;
}

function compare(a, b) {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

// The signed attributes of a document of SHA-256 digest, at time `when`:
// {attrs (SignedAndUnsignedAttributes), der (their DER, the SET OF that is signed)}.
// DER wants a SET OF in the order of its members' encodings (openssl checks it that way).
export function signedAttributes(digest, when) {
  const list = [
    new Attribute({ type: CONTENT_TYPE, values: [new ObjectIdentifier({ value: ID_DATA })] }),
    new Attribute({ type: MESSAGE_DIGEST, values: [new OctetString({ valueHex: digest })] }),
    new Attribute({ type: SIGNING_TIME, values: [new UTCTime({ valueDate: when })] }),
  ].map((a) => ({ a, enc: new Uint8Array(a.toSchema().toBER()) }))
    .sort((x, y) => compare(x.enc, y.enc)).map((x) => x.a);
  const attrs = new SignedAndUnsignedAttributes({ type: 0, attributes: list });
  const der = new Uint8Array(attrs.toSchema().toBER());
  der[0] = 0x31; // [0] IMPLICIT in SignerInfo, a SET when signed (RFC 5652 §5.4)
  return { attrs, der };
}

// The ContentInfo (DER bytes) of a detached SignedData: signer certificate first in certs (DER
// Uint8Arrays, then its chain), attrs from signedAttributes(), signature the remote one over
// SHA-256(attrs der) with signAlgo (DER Ecdsa-Sig-Value or PKCS#1 v1.5).
export function detachedSignature(certs, attrs, signature, signAlgo) {
  const parsed = certs.map(certificate);
  const signer = parsed[0];
  const signerInfo = new SignerInfo({
    version: 1,
    sid: new IssuerAndSerialNumber({ issuer: signer.issuer, serialNumber: signer.serialNumber }),
    digestAlgorithm: new AlgorithmIdentifier({ algorithmId: SHA256 }),
    signedAttrs: attrs,
    signatureAlgorithm: signAlgo === EC_SHA256
      ? new AlgorithmIdentifier({ algorithmId: EC_SHA256 })
      : new AlgorithmIdentifier({ algorithmId: RSA_SHA256, algorithmParams: new Null() }),
    signature: new OctetString({ valueHex: signature }),
  });
  const signed = new SignedData({
    version: 1,
    digestAlgorithms: [new AlgorithmIdentifier({ algorithmId: SHA256 })],
    encapContentInfo: new EncapsulatedContentInfo({ eContentType: ID_DATA }),
    certificates: parsed,
    signerInfos: [signerInfo],
  });
  const info = new ContentInfo({ contentType: ID_SIGNED_DATA, content: signed.toSchema(true) });
  return new Uint8Array(info.toSchema().toBER());
}
