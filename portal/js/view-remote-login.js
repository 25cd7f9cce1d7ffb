// view-remote-login — seeds 002–004: the holder of a remote signing certificate logs in with the
// user id and password of the e-mail "your portal login" (spec/protocol.md §23.2). The answer's
// bearer token is kept in sessionStorage (remote.js); a first password must be changed before
// anything else (#/remote-password). Or, without the password (§27), a QR code drawn in the page
// that the holder's certflow app approves: the page polls about once a second until the approval
// gives it the session, the code expires, or the person leaves the screen; the poll token stays in
// page memory only.

import { h, screen, field, busy } from "./ui.js";
import { t } from "./i18n.js";
import { makeForm } from "./form.js";
import { flash, saveSession, say, session } from "./remote.js";
import { qrSvg } from "./qr.js";

const MAX_POLLS = 900; // 15 minutes at one a second: the longest life of a challenge (§27)

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function loggedIn(r, userId) {
  saveSession({ token: r.token, expiresAt: r.expiresAt, userId: r.userId || userId,
    mustChangePassword: !!r.mustChangePassword });
  location.hash = r.mustChangePassword ? "#/remote-password" : "#/remote";
}

// Poll for the approval of the challenge whose secret poll token is in `start`; a refusal goes to
// `alert` (what went wrong, in words). Stops when the area leaves the page.
async function poll(ctx, start, area, alert) {
  const wanted = { pollToken: start.pollToken };
  start.pollToken = null;
  try {
    for (let i = 0; i < MAX_POLLS; i++) {
      await sleep(1000);
      if (!area.isConnected) return;
      let r;
      try {
        r = await ctx.client.post("qrLoginPoll", wanted);
      } catch (e) {
        if (!(e && e.problem)) throw e;
        if (!area.isConnected) return;
        if (e.problem === "rateLimited") {
          await sleep(1000 * Math.min(60, Math.max(1, e.retryAfterSecs || 1)));
          continue;
        }
        area.replaceChildren();
        alert.hidden = false;
        alert.textContent = say(e, "qr");
        return;
      }
      if (!area.isConnected) return;
      if (r.status === 202) continue;
      area.replaceChildren();
      loggedIn(r.body || {}, "");
      return;
    }
    area.replaceChildren();
    alert.hidden = false;
    alert.textContent = t("remote.err.qr.badToken");
  } finally {
    wanted.pollToken = null;
  }
}

function qrLogin(ctx) {
  const area = h("div", { id: "remote-qr" });
  const alert = h("p", { class: "alert", role: "alert", id: "remote-qr-alert", hidden: true });
  const button = h("button", { type: "button", class: "secondary", id: "remote-qr-start",
    text: t("remote.qr.start") });
  button.addEventListener("click", async () => {
    alert.hidden = true;
    alert.textContent = "";
    area.replaceChildren();
    let start;
    try {
      start = (await busy(button, () => ctx.client.post("qrLogin", {}))).body || {};
    } catch (e) {
      if (!(e && e.problem)) throw e;
      alert.hidden = false;
      alert.textContent = say(e, "qr");
      return;
    }
    const status = h("p", { role: "status", id: "remote-qr-status", text: t("remote.qr.waiting") });
    area.replaceChildren(qrSvg(start.challenge, t("remote.qr.image")),
      h("p", { class: "hint" }, t("remote.qr.text"), " ", h("span", { class: "id", id: "remote-qr-text",
        text: start.challenge })), status);
    button.textContent = t("remote.qr.again");
    area.scrollIntoView({ block: "nearest" });
    poll(ctx, start, area, alert);
  });
  return h("section", { class: "qr-login", "aria-labelledby": "remote-qr-title" },
    h("h2", { id: "remote-qr-title", text: t("remote.qr.title") }),
    h("p", { class: "hint", text: t("remote.qr.intro") }),
    h("div", { class: "actions" }, button), alert, area);
}

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
      loggedIn((await ctx.client.post("login", payload)).body || {}, payload.userId);
    },
  });
  const note = flash.key;
  flash.key = null;
  screen(t("remote.login.title"),
    ...(note ? [h("p", { class: "done", role: "status", id: "remote-flash", text: t(note) })] : []),
    h("p", { class: "intro", text: t("remote.login.intro") }), form, qrLogin(ctx),
    h("ul", { class: "links" },
      h("li", {}, h("a", { href: "#/remote-forgot", text: t("remote.login.forgot") })),
      h("li", {}, h("a", { href: "#/remote-reset", text: t("remote.login.haveToken") }))));
}
