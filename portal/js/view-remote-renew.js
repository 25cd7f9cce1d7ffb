// view-remote-renew — seed 003: renewal of a remote signing certificate in its window
// (spec/protocol.md §26.2): the names published in the certificate confirmed unchanged, the
// consents read (their full text shown) and ticked, the PIN + a one-time code, a new envelope
// passphrase typed twice (the new PUK and emergency code come in an envelope sealed with it), a
// new PIN if the holder wants one, and the coupon the organisation gave (§26.3). Every secret is
// wiped from the page once sent.

import { h, screen, field, checkbox } from "./ui.js";
import { t, has } from "./i18n.js";
import { makeForm } from "./form.js";
import { ruleList, checkPassword } from "./policy.js";
import { codeField, day, digitsField, flash, gate, isCode, isPin, portal, say, session } from "./remote.js";

export function credentialId() {
  return decodeURIComponent(location.hash.replace(/^#\/?[^/]*\/?/, "").split(/[/?]/)[0] || "");
}

export function consentBlock(name) {
  const title = has(`consent.${name}.title`) ? t(`consent.${name}.title`) : name;
  const textId = `remote-consent-${name}-text`;
  const box = checkbox({ name: `consent-${name}`, label: t("remote.renew.consent.accept", { title }) });
  box.input.setAttribute("aria-describedby", `${textId} ${box.input.getAttribute("aria-describedby")}`);
  box.consent = name;
  const el = h("div", { class: "consent" },
    h("h3", { text: title }),
    h("div", { class: "consent-text", id: textId, tabindex: "0", role: "region", "aria-label": title,
      text: has(`consent.${name}.text`) ? t(`consent.${name}.text`) : title }),
    box.el);
  return { el, box };
}

export function render(ctx) {
  const away = gate(session(), false);
  if (away) {
    location.hash = away;
    return;
  }
  const id = credentialId();
  const main = screen(t("remote.renew.title"), h("p", { role: "status", text: t("common.working") }));
  portal(ctx, "status").then((st) => {
    const cred = (st.credentials || []).find((c) => c.id === id);
    if (!cred) {
      main.replaceChildren(main.firstChild, h("p", { class: "alert", role: "alert", text: t("remote.err.notFound") }),
        h("p", {}, h("a", { href: "#/remote", text: t("remote.back") })));
      return;
    }
    form(ctx, st, cred, main);
  }, (e) => {
    if (!(e && e.problem)) throw e;
    if (e.problem === "badSession") {
      flash.key = "remote.login.ended";
      location.hash = "#/remote-login";
      return;
    }
    main.replaceChildren(main.firstChild, h("p", { class: "alert", role: "alert", text: say(e, "renew") }));
  });
}

function form(ctx, st, cred, main) {
  const meta = ctx.client.meta();
  const who = st.subject || {};
  const names = h("dl", { class: "facts", id: "remote-renew-names" },
    h("dt", { text: t("remote.renew.givenName") }), h("dd", { text: who.givenName || "" }),
    h("dt", { text: t("remote.renew.surname") }), h("dd", { text: who.surname || "" }),
    h("dt", { text: t("remote.renew.uniqueId") }), h("dd", { text: who.uniqueId || "" }));
  const same = checkbox({ name: "identityUnchanged", label: t("remote.renew.identity.confirm") });
  const consents = (meta.consents || ["terms", "privacy"]).map(consentBlock);
  const pin = digitsField("pin", t("remote.pin.current"), t("remote.renew.pin.hint"));
  const box = {};
  const code = codeField(st.otp || "sms", () => portal(ctx, "otp"), box, "renew");
  const rules = ruleList(meta.passwordPolicy, "remote-renew-rules");
  const pass = field({ name: "passphrase", label: t("remote.renew.passphrase"), type: "password",
    autocomplete: "new-password", hint: t("remote.renew.passphrase.hint") });
  pass.input.setAttribute("aria-describedby", `${pass.input.getAttribute("aria-describedby")} remote-renew-rules`);
  const pass2 = field({ name: "passphrase2", label: t("remote.renew.passphrase2"), type: "password",
    autocomplete: "new-password" });
  pass.input.addEventListener("input", () => rules.update(pass.input.value));
  const newPin = digitsField("newPin", t("remote.renew.newPin"), t("remote.renew.newPin.hint"));
  const newPin2 = digitsField("newPin2", t("remote.pin.new2"));
  const coupon = field({ name: "coupon", label: t("remote.renew.coupon"), autocomplete: "off",
    spellcheck: false, hint: t("remote.renew.coupon.hint") });
  const secrets = [pin, code, pass, pass2, newPin, newPin2, coupon];
  const { form: el, alert } = makeForm({
    screen: "renew",
    submitLabel: t("remote.renew.submit"),
    describe: (e, s) => say(e, s, st.otp),
    cancelHref: "#/remote",
    content: [
      h("fieldset", {}, h("legend", { text: t("remote.renew.section.identity") }),
        h("p", { class: "hint", text: t("remote.renew.identity.intro") }), names, same.el),
      h("fieldset", {}, h("legend", { text: t("remote.renew.section.consents") }),
        ...consents.map((c) => c.el)),
      h("fieldset", {}, h("legend", { text: t("remote.renew.section.confirm") }), pin.el, code.el),
      h("fieldset", {}, h("legend", { text: t("remote.renew.section.envelope") }),
        pass.el, rules.el, pass2.el, newPin.el, newPin2.el),
      h("fieldset", {}, h("legend", { text: t("remote.renew.section.coupon") }), coupon.el),
    ],
    checks: () => {
      const v = (f) => f.input.value.trim();
      const out = [[same, same.input.checked ? null : "remote.check.identity"]];
      for (const c of consents) out.push([c.box, c.box.input.checked ? null : "remote.check.consent"]);
      out.push([pin, isPin(v(pin)) ? null : "remote.check.pin"]);
      out.push([code, isCode(v(code)) ? null : "remote.check.otp"]);
      out.push([pass, checkPassword(pass.input.value, meta.passwordPolicy).every((r) => r.ok) ? null
        : "remote.check.passphrase"]);
      out.push([pass2, pass2.input.value === pass.input.value ? null : "remote.check.passphrase.same"]);
      out.push([newPin, !v(newPin) || isPin(v(newPin)) ? null : "remote.check.pin"]);
      out.push([newPin2, v(newPin2) === v(newPin) ? null : "remote.check.pin.same"]);
      return out;
    },
    send: async () => {
      const v = (f) => f.input.value.trim();
      const payload = { credentialId: cred.id, identityUnchanged: true,
        consents: consents.map((c) => c.box.consent), pin: v(pin), otp: v(code),
        envelopePassphrase: pass.input.value };
      if (v(newPin)) payload.newPin = v(newPin);
      if (v(coupon)) payload.coupon = v(coupon);
      for (const f of secrets) f.input.value = "";
      rules.update("");
      const r = await portal(ctx, "renew", payload);
      const c = r || {};
      flash.key = "remote.renew.done";
      flash.vars = { date: c.notAfter ? day(c.notAfter) : "", n: c.envelopeNumber || "" };
      location.hash = "#/remote";
    },
    onProblem: (e) => {
      if (e.problem === "badSession") {
        flash.key = "remote.login.ended";
        location.hash = "#/remote-login";
      }
    },
  });
  box.alert = alert;
  main.replaceChildren(main.firstChild,
    h("p", { class: "intro", text: t("remote.renew.intro", { date: day(cred.notAfter) }) }), el);
}
