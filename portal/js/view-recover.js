// view-recover — seed 000, first step (spec/protocol.md §17.1): the professional e-mail address;
// the answer is the same whether or not the address is known.

import { h, screen, field, homeLink } from "./ui.js";
import { t } from "./i18n.js";
import { makeForm } from "./form.js";
import * as check from "./check.js";

export function render(ctx) {
  const email = field({ name: "email", label: t("recover.email"), type: "email",
    autocomplete: "email", hint: t("recover.email.hint") });
  const { form } = makeForm({
    screen: "recover",
    submitLabel: t("recover.submit"),
    content: [email.el],
    checks: () => [[email, check.email(email.input.value.trim(), 254)]],
    send: async () => {
      await ctx.client.post("recovery", { email: email.input.value.trim() });
      const minutes = ctx.client.meta().linkTokenMinutes || 60;
      screen(t("recover.done.title"),
        h("div", { class: "done", role: "status" },
          h("p", { id: "recover-sent", text: t("recover.done.text") }),
          h("p", { text: t("recover.done.minutes", { minutes }) }),
          h("p", { text: t("recover.done.none") })),
        homeLink());
    },
  });
  screen(t("recover.title"), h("p", { class: "intro", text: t("recover.intro") }), form);
}
