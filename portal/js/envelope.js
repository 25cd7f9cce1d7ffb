// envelope — opens a certflow envelope (spec/protocol.md §16.1) in the page with WebCrypto, as
// `certflow-agent envelope open` does: the armoured block pasted from the e-mail "your envelope",
// PBKDF2-HMAC-SHA-256 of the passphrase, AES-256-GCM with the envelope number in the additional
// data. The passphrase and what the envelope holds stay in the page; nothing is sent.

const BEGIN = "-----BEGIN CERTFLOW ENVELOPE-----";
const END = "-----END CERTFLOW ENVELOPE-----";
const MAX_B64 = 8648;
const B64U = /^[A-Za-z0-9_-]*$/;

// Thrown with reason "format" (not a whole envelope) or "open" (wrong passphrase or damaged:
// the tag check cannot tell them apart, §16.1).
export class EnvelopeError extends Error {
  constructor(reason) {
    super(reason);
    this.reason = reason;
  }
}

function fromB64u(s, want) {
  if (typeof s !== "string" || !B64U.test(s) || s.length % 4 === 1) throw new EnvelopeError("format");
  const std = s.replace(/-/g, "+").replace(/_/g, "/");
  let bin;
  try {
    bin = atob(std + "=".repeat((4 - (std.length % 4)) % 4));
  } catch {
    throw new EnvelopeError("format");
  }
  const out = Uint8Array.from(bin, (c) => c.charCodeAt(0));
  if (want !== undefined && out.length !== want) throw new EnvelopeError("format");
  return out;
}

// The header of the first envelope in text (anything around it, such as the rest of the
// e-mail, is skipped), checked as §16.1 "Reading" says, before any key is derived.
export function readHeader(text) {
  const start = text.indexOf(BEGIN);
  const end = start < 0 ? -1 : text.indexOf(END, start + BEGIN.length);
  if (end < 0) throw new EnvelopeError("format");
  const b64 = text.slice(start + BEGIN.length, end).replace(/[ \t\r\n]/g, "");
  if (!b64 || b64.length > MAX_B64 || !/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) {
    throw new EnvelopeError("format");
  }
  let hdr;
  try {
    hdr = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(
      Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))));
  } catch {
    throw new EnvelopeError("format");
  }
  const int = (v, lo, hi) => Number.isInteger(v) && v >= lo && v <= hi;
  if (!hdr || hdr.v !== 1 || hdr.kdf !== "PBKDF2-HMAC-SHA256" || hdr.enc !== "A256GCM" ||
      !int(hdr.iter, 1000, 10000000) || !int(hdr.number, 0, 4294967295)) {
    throw new EnvelopeError("format");
  }
  const ct = fromB64u(hdr.ct);
  if (ct.length > 4096) throw new EnvelopeError("format");
  return { iter: hdr.iter, number: hdr.number, salt: fromB64u(hdr.salt, 16),
    nonce: fromB64u(hdr.nonce, 12), ct, tag: fromB64u(hdr.tag, 16) };
}

// {reference, activationCode, emergencyCode, envelopeNumber} of the envelope in text, opened
// with passphrase (its UTF-8 octets exactly as typed: no trimming, no normalisation).
export async function openEnvelope(text, passphrase) {
  const h = readHeader(text);
  const base = await crypto.subtle.importKey("raw", new TextEncoder().encode(passphrase),
    "PBKDF2", false, ["deriveKey"]);
  const key = await crypto.subtle.deriveKey(
    { name: "PBKDF2", hash: "SHA-256", salt: h.salt, iterations: h.iter },
    base, { name: "AES-GCM", length: 256 }, false, ["decrypt"]);
  const sealed = new Uint8Array(h.ct.length + 16);
  sealed.set(h.ct);
  sealed.set(h.tag, h.ct.length);
  let plain;
  try {
    plain = new Uint8Array(await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: h.nonce, tagLength: 128,
        additionalData: new TextEncoder().encode(`certflow-envelope-v1:${h.number}`) },
      key, sealed));
  } catch {
    throw new EnvelopeError("open");
  }
  let doc;
  try {
    doc = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(plain));
  } catch {
    doc = null;
  } finally {
    plain.fill(0);
  }
  if (!doc || typeof doc.reference !== "string" || typeof doc.activationCode !== "string") {
    throw new EnvelopeError("format");
  }
  return { reference: doc.reference, activationCode: doc.activationCode,
    emergencyCode: typeof doc.emergencyCode === "string" ? doc.emergencyCode : "",
    envelopeNumber: h.number };
}
