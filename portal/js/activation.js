// activation — what the activation screen (view-activate.js) and the end of a recovery
// (view-recovery.js) share: the envelope pasted from the e-mail, the file's password typed twice
// under the live policy, the activation itself (spec/protocol.md §9: a key pair made here, the
// CSR signed here, the request signed here) and the screen that offers the PKCS#12 file. The key
// and the password never leave the page; the server gets the CSR and the activation code only.

import { h, screen, homeLink } from "./ui.js";
import { t, has, language, variant } from "./i18n.js";
import { describe } from "./errors.js";
import { passwordPair } from "./policy.js";
import { b64u } from "./jws.js";
import { newKeyPair, makeCsr, makePkcs12, pemCertificates } from "./pkcs12.js";

let uid = 0;

// The text for problem p (api.js) on `prefix`'s screens ("activate", "recovery"):
// <prefix>.err.<name> (its variant for the second factor otp first, e.g. ".totp"), with
// <prefix>.err.<name>.left when tries are left; else the portal's.
export function explain(p, prefix, otp) {
  const key = `${prefix}.err.${p.problem}`;
  if (!has(key)) return describe(p, prefix);
  const vars = { attempts: p.attemptsLeft === null ? "" : p.attemptsLeft };
  let text = t(variant(key, otp), vars);
  if (p.attemptsLeft !== null && has(`${key}.left`)) text += " " + t(`${key}.left`, vars);
  return text;
}

// A labelled text area for the envelope pasted from the e-mail, shaped as ui.js field():
// {el, input, label, setError}.
export function envelopeField(name, label, hint) {
  const id = `f-${name}-a${++uid}`;
  const hintEl = h("p", { class: "hint", id: `${id}-hint`, text: hint });
  const errEl = h("p", { class: "field-error", id: `${id}-err`, hidden: true });
  const input = h("textarea", { id, name, rows: "7", spellcheck: "false", autocomplete: "off",
    class: "envelope", "aria-describedby": `${hintEl.id} ${errEl.id}` });
  const f = {
    el: h("div", { class: "field" }, h("label", { for: id, text: label }), hintEl, input, errEl),
    input, label,
    setError(text) {
      errEl.textContent = text || "";
      errEl.hidden = !text;
      if (text) input.setAttribute("aria-invalid", "true");
      else input.removeAttribute("aria-invalid");
    },
  };
  input.addEventListener("input", () => f.setError(null));
  return f;
}

// The password of the file, typed twice under the policy (policy.js passwordPair):
// {els, checks(), value(), wipe()}. labels: {first, second, hint}.
export function passwordFields(policy, id, labels) {
  return passwordPair(policy, id, { ...labels, names: ["password", "password2"], texts: "activate" });
}

// An activation code as a person may type it (§8): 20 characters of Crockford base32 once
// dashes and spaces are dropped, with O, I and L read as 0, 1, 1; U is no such character.
export function activationCodeOk(v) {
  return /^[0-9A-HJKMNP-TV-Za-hjkmnp-tv-zIiLlOo]{20}$/.test(v.replace(/[\s-]/g, ""));
}

// Keys and CSR made once per screen and kept for every try from it, so that a try whose
// answer was lost is answered with the same credential (§9: same account key, same CSR key).
export function keyMaker() {
  let made = null;
  return async () => {
    if (!made) {
      const keys = await newKeyPair();
      made = { keys, csr: b64u(await makeCsr(keys, "certflow portal")) };
    }
    return made;
  };
}

// Activate with reference + code, a key of keyMaker's, and make the PKCS#12 file under password:
// {file (Blob), filename, credential, certificate} (§9's members). Throws a Problem when the
// server refuses (nothing was made then).
export async function activate(ctx, keysFor, { reference, activationCode, password }) {
  const { keys, csr } = await keysFor();
  const r = await ctx.client.post("activate", { reference, activationCode, csr });
  const body = r.body || {};
  const cred = body.credential || {};
  const cert = body.certificate || {};
  const certs = pemCertificates(`${cert.pem || ""}\n${body.chain || ""}`);
  const name = cred.subject || "certflow";
  const bytes = await makePkcs12({ privateKey: keys.privateKey, certs, password, name });
  const safe = name.normalize("NFKD").replace(/[^A-Za-z0-9._-]+/g, "-").replace(/^-+|-+$/g, "");
  return {
    file: new Blob([bytes], { type: "application/x-pkcs12" }),
    filename: `certflow-${safe || "certificate"}.p12`,
    credential: cred,
    certificate: cert,
  };
}

// A date (RFC 3339) in words in the page's language.
export function day(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  return new Intl.DateTimeFormat(language() === "fr" ? "fr-FR" : "en-GB",
    { day: "numeric", month: "long", year: "numeric", timeZone: "UTC" }).format(d);
}

let lastUrl = null;

// The screen after an activation: what was made, and the file to save (a link to the file in
// page memory: nothing more is fetched). extra: elements said after the file (e.g. that the
// replaced certificate is revoked).
export function showReady(result, ...extra) {
  if (lastUrl) URL.revokeObjectURL(lastUrl);
  lastUrl = URL.createObjectURL(result.file);
  const cert = result.certificate;
  const row = (label, value, id) => h("p", {}, `${label} `, h("span", { class: "id", id, text: value }));
  screen(t("activate.ready.title"),
    h("div", { class: "done", role: "status" },
      h("p", { id: "activate-ready", text: t("activate.ready.text") }),
      row(t("activate.ready.subject"), result.credential.subject || "", "activate-subject"),
      row(t("activate.ready.serial"), cert.serial || "", "activate-serial"),
      row(t("activate.ready.until"), day(cert.notAfter), "activate-until")),
    h("p", {}, h("a", { class: "button", id: "activate-download", href: lastUrl,
      download: result.filename, type: "application/x-pkcs12",
      text: t("activate.ready.download", { file: result.filename }) })),
    h("h2", { text: t("activate.ready.use.title") }),
    h("ul", {},
      h("li", { text: t("activate.ready.use.import") }),
      h("li", { text: t("activate.ready.use.keep") }),
      h("li", { text: t("activate.ready.use.lost") })),
    ...extra,
    homeLink());
}
