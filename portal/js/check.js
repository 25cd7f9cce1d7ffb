// check — the rules of spec/protocol.md §14, §15 and §20 for what a person types, checked in the
// page before anything is sent, so that a mistake gets a message beside its field (the server
// checks again and changes nothing on bad input). Each check returns null when the value is
// fine, else the catalogue key of what to fix.

const utf8 = new TextEncoder();
const octets = (s) => utf8.encode(s).length;
const hasControl = (s) => /[\u0000-\u001f\u007f-\u009f]/.test(s);

export function name(v) {
  if (!v) return "check.required";
  if (v !== v.trim()) return "check.name.spaces";
  if (octets(v) > 64) return "check.name.long";
  if (hasControl(v) || /[,=+\\"<>;#]/.test(v)) return "check.name.chars";
  return null;
}

export function fullName(given, surname) {
  return octets(`${given} ${surname}`) > 64 ? "check.name.fullLong" : null;
}

export function uniqueId(v) {
  if (!v) return "check.required";
  return /^[A-Za-z0-9._-]{1,64}$/.test(v) ? null : "check.uniqueId";
}

export function email(v, max = 127) {
  if (!v) return "check.required";
  const at = v.indexOf("@");
  if (at <= 0 || at !== v.lastIndexOf("@") || at === v.length - 1 || /\s/.test(v) || hasControl(v)) {
    return "check.email";
  }
  return octets(v) > max ? "check.email.long" : null;
}

// The mobile number as sent: spaces, dots, dashes and brackets dropped.
export function mobileValue(v) {
  return v.replace(/[\s.()-]/g, "");
}

export function mobile(v) {
  if (!v) return "check.required";
  return /^\+[0-9]{8,15}$/.test(mobileValue(v)) ? null : "check.mobile";
}

export function question(v) {
  if (!v.trim()) return "check.required";
  return octets(v) > 200 || hasControl(v) ? "check.question" : null;
}

// §15: white space at the ends dropped, inner runs made one space, ASCII letters lower case.
export function normaliseAnswer(v) {
  return v.replace(/^[ \t\r\n\f\v]+|[ \t\r\n\f\v]+$/g, "").replace(/[ \t\r\n\f\v]+/g, " ")
    .replace(/[A-Z]/g, (c) => c.toLowerCase());
}

export function answer(v) {
  const n = normaliseAnswer(v);
  if (!n) return "check.required";
  return octets(n) > 128 ? "check.answer.long" : null;
}

// A reference number as sent: 12 digits, spaces and dashes dropped.
export function referenceValue(v) {
  return v.replace(/[\s-]/g, "");
}

export function reference(v) {
  if (!v) return "check.required";
  return /^[0-9]{12}$/.test(referenceValue(v)) ? null : "check.reference";
}

// An emergency code (§20): 16 Crockford base32 characters once dashes and spaces are dropped.
export function emergencyCode(v) {
  if (!v) return "check.required";
  const bare = v.replace(/[\s-]/g, "");
  return /^[0-9A-HJKMNP-TV-Za-hjkmnp-tv-zIiLlOo]{16}$/.test(bare) ? null : "check.emergencyCode";
}
