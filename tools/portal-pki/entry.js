// entry — what the portal takes from pkijs and asn1js (pinned by package-lock.json), bundled at
// build time by esbuild into one ES module that certflowd serves as /js/pki.js
// (tools/portal-pki/bundle.cmake). Only names are listed here: the portal's own code that uses
// them is portal/js/pkcs12.js, portal/js/cms.js and portal/js/qr.js (qrcode-generator: the QR
// codes of the TOTP set-up and of the QR login, drawn in the page).
export {
  AlgorithmIdentifier,
  Attribute,
  AttributeTypeAndValue,
  AuthenticatedSafe,
  CertBag,
  Certificate,
  CertificationRequest,
  ContentInfo,
  EncapsulatedContentInfo,
  IssuerAndSerialNumber,
  PBES2Params,
  PBKDF2Params,
  PFX,
  PKCS8ShroudedKeyBag,
  PublicKeyInfo,
  SafeBag,
  SafeContents,
  SignedAndUnsignedAttributes,
  SignedData,
  SignerInfo,
} from "pkijs";
export {
  BmpString,
  Null,
  ObjectIdentifier,
  OctetString,
  PrintableString,
  Set,
  UTCTime,
  Utf8String,
  fromBER,
} from "asn1js";
export { default as qrcode } from "qrcode-generator";
