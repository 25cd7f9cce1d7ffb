// view-remote-password — the portal password (spec/protocol.md §23.3): forced after the first
// login, and open to change later. The new password is typed twice, and each rule of the policy
// (§16.3, the directory's meta.passwordPolicy) is shown as it is met. Also the new password of a
// reset (view-remote-forgot.js uses newPasswordFields).

import { h, screen, field } from "./ui.js";
import { t } from "./i18n.js";
import { makeForm } from "./form.js";
import { passwordPair } from "./policy.js";
import { flash, gate, portal, say, session, saveSession } from "./remote.js";

// The new password twice with its live rules (policy.js passwordPair): {els, checks(), value(),
// wipe()}.
export function newPasswordFields(policy, id) {
  return passwordPair(policy, id, { names: ["newPassword", "newPassword2"],
    first: t("remote.password.new"), second: t("remote.password.new2"), texts: "remote" });
}

export function render(ctx) {
  const s = session();
  const away = gate(s, true);
  if (away) {
    location.hash = away;
    return;
  }
  const forced = s.mustChangePassword;
  const current = field({ name: "password", label: t(forced ? "remote.password.first" : "remote.password.current"),
    type: "password", autocomplete: "current-password",
    hint: forced ? t("remote.password.first.hint") : null });
  const fresh = newPasswordFields(ctx.client.meta().passwordPolicy, "remote-password");
  const { form } = makeForm({
    screen: "password",
    submitLabel: t("remote.password.submit"),
    describe: say,
    cancelHref: forced ? "#/remote-logout" : "#/remote",
    content: [current.el, ...fresh.els],
    checks: () => {
      const rest = fresh.checks();
      if (!rest[0][1] && fresh.value() === current.input.value) rest[0][1] = "remote.check.password.differ";
      return [[current, current.input.value ? null : "check.required"], ...rest];
    },
    send: async () => {
      const payload = { password: current.input.value, newPassword: fresh.value() };
      try {
        await portal(ctx, "password", payload);
      } finally {
        current.input.value = "";
      }
      fresh.wipe();
      saveSession({ ...session(), mustChangePassword: false });
      flash.key = "remote.password.done";
      location.hash = "#/remote";
    },
  });
  screen(t(forced ? "remote.password.title.forced" : "remote.password.title"),
    h("p", { class: "intro", text: t(forced ? "remote.password.intro.forced" : "remote.password.intro") }),
    form);
}
