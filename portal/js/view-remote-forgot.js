// view-remote-forgot — forgot password / forgot user id of the portal login (spec/protocol.md
// §23.6). #/remote-forgot: the professional e-mail address; the same answer whether or not it
// is known; the e-mail ("set a new portal password") carries the user id and a token.
// #/remote-reset: the token (pasted, or taken from the link #/remote-reset/<token>, which is
// then removed from the address bar and history at once), a code sent to the phone (or the code
// of the authenticator app: the page knows which once "send a new code" is refused as conflict),
// and the new password typed twice under the live policy.

import { h, screen, field, homeLink } from "./ui.js";
import { t } from "./i18n.js";
import { makeForm } from "./form.js";
import * as check from "./check.js";
import { codeField, endSession, isCode, say } from "./remote.js";
import { newPasswordFields } from "./view-remote-password.js";

export function render(ctx) {
  const email = field({ name: "email", label: t("remote.forgot.email"), type: "email",
    autocomplete: "email", hint: t("remote.forgot.email.hint") });
  const { form } = makeForm({
    screen: "forgot",
    submitLabel: t("remote.forgot.submit"),
    describe: say,
    cancelHref: "#/remote-login",
    content: [email.el],
    checks: () => [[email, check.email(email.input.value.trim(), 254)]],
    send: async () => {
      await ctx.client.post("passwordForgot", { email: email.input.value.trim() });
      const minutes = ctx.client.meta().linkTokenMinutes || 60;
      screen(t("remote.forgot.done.title"),
        h("div", { class: "done", role: "status" },
          h("p", { id: "remote-forgot-sent", text: t("remote.forgot.done.text") }),
          h("p", { text: t("remote.forgot.done.minutes", { minutes }) })),
        h("p", {}, h("a", { href: "#/remote-reset", text: t("remote.forgot.done.next") })),
        homeLink());
    },
  });
  screen(t("remote.forgot.title"), h("p", { class: "intro", text: t("remote.forgot.intro") }), form);
}

const TOKEN = /^[A-Za-z0-9_-]{43}$/;

export function reset(ctx) {
  // a token that came in the link's fragment: into the field, out of the address bar
  const fromLink = location.hash.replace(/^#\/?remote-reset\/?/, "");
  if (fromLink) history.replaceState(null, "", `${location.pathname}#/remote-reset`);
  const token = field({ name: "token", label: t("remote.reset.token"), type: "password",
    autocomplete: "off", spellcheck: false, hint: t("remote.reset.token.hint") });
  if (TOKEN.test(fromLink)) token.input.value = fromLink;
  const box = {};
  let otp = "sms"; // until the server says that this login's codes come from an app
  const send = async () => {
    const v = token.input.value.trim();
    if (!TOKEN.test(v)) throw { problem: "tokenMissing", attemptsLeft: null, status: 400 };
    try {
      return await ctx.client.post("passwordResetOtp", { token: v });
    } catch (e) {
      if (e && e.problem === "conflict") otp = "totp";
      throw e;
    }
  };
  const code = codeField("sms", send, box, "reset");
  const fresh = newPasswordFields(ctx.client.meta().passwordPolicy, "remote-reset");
  const { form, alert } = makeForm({
    screen: "reset",
    submitLabel: t("remote.reset.submit"),
    describe: (e, s) => say(e, s, otp),
    cancelHref: "#/remote-login",
    content: [token.el, code.el, ...fresh.els],
    checks: () => [
      [token, TOKEN.test(token.input.value.trim()) ? null : "remote.check.token"],
      [code, isCode(code.input.value.trim()) ? null : "remote.check.otp"],
      ...fresh.checks(),
    ],
    send: async () => {
      const payload = { token: token.input.value.trim(), otp: code.input.value.trim(),
        newPassword: fresh.value() };
      code.input.value = "";
      await ctx.client.post("passwordReset", payload);
      token.input.value = "";
      fresh.wipe();
      endSession(); // every session of the holder ended on the server
      screen(t("remote.reset.done.title"),
        h("div", { class: "done", role: "status" }, h("p", { id: "remote-reset-done", text: t("remote.reset.done.text") })),
        h("p", {}, h("a", { href: "#/remote-login", text: t("remote.reset.done.login") })));
    },
  });
  box.alert = alert;
  screen(t("remote.reset.title"), h("p", { class: "intro", text: t("remote.reset.intro") }), form);
}
