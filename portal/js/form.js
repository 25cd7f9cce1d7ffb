// form — what every form of the portal does on submit: check each field, show what to fix
// beside it and in a summary at the top (focus goes to the first field to fix), then run the
// request with the button busy and show the problem in words if the server refuses.

import { h, alertBox, busy } from "./ui.js";
import { t } from "./i18n.js";
import { describe } from "./errors.js";

// spec: {screen, submitLabel, content: [elements], checks: () => [[field, key|null, vars]],
//        send: async () => void, danger, describe: (problem, screen) => text, cancelHref (both optional)}
export function makeForm(spec) {
  const alert = alertBox();
  alert.clear();
  const button = h("button", { type: "submit", class: spec.danger ? "danger" : null,
    text: spec.submitLabel });
  const form = h("form", { novalidate: true }, alert.el, ...spec.content,
    h("div", { class: "actions" }, button, h("a", { href: spec.cancelHref || "#/", text: t("common.cancel") })));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (button.disabled) return;
    alert.clear();
    const problems = [];
    for (const [f, key, vars] of spec.checks()) {
      f.setError(key ? t(key, vars) : null);
      if (key) problems.push([f, t(key, vars)]);
    }
    if (problems.length) {
      alert.show(t("common.fix"), problems.map(([f, text]) => `${f.label.replace(/[.:]$/, "")} — ${text}`));
      problems[0][0].input.focus();
      return;
    }
    try {
      await busy(button, spec.send);
    } catch (e) {
      if (!(e && e.problem)) throw e;
      alert.show((spec.describe || describe)(e, spec.screen));
      if (spec.onProblem) spec.onProblem(e);
    }
  });
  return { form, alert, button };
}
