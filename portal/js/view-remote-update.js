// view-remote-update — seed 004: the update an operator asked for by a date (spec/protocol.md
// §26.4, §26.5), in two steps so that a new code can be sent in between. 1: the consents read
// and ticked, the PIN and a code → a ticket (kept in this page's memory only, never stored).
// 2: a new code for the ticket ("send a new code"), the new envelope passphrase typed twice and
// an optional new PIN → a new key and certificate; the previous certificate is revoked as
// superseded. Every secret is wiped from the page once sent.

import { h, screen, field } from "./ui.js";
import { t, variant } from "./i18n.js";
import { makeForm } from "./form.js";
import { ruleList, checkPassword } from "./policy.js";
import { codeField, day, digitsField, flash, gate, isCode, isPin, portal, say, session } from "./remote.js";
import { consentBlock, credentialId } from "./view-remote-renew.js";

function toLogin(e) {
  if (e && e.problem === "badSession") {
    flash.key = "remote.login.ended";
    location.hash = "#/remote-login";
  }
}

export function render(ctx) {
  const away = gate(session(), false);
  if (away) {
    location.hash = away;
    return;
  }
  const id = credentialId();
  const main = screen(t("remote.update.title"), h("p", { role: "status", text: t("common.working") }));
  portal(ctx, "status").then((st) => {
    const cred = (st.credentials || []).find((c) => c.id === id);
    if (!cred) {
      main.replaceChildren(main.firstChild, h("p", { class: "alert", role: "alert", text: t("remote.err.notFound") }),
        h("p", {}, h("a", { href: "#/remote", text: t("remote.back") })));
      return;
    }
    start(ctx, st, cred, main);
  }, (e) => {
    if (!(e && e.problem)) throw e;
    toLogin(e);
    if (e.problem !== "badSession") {
      main.replaceChildren(main.firstChild, h("p", { class: "alert", role: "alert", text: say(e, "update") }));
    }
  });
}

// Step 1: consents, PIN and a code of the session.
function start(ctx, st, cred, main) {
  const meta = ctx.client.meta();
  const consents = (meta.consents || ["terms", "privacy"]).map(consentBlock);
  const pin = digitsField("pin", t("remote.pin.current"), t("remote.renew.pin.hint"));
  const box = {};
  const code = codeField(st.otp || "sms", () => portal(ctx, "otp"), box, "update");
  const { form, alert } = makeForm({
    screen: "update",
    submitLabel: t("remote.update.start.submit"),
    describe: (e, s) => say(e, s, st.otp),
    cancelHref: "#/remote",
    content: [
      h("fieldset", {}, h("legend", { text: t("remote.renew.section.consents") }), ...consents.map((c) => c.el)),
      h("fieldset", {}, h("legend", { text: t("remote.renew.section.confirm") }), pin.el, code.el),
    ],
    checks: () => [
      ...consents.map((c) => [c.box, c.box.input.checked ? null : "remote.check.consent"]),
      [pin, isPin(pin.input.value.trim()) ? null : "remote.check.pin"],
      [code, isCode(code.input.value.trim()) ? null : "remote.check.otp"],
    ],
    send: async () => {
      const payload = { credentialId: cred.id, consents: consents.map((c) => c.box.consent),
        pin: pin.input.value.trim(), otp: code.input.value.trim() };
      pin.input.value = "";
      code.input.value = "";
      const r = await portal(ctx, "update", payload);
      complete(ctx, st, cred, r.ticket, r.expiresAt);
    },
    onProblem: toLogin,
  });
  box.alert = alert;
  main.replaceChildren(main.firstChild,
    h("p", { class: "intro", text: t(cred.updateNote ? "remote.update.noteReason" : "remote.update.note",
      { date: day(cred.updateBy), reason: cred.updateNote || "" }) }),
    h("p", { class: "hint", text: t("remote.update.intro") }), form);
}

// Step 2: a code for the ticket, the new envelope passphrase, an optional new PIN.
function complete(ctx, st, cred, ticket, expiresAt) {
  const policy = ctx.client.meta().passwordPolicy;
  const box = {};
  const code = codeField(st.otp || "sms", () => portal(ctx, "update/otp", { ticket }), box, "update");
  const rules = ruleList(policy, "remote-update-rules");
  const pass = field({ name: "passphrase", label: t("remote.renew.passphrase"), type: "password",
    autocomplete: "new-password", hint: t("remote.renew.passphrase.hint") });
  pass.input.setAttribute("aria-describedby", `${pass.input.getAttribute("aria-describedby")} remote-update-rules`);
  const pass2 = field({ name: "passphrase2", label: t("remote.renew.passphrase2"), type: "password",
    autocomplete: "new-password" });
  pass.input.addEventListener("input", () => rules.update(pass.input.value));
  const newPin = digitsField("newPin", t("remote.renew.newPin"), t("remote.renew.newPin.hint"));
  const newPin2 = digitsField("newPin2", t("remote.pin.new2"));
  const { form, alert } = makeForm({
    screen: "update",
    submitLabel: t("remote.update.complete.submit"),
    describe: (e, s) => say(e, s, st.otp),
    cancelHref: "#/remote",
    content: [
      h("fieldset", {}, h("legend", { text: t("remote.update.section.code") }), code.el),
      h("fieldset", {}, h("legend", { text: t("remote.renew.section.envelope") }),
        pass.el, rules.el, pass2.el, newPin.el, newPin2.el),
    ],
    checks: () => {
      const v = (f) => f.input.value.trim();
      return [
        [code, isCode(v(code)) ? null : "remote.check.otp"],
        [pass, checkPassword(pass.input.value, policy).every((r) => r.ok) ? null : "remote.check.passphrase"],
        [pass2, pass2.input.value === pass.input.value ? null : "remote.check.passphrase.same"],
        [newPin, !v(newPin) || isPin(v(newPin)) ? null : "remote.check.pin"],
        [newPin2, v(newPin2) === v(newPin) ? null : "remote.check.pin.same"],
      ];
    },
    send: async () => {
      const v = (f) => f.input.value.trim();
      const payload = { ticket, otp: v(code), envelopePassphrase: pass.input.value };
      if (v(newPin)) payload.newPin = v(newPin);
      for (const f of [code, pass, pass2, newPin, newPin2]) f.input.value = "";
      rules.update("");
      const r = (await portal(ctx, "update/complete", payload)) || {};
      ticket = null;
      flash.key = "remote.update.done";
      flash.vars = { date: r.notAfter ? day(r.notAfter) : "", n: r.envelopeNumber || "" };
      location.hash = "#/remote";
    },
    onProblem: toLogin,
  });
  box.alert = alert;
  screen(t("remote.update.complete.title"),
    h("div", { class: "done", role: "status" }, h("p", { id: "remote-update-step2",
      text: t(variant("remote.update.step2", st.otp), { time: new Date(expiresAt).toLocaleTimeString(
        document.documentElement.lang === "fr" ? "fr-FR" : "en-GB", { hour: "2-digit", minute: "2-digit" }) }) })),
    form);
}
