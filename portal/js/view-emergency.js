// view-emergency — suspension with the emergency code (spec/protocol.md §20): the reference
// number and the emergency code of the envelope, and a confirmation that the person means it.

import { h, screen, field, checkbox, homeLink } from "./ui.js";
import { t } from "./i18n.js";
import { makeForm } from "./form.js";
import * as check from "./check.js";

export function render(ctx) {
  const ref = field({ name: "reference", label: t("emergency.reference"), inputmode: "numeric",
    hint: t("emergency.reference.hint") });
  const code = field({ name: "emergencyCode", label: t("emergency.code"), type: "password",
    autocomplete: "off", spellcheck: false, hint: t("emergency.code.hint") });
  const sure = checkbox({ name: "confirm", label: t("emergency.confirm") });
  const { form } = makeForm({
    screen: "emergency",
    submitLabel: t("emergency.submit"),
    danger: true,
    content: [ref.el, code.el, sure.el],
    checks: () => [
      [ref, check.reference(ref.input.value)],
      [code, check.emergencyCode(code.input.value)],
      [sure, sure.input.checked ? null : "check.confirm"],
    ],
    send: async () => {
      const payload = { reference: check.referenceValue(ref.input.value),
        emergencyCode: code.input.value.trim() };
      code.input.value = "";
      const r = await ctx.client.post("emergencySuspend", payload);
      screen(t("emergency.done.title"),
        h("div", { class: "done", role: "status" },
          h("p", { id: "emergency-done", text: t("emergency.done.text") }),
          h("p", {}, t("emergency.done.credential"), " ",
            h("span", { class: "id", id: "credential-id", text: (r.body && r.body.credential) || "" })),
          h("p", { text: t("emergency.done.next") })),
        homeLink());
    },
  });
  screen(t("emergency.title"), h("p", { class: "intro", text: t("emergency.intro") }), form);
}
