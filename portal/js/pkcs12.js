// pkcs12 — the key pair, the certificate request and the PKCS#12 file of a signing certificate,
// all made in the page with WebCrypto and pkijs (./pki.js, bundled at build time from the npm
// packages that tools/portal-pki/package-lock.json pins). The private key never leaves the page
// in clear: it is generated here, signs the CSR here, and comes out of WebCrypto only wrapped
// (wrapKey "pkcs8", AES-256-CBC under a key derived from the person's password) straight into the
// file. Nothing here talks to the server.
//
// The file (RFC 7292), as `openssl pkcs12 -export` of OpenSSL 3 makes it, without encrypting
// the certificates (they are public; `-certpbe NONE`):
//   PFX v3, authSafe = data [ SafeContents [CertBag leaf, CertBag CA…], SafeContents [
//     PKCS8ShroudedKeyBag: PBES2 { PBKDF2 { 16-octet salt, ITERATIONS, hmacWithSHA256 },
//                                  aes256-CBC { 16-octet IV } } ] ],
//   macData = HMAC-SHA-256 with the PKCS#12 KDF (RFC 7292 B.2, SHA-256, ITERATIONS).
// The leaf's bag and the key's bag carry the same localKeyId (SHA-1 of the certificate, as
// OpenSSL does) and friendlyName, so that importers pair them.

import * as pki from "./pki.js";

export const ITERATIONS = 600000; // PBKDF2 and MAC: the agent's default for its keys (§16.4)

const OID = {
  pbes2: "1.2.840.113549.1.5.13",
  pbkdf2: "1.2.840.113549.1.5.12",
  hmacWithSHA256: "1.2.840.113549.2.9",
  aes256cbc: "2.16.840.1.101.3.4.1.42",
  shroudedKeyBag: "1.2.840.113549.1.12.10.1.2",
  certBag: "1.2.840.113549.1.12.10.1.3",
  x509Certificate: "1.2.840.113549.1.9.22.1",
  friendlyName: "1.2.840.113549.1.9.20",
  localKeyId: "1.2.840.113549.1.9.21",
  commonName: "2.5.4.3",
};

const random = (n) => crypto.getRandomValues(new Uint8Array(n));

// A new P-256 key pair. Extractable only so that wrapKey can put it into the file: this module
// never exports it in clear.
export function newKeyPair() {
  return crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"]);
}

// The DER of a PKCS#10 request for keys, signed with its private key (ECDSA with SHA-256).
// The server ignores the names of a CSR (§9) but wants a subject: CN = commonName.
export async function makeCsr(keys, commonName) {
  const csr = new pki.CertificationRequest();
  csr.subject.typesAndValues.push(new pki.AttributeTypeAndValue({
    type: OID.commonName, value: new pki.Utf8String({ value: commonName }) }));
  await csr.subjectPublicKeyInfo.importKey(keys.publicKey);
  csr.attributes = []; // PKCS#10's [0] attributes, empty but present: mbedTLS requires it
  await csr.sign(keys.privateKey, "SHA-256");
  return new Uint8Array(csr.toSchema().toBER(false));
}

// The DER of every certificate in a PEM text, in order.
export function pemCertificates(pem) {
  const out = [];
  const re = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+?)-----END CERTIFICATE-----/g;
  for (let m = re.exec(pem || ""); m; m = re.exec(pem)) {
    out.push(Uint8Array.from(atob(m[1].replace(/\s+/g, "")), (c) => c.charCodeAt(0)));
  }
  return out;
}

function attributes(name, keyId) {
  return [
    new pki.Attribute({ type: OID.friendlyName, values: [new pki.BmpString({ value: name })] }),
    new pki.Attribute({ type: OID.localKeyId, values: [new pki.OctetString({ valueHex: keyId })] }),
  ];
}

// The private key wrapped under the password: a PKCS8ShroudedKeyBag (PBES2, §16.4's scheme).
async function shroudedKey(privateKey, password, iterations) {
  const salt = random(16);
  const iv = random(16);
  const base = await crypto.subtle.importKey("raw", password, "PBKDF2", false, ["deriveKey"]);
  const kek = await crypto.subtle.deriveKey(
    { name: "PBKDF2", hash: "SHA-256", salt, iterations },
    base, { name: "AES-CBC", length: 256 }, false, ["wrapKey"]);
  // AES-CBC with PKCS#7 padding of the PrivateKeyInfo: exactly PBES2's encryptedData
  const wrapped = await crypto.subtle.wrapKey("pkcs8", privateKey, kek, { name: "AES-CBC", iv });
  const params = new pki.PBES2Params({
    keyDerivationFunc: new pki.AlgorithmIdentifier({
      algorithmId: OID.pbkdf2,
      algorithmParams: new pki.PBKDF2Params({
        salt: new pki.OctetString({ valueHex: salt }),
        iterationCount: iterations,
        prf: new pki.AlgorithmIdentifier({ algorithmId: OID.hmacWithSHA256,
          algorithmParams: new pki.Null() }),
      }).toSchema(),
    }),
    encryptionScheme: new pki.AlgorithmIdentifier({
      algorithmId: OID.aes256cbc, algorithmParams: new pki.OctetString({ valueHex: iv }) }),
  });
  return new pki.PKCS8ShroudedKeyBag({
    encryptionAlgorithm: new pki.AlgorithmIdentifier({ algorithmId: OID.pbes2,
      algorithmParams: params.toSchema() }),
    encryptedData: new pki.OctetString({ valueHex: wrapped }),
  });
}

// The PKCS#12 file (bytes) holding privateKey and certs (DER: the leaf first, then its CA
// certificates), protected by password (a string; its UTF-8 octets for PBES2, as OpenSSL reads
// them). name is the friendlyName importers show.
export async function makePkcs12({ privateKey, certs, password, name, iterations = ITERATIONS }) {
  const pw = new TextEncoder().encode(password);
  try {
    const keyId = new Uint8Array(await crypto.subtle.digest("SHA-1", certs[0]));
    const certBags = certs.map((der, i) => new pki.SafeBag({
      bagId: OID.certBag,
      bagValue: new pki.CertBag({ certId: OID.x509Certificate,
        certValue: new pki.OctetString({ valueHex: der }) }),
      bagAttributes: i === 0 ? attributes(name, keyId) : undefined,
    }));
    const keyBag = new pki.SafeBag({
      bagId: OID.shroudedKeyBag,
      bagValue: await shroudedKey(privateKey, pw, iterations),
      bagAttributes: attributes(name, keyId),
    });
    const authenticatedSafe = new pki.AuthenticatedSafe({ parsedValue: { safeContents: [
      { privacyMode: 0, value: new pki.SafeContents({ safeBags: certBags }) },
      { privacyMode: 0, value: new pki.SafeContents({ safeBags: [keyBag] }) },
    ] } });
    await authenticatedSafe.makeInternalValues({ safeContents: [{}, {}] });
    const pfx = new pki.PFX({ parsedValue: { integrityMode: 0, authenticatedSafe } });
    await pfx.makeInternalValues({ password: pw.buffer, iterations, pbkdf2HashAlgorithm: "SHA-256",
      hmacHashAlgorithm: "SHA-256" });
    return new Uint8Array(pfx.toSchema().toBER(false));
  } finally {
    pw.fill(0);
  }
}
