// view-remote-pin — the PIN of a remote signing certificate (spec/protocol.md §24.3, §24.4):
// #/remote-activate/<id> (first activation: the PUK of the envelope + a new 8-digit PIN typed
// twice + a one-time code), #/remote-unblock/<id> (the same for a blocked PIN) and
// #/remote-pin/<id> (current PIN + new PIN twice + code). The code comes by SMS ("send a new
// code") or from the authenticator app. Every secret is wiped from the page once sent.

import { h, screen } from "./ui.js";
import { t, variant } from "./i18n.js";
import { makeForm } from "./form.js";
import { codeField, digitsField, flash, gate, isCode, isPin, isPuk, portal, say, session } from "./remote.js";

const KINDS = {
  "remote-activate": { op: "activate", proof: "puk", done: "remote.activate.done" },
  "remote-unblock": { op: "activate", proof: "puk", done: "remote.unblock.done" },
  "remote-pin": { op: "pin", proof: "pin", done: "remote.pin.done" },
};

function credentialId() {
  return decodeURIComponent(location.hash.replace(/^#\/?[^/]*\/?/, "").split(/[/?]/)[0] || "");
}

export function render(ctx, name) {
  const away = gate(session(), false);
  if (away) {
    location.hash = away;
    return;
  }
  const kind = KINDS[name];
  const screenName = name.replace(/^remote-/, "");
  const id = credentialId();
  const main = screen(t(`remote.${screenName}.title`), h("p", { role: "status", text: t("common.working") }));
  portal(ctx, "status").then((st) => {
    const cred = (st.credentials || []).find((c) => c.id === id);
    if (!cred) {
      main.replaceChildren(main.firstChild, h("p", { class: "alert", role: "alert", text: t("remote.err.notFound") }),
        h("p", {}, h("a", { href: "#/remote", text: t("remote.back") })));
      return;
    }
    form(ctx, kind, screenName, cred, st.otp || "sms", main);
  }, (e) => {
    if (!(e && e.problem)) throw e;
    if (e.problem === "badSession") {
      flash.key = "remote.login.ended";
      location.hash = "#/remote-login";
      return;
    }
    main.replaceChildren(main.firstChild, h("p", { class: "alert", role: "alert", text: say(e, screenName) }));
  });
}

function form(ctx, kind, screenName, cred, otpKind, main) {
  const puk = kind.proof === "puk";
  const old = digitsField(kind.proof, t(puk ? "remote.puk.label" : "remote.pin.current"),
    t(puk ? "remote.puk.hint" : "remote.pin.current.hint"));
  const pin = digitsField("newPin", t("remote.pin.new"), t("remote.pin.new.hint"));
  const pin2 = digitsField("newPin2", t("remote.pin.new2"));
  const box = {};
  const code = codeField(otpKind, () => portal(ctx, "otp"), box, screenName);
  const secrets = [old, pin, pin2, code];
  const tries = puk ? cred.pukTriesLeft : cred.pinTriesLeft;
  const triesEl = Number.isInteger(tries) ? h("p", { class: "hint", id: "remote-tries",
    text: t(puk ? "remote.puk.tries" : "remote.pin.tries", { n: tries }) }) : null;
  const { form: el, alert } = makeForm({
    screen: screenName,
    submitLabel: t(`remote.${screenName}.submit`),
    describe: (e, s) => say(e, s, otpKind),
    cancelHref: "#/remote",
    content: [old.el, pin.el, pin2.el, code.el],
    checks: () => {
      const v = (f) => f.input.value.trim();
      const out = [
        [old, !v(old) ? "check.required" : (puk ? isPuk(v(old)) : isPin(v(old))) ? null
          : puk ? "remote.check.puk" : "remote.check.pin"],
        [pin, isPin(v(pin)) ? null : "remote.check.pin"],
        [pin2, v(pin2) === v(pin) ? null : "remote.check.pin.same"],
        [code, isCode(v(code)) ? null : "remote.check.otp"],
      ];
      if (!puk && !out[1][1] && v(pin) === v(old)) out[1][1] = "remote.check.pin.differ";
      return out;
    },
    send: async () => {
      const v = (f) => f.input.value.trim();
      const payload = { credentialId: cred.id, [kind.proof]: v(old), newPin: v(pin), otp: v(code) };
      // what was typed leaves the page now, whatever the answer
      for (const f of secrets) f.input.value = "";
      await portal(ctx, kind.op, payload);
      flash.key = kind.done;
      location.hash = "#/remote";
    },
    onProblem: (e) => {
      if (triesEl && e.attemptsLeft !== null && (e.problem === "badPIN" || e.problem === "badPUK")) {
        triesEl.textContent = t(puk ? "remote.puk.tries" : "remote.pin.tries", { n: e.attemptsLeft });
      }
      if (e.problem === "badSession") {
        flash.key = "remote.login.ended";
        location.hash = "#/remote-login";
      }
    },
  });
  box.alert = alert;
  main.replaceChildren(main.firstChild,
    ...[h("p", { class: "intro", text: t(variant(`remote.${screenName}.intro`, otpKind)) }), triesEl, el].filter(Boolean));
}
