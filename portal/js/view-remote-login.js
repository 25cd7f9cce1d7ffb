// view-remote-login — seeds 002–004: the holder of a remote signing certificate logs in with the
// user id and password of the e-mail "your portal login" (spec/protocol.md §23.2). The answer's
// bearer token is kept in sessionStorage (remote.js); a first password must be changed before
// anything else (#/remote-password).

import { h, screen, field } from "./ui.js";
import { t } from "./i18n.js";
import { makeForm } from "./form.js";
import { flash, saveSession, say, session } from "./remote.js";

export function render(ctx) {
  const s = session();
  if (s) {
    location.hash = s.mustChangePassword ? "#/remote-password" : "#/remote";
    return;
  }
  const user = field({ name: "userId", label: t("remote.login.userId"), inputmode: "numeric",
    autocomplete: "username", spellcheck: false, hint: t("remote.login.userId.hint") });
  const pw = field({ name: "password", label: t("remote.login.password"), type: "password",
    autocomplete: "current-password" });
  const { form } = makeForm({
    screen: "login",
    submitLabel: t("remote.login.submit"),
    describe: say,
    content: [user.el, pw.el],
    checks: () => [
      [user, /^[0-9]{10}$/.test(user.input.value.replace(/\s/g, "")) ? null : "remote.check.userId"],
      [pw, pw.input.value ? null : "check.required"],
    ],
    send: async () => {
      const payload = { userId: user.input.value.replace(/\s/g, ""), password: pw.input.value };
      pw.input.value = "";
      const r = (await ctx.client.post("login", payload)).body || {};
      saveSession({ token: r.token, expiresAt: r.expiresAt, userId: r.userId || payload.userId,
        mustChangePassword: !!r.mustChangePassword });
      location.hash = r.mustChangePassword ? "#/remote-password" : "#/remote";
    },
  });
  const note = flash.key;
  flash.key = null;
  screen(t("remote.login.title"),
    ...(note ? [h("p", { class: "done", role: "status", id: "remote-flash", text: t(note) })] : []),
    h("p", { class: "intro", text: t("remote.login.intro") }), form,
    h("ul", { class: "links" },
      h("li", {}, h("a", { href: "#/remote-forgot", text: t("remote.login.forgot") })),
      h("li", {}, h("a", { href: "#/remote-reset", text: t("remote.login.haveToken") }))));
}
