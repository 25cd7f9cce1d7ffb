// entry — what the portal takes from pkijs and asn1js (pinned by package-lock.json), bundled at
// build time by esbuild into one ES module that certflowd serves as /js/pki.js
// (tools/portal-pki/bundle.cmake). Only names are listed here: the portal's own code that uses
// them is portal/js/pkcs12.js.
export {
  AlgorithmIdentifier,
  Attribute,
  AttributeTypeAndValue,
  AuthenticatedSafe,
  CertBag,
  Certificate,
  CertificationRequest,
  ContentInfo,
  PBES2Params,
  PBKDF2Params,
  PFX,
  PKCS8ShroudedKeyBag,
  PublicKeyInfo,
  SafeBag,
  SafeContents,
} from "pkijs";
export { BmpString, Null, OctetString, PrintableString, Utf8String, fromBER } from "asn1js";
