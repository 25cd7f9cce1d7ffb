// remote — what the screens of a remote credential share (spec/protocol.md §23–§24): the portal
// session (its bearer token kept in sessionStorage only: never a cookie, never a URL, gone when
// the tab closes or at logout), bearer requests to the directory's `portal` and `csc` URLs, dates
// and days in words, the "send a new code" button, and the texts of problems on these screens.

import { Problem } from "./api.js";
import { h, field, busy } from "./ui.js";
import { t, has, language, variant } from "./i18n.js";
import { describe } from "./errors.js";

const STORE = "certflow.remote.session";

// A message for the next screen (e.g. "your password is changed"), in page memory.
export const flash = { key: null, vars: null };

// {token, expiresAt, userId, mustChangePassword} or null.
export function session() {
  let s = null;
  try {
    s = JSON.parse(sessionStorage.getItem(STORE) || "null");
  } catch {
    s = null;
  }
  // the server judges expiry (badSession): this device's clock may be wrong
  return s && typeof s.token === "string" ? s : null;
}

export function saveSession(s) {
  sessionStorage.setItem(STORE, JSON.stringify(s));
}

export function endSession() {
  try {
    sessionStorage.removeItem(STORE);
  } catch {
    /* nothing kept */
  }
}

// The screen a person without a (fully open) session goes to instead, or null when s will do.
export function gate(s, allowRestricted) {
  if (!s) return "#/remote-login";
  if (s.mustChangePassword && !allowRestricted) return "#/remote-password";
  return null;
}

// POST <portal>/<op> with the session's bearer token: the answer's body, or throws a Problem.
// A session the server no longer knows is forgotten here too.
export function portal(ctx, op, body) {
  return bearer(ctx, "portal", op, body);
}

// POST <csc>/<method> (the CSC API with the portal session, §25.1), as portal() does.
export function csc(ctx, method, body) {
  return bearer(ctx, "csc", method, body);
}

// POST <the directory's URL `resource`>/<op> with the session's bearer token.
async function bearer(ctx, resource, op, body) {
  const s = session();
  if (!s) throw new Problem(401, { type: "urn:certflow:error:badSession" });
  const dir = await ctx.client.directory();
  if (typeof dir[resource] !== "string") throw new Problem(404, null);
  const r = await ctx.client.fetch(`${new URL(dir[resource]).pathname}/${op}`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${s.token}` },
    body: JSON.stringify(body || {}),
  });
  const text = await r.text();
  let doc = null;
  try {
    doc = text ? JSON.parse(text) : null;
  } catch {
    doc = null;
  }
  if (r.ok) return doc;
  const p = new Problem(r.status, doc, r.headers.get("Retry-After"));
  if (p.problem === "badSession") endSession();
  return Promise.reject(p);
}

// The text for problem p on the remote screen `screen`: remote.err.<screen>.<name>, then
// remote.err.<name>, then the portal's general texts. otp is the holder's second factor ("sms",
// "totp"): a text's variant for it comes first (no code can be sent to an authenticator app).
export function say(p, screen, otp) {
  const vars = { attempts: p.attemptsLeft === null ? "" : p.attemptsLeft };
  for (const key of [`remote.err.${screen}.${p.problem}`, `remote.err.${p.problem}`]) {
    if (has(key)) {
      let text = t(variant(key, otp), vars);
      if (p.attemptsLeft !== null && has(`${key}.left`)) text += " " + t(`${key}.left`, vars);
      return text;
    }
  }
  return describe(p, screen);
}

// A date (RFC 3339) in words in the page's language, e.g. "3 March 2027".
export function day(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  const locale = language() === "fr" ? "fr-FR" : "en-GB";
  return new Intl.DateTimeFormat(locale, { day: "numeric", month: "long", year: "numeric",
    timeZone: "UTC" }).format(d);
}

// A field for an 8-digit PIN (or a PUK): digits only, never remembered by the browser.
export function digitsField(name, label, hint) {
  return field({ name, label, type: "password", inputmode: "numeric", autocomplete: "off",
    hint, spellcheck: false });
}

export const isPin = (v) => /^[0-9]{8}$/.test(v);
export const isPuk = (v) => /^[0-9]{8,16}$/.test(v);
export const isCode = (v) => /^[0-9]{6,8}$/.test(v);

// The one-time code field, and for SMS a "send a new code" button that calls send() (an async
// function returning the otp-sent answer); its own status line says when a code went out, and
// a refusal goes to box.alert (the form's message area, set once the form is made).
// {el, input, setError}.
export function codeField(kind, send, box, screenName) {
  const f = field({ name: "otp", label: t("remote.otp.label"), inputmode: "numeric",
    autocomplete: "one-time-code", spellcheck: false,
    hint: t(kind === "totp" ? "remote.otp.hint.totp" : "remote.otp.hint.sms") });
  if (kind === "totp" || !send) return f;
  const status = h("p", { class: "hint", id: "remote-otp-status", role: "status" });
  const button = h("button", { type: "button", class: "secondary", id: "remote-otp-send",
    text: t("remote.otp.send") });
  button.addEventListener("click", async () => {
    const alert = box.alert;
    alert.clear();
    status.textContent = "";
    try {
      await busy(button, send);
      status.textContent = t("remote.otp.sent", { time: new Date().toLocaleTimeString(
        language() === "fr" ? "fr-FR" : "en-GB", { hour: "2-digit", minute: "2-digit" }) });
      f.input.focus();
    } catch (e) {
      if (!(e && e.problem)) throw e;
      if (e.problem === "rateLimited") {
        const secs = e.retryAfterSecs === null ? 60 : e.retryAfterSecs;
        alert.show(t("remote.otp.wait", { seconds: Math.max(1, secs) }));
      } else {
        alert.show(say(e, screenName));
      }
    }
  });
  f.el.append(h("div", { class: "actions" }, button), status);
  return f;
}
