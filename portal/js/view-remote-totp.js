// view-remote-totp — #/remote-totp: an authenticator app for the holder of a remote signing
// certificate (spec/protocol.md §19, §23.5: <portal>/totp/setup and /totp/confirm). The page
// asks for a new seed, draws its otpauth URI as a QR code in the page (qr.js: nothing fetched)
// and shows the secret for typing by hand, then asks for the app's first code. Once confirmed,
// the journeys ask for the app's codes instead of SMS codes. The QR code, the secret and the code
// leave the page once confirmed, or when the person goes elsewhere.

import { h, screen } from "./ui.js";
import { t } from "./i18n.js";
import { makeForm } from "./form.js";
import { codeField, flash, gate, isCode, portal, say, session } from "./remote.js";
import { qrSvg } from "./qr.js";

// The base32 secret in groups of four, as authenticator apps show it for typing.
function grouped(secret) {
  return secret.replace(/(.{4})(?=.)/g, "$1 ");
}

function ended(e, main) {
  if (e.problem === "badSession") {
    flash.key = "remote.login.ended";
    location.hash = "#/remote-login";
    return;
  }
  main.replaceChildren(main.firstChild, h("p", { class: "alert", role: "alert", text: say(e, "totp") }),
    h("p", {}, h("a", { href: "#/remote", text: t("remote.back") })));
}

export async function render(ctx) {
  const away = gate(session(), false);
  if (away) {
    location.hash = away;
    return;
  }
  const main = screen(t("remote.totp.title"), h("p", { role: "status", text: t("common.working") }));
  let setup;
  try {
    const st = await portal(ctx, "status");
    if (st.otp === "totp") {
      main.replaceChildren(main.firstChild, h("p", { class: "done", role: "status", id: "remote-totp-already",
        text: t("remote.totp.already") }), h("p", {}, h("a", { href: "#/remote", text: t("remote.back") })));
      return;
    }
    setup = await portal(ctx, "totp/setup");
  } catch (e) {
    if (!(e && e.problem)) throw e;
    ended(e, main);
    return;
  }
  if (!location.hash.startsWith("#/remote-totp")) return; // the person went elsewhere meanwhile
  const period = Number.isInteger(setup.period) ? setup.period : 30;
  const digits = Number.isInteger(setup.digits) ? setup.digits : 6;
  const qr = qrSvg(setup.otpauthUri, t("remote.totp.qr"));
  const secret = h("p", { class: "secret", id: "remote-totp-secret", text: grouped(setup.secret) });
  setup = null;
  const code = codeField("totp", null, {}, "totp");
  const { form } = makeForm({
    screen: "totp",
    submitLabel: t("remote.totp.submit"),
    describe: say,
    cancelHref: "#/remote",
    content: [code.el],
    checks: () => [[code, isCode(code.input.value.trim()) ? null : "remote.check.otp"]],
    send: async () => {
      const payload = { code: code.input.value.trim() };
      code.input.value = "";
      await portal(ctx, "totp/confirm", payload);
      // the seed is in the app now: nothing of it stays in the page
      qr.remove();
      secret.remove();
      flash.key = "remote.totp.done";
      location.hash = "#/remote";
    },
    onProblem: (e) => {
      if (e.problem === "badSession") {
        flash.key = "remote.login.ended";
        location.hash = "#/remote-login";
      }
    },
  });
  main.replaceChildren(main.firstChild,
    h("p", { class: "intro", text: t("remote.totp.intro") }),
    h("h2", { text: t("remote.totp.scan") }), qr,
    h("h2", { text: t("remote.totp.manual") }),
    h("p", { class: "hint", text: t("remote.totp.manual.hint", { digits, period }) }), secret,
    h("h2", { text: t("remote.totp.confirm") }),
    h("p", { class: "hint", text: t("remote.totp.confirm.hint") }), form);
}
