// view-remote — the dashboard of a remote signing certificate's holder (spec/protocol.md §23.4):
// for each credential its state, serial, end of validity with the days left, the renewal window
// in words, the PIN's state, the operator's "update by" notice, and what can be done next
// (activate, change or unblock the PIN). Also #/remote-logout (§23.3).

import { h, screen, homeLink } from "./ui.js";
import { t, has, variant } from "./i18n.js";
import { day, endSession, flash, gate, portal, say, session } from "./remote.js";

function row(name, label, value) {
  return [h("dt", { text: label }), h("dd", { "data-field": name, text: value })];
}

function renewalText(c) {
  const r = c.renewal;
  if (c.status === "expired") return t("remote.renewal.expired");
  if (!r || !c.notAfter) return null;
  if (r.offered) return t("remote.renewal.open", { date: day(c.notAfter) });
  if (c.status !== "active") return null;
  return t("remote.renewal.opens", { date: day(r.opensAt), n: r.daysLeft });
}

function pinText(c) {
  if (!c.pinStatus) return null;
  if (c.pinStatus === "blocked") return t("remote.pin.blocked");
  if (c.status === "pending") return t("remote.pin.pending");
  return t("remote.pin.active", { n: c.pinTriesLeft });
}

function actions(c) {
  const links = [];
  const link = (route, key) => links.push(h("a", { class: "button", href: `#/${route}/${c.id}`,
    text: t(key) }));
  if (c.status === "revoked" || !c.pinStatus) return links;
  if (c.status === "pending") link("remote-activate", "remote.action.activate");
  else if (c.pinStatus === "blocked") link("remote-unblock", "remote.action.unblock");
  else link("remote-pin", "remote.action.pin");
  if (c.status === "active" && c.pinStatus !== "blocked") link("remote-sign", "remote.action.sign");
  if (c.status === "active" && c.updateBy) link("remote-update", "remote.action.update");
  else if (c.status === "active" && c.renewal && c.renewal.offered) link("remote-renew", "remote.action.renew");
  return links;
}

// The heading of each credential's card: its product and end of validity; two alike (e.g. both
// waiting for activation) are told apart by the end of their number, so that each card (a
// region named by its heading) has a name of its own.
function headings(creds) {
  const texts = creds.map((c) => {
    const product = c.profile !== "remote" && has(`profile.${c.profile}`) ? t(`profile.${c.profile}`)
      : t("remote.cred.title");
    return c.notAfter ? t("remote.cred.heading", { product, date: day(c.notAfter) })
      : t("remote.cred.heading.none", { product });
  });
  return texts.map((text, i) => (texts.indexOf(text) !== texts.lastIndexOf(text)
    ? t("remote.cred.headingId", { heading: text, id: String(creds[i].id).slice(-6) }) : text));
}

// otp: the holder's second factor ("sms", "totp"), for the texts that depend on it.
function credentialCard(c, heading, otp) {
  const state = has(`remote.state.${c.status}`) ? t(`remote.state.${c.status}`) : c.status;
  const rows = [row("status", t("remote.field.status"), state)];
  if (c.serial) rows.push(row("serial", t("remote.field.serial"), c.serial));
  if (c.notAfter) {
    rows.push(row("notAfter", t("remote.field.notAfter"), day(c.notAfter)));
    rows.push(row("daysLeft", t("remote.field.daysLeft"), t("remote.days", { n: c.daysLeft })));
  }
  const renewal = renewalText(c);
  if (renewal) rows.push(row("renewal", t("remote.field.renewal"), renewal));
  const pin = pinText(c);
  if (pin) rows.push(row("pin", t("remote.field.pin"), pin));
  const notice = c.updateBy
    ? h("p", { class: "notice", "data-field": "update", role: "note",
      text: t(c.updateNote ? "remote.update.noteReason" : "remote.update.note",
        { date: day(c.updateBy), reason: c.updateNote || "" }) })
    : null;
  const intro = c.status === "pending" ? h("p", { class: "hint", text: t(variant("remote.pending.intro", otp)) }) : null;
  return h("section", { class: "credential", "data-credential": c.id, "data-status": c.status,
    "aria-labelledby": `cred-${c.id}` },
  h("h2", { id: `cred-${c.id}`, text: heading }),
  h("p", { class: "hint" }, t("remote.cred.id"), " ", h("span", { class: "id", text: c.id })),
  notice, intro, h("dl", { class: "facts" }, ...rows.flat()),
  h("div", { class: "actions" }, ...actions(c)));
}

export async function render(ctx) {
  const away = gate(session(), false);
  if (away) {
    location.hash = away;
    return;
  }
  const main = screen(t("remote.home.title"), h("p", { role: "status", text: t("common.working") }));
  let st;
  try {
    st = await portal(ctx, "status");
  } catch (e) {
    if (!(e && e.problem)) throw e;
    if (e.problem === "badSession") {
      flash.key = "remote.login.ended";
      location.hash = "#/remote-login";
      return;
    }
    main.replaceChildren(main.firstChild, h("p", { class: "alert", role: "alert", text: say(e, "status") }),
      homeLink());
    return;
  }
  const note = flash.key;
  const noteVars = flash.vars;
  flash.key = null;
  flash.vars = null;
  const who = st.subject || {};
  const creds = st.credentials || [];
  const titles = headings(creds);
  main.replaceChildren(...[main.firstChild,
    note ? h("p", { class: "done", role: "status", id: "remote-flash", text: t(note, noteVars) }) : null,
    h("p", { class: "intro", text: t("remote.home.hello", { name: `${who.givenName || ""} ${who.surname || ""}`.trim(),
      user: st.userId || "" }) }),
    ...(creds.length ? creds.map((c, i) => credentialCard(c, titles[i], st.otp)) : [h("p", { text: t("remote.home.none") })]),
    h("ul", { class: "links" },
      st.otp === "totp" ? null
        : h("li", {}, h("a", { href: "#/remote-totp", id: "remote-totp", text: t("remote.home.totp") })),
      h("li", {}, h("a", { href: "#/remote-password", text: t("remote.home.password") })),
      h("li", {}, h("a", { href: "#/remote-logout", id: "remote-logout", text: t("remote.home.logout") })))]
    .filter(Boolean));
}

// #/remote-logout: the session ends on the server and in the page.
export async function logout(ctx) {
  if (session()) {
    try {
      await portal(ctx, "logout");
    } catch (e) {
      if (!(e && e.problem)) throw e; // an expired session is as good as ended
    }
  }
  endSession();
  screen(t("remote.logout.title"),
    h("div", { class: "done", role: "status" }, h("p", { id: "remote-logged-out", text: t("remote.logout.text") })),
    h("p", {}, h("a", { href: "#/remote-login", text: t("remote.logout.again") })),
    homeLink());
}
