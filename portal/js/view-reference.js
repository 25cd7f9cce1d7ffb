// view-reference — seed 001: renew an expired reference number (spec/protocol.md §15) with the
// answers to the three security questions, in the order they were chosen; the attempts left
// are shown after a wrong try.

import { h, screen, field, homeLink } from "./ui.js";
import { t } from "./i18n.js";
import { makeForm } from "./form.js";
import * as check from "./check.js";

export function render(ctx) {
  const meta = ctx.client.meta();
  const ref = field({ name: "reference", label: t("reference.reference"), inputmode: "numeric",
    hint: t("reference.reference.hint") });
  const answers = [1, 2, 3].map((n) =>
    field({ name: `answer${n}`, label: t("reference.answer", { n }), spellcheck: false }));
  const { form } = makeForm({
    screen: "reference",
    submitLabel: t("reference.submit"),
    content: [
      ref.el,
      h("fieldset", {}, h("legend", { text: t("reference.answers") }),
        h("p", { class: "hint", text: t("reference.answers.hint",
          { n: meta.questionsRequired || 2, attempts: meta.questionAttempts || 5 }) }),
        ...answers.map((a) => a.el)),
    ],
    checks: () => [[ref, check.reference(ref.input.value)],
      ...answers.map((a) => [a, check.answer(a.input.value)])],
    send: async () => {
      await ctx.client.post("referenceRenew", {
        reference: check.referenceValue(ref.input.value),
        answers: answers.map((a) => a.input.value),
      });
      screen(t("reference.done.title"),
        h("div", { class: "done", role: "status" },
          h("p", { id: "reference-sent", text: t("reference.done.text") }),
          h("p", { text: t("reference.done.next") })),
        homeLink());
    },
    onProblem: () => answers.forEach((a) => { a.input.value = ""; }),
  });
  screen(t("reference.title"), h("p", { class: "intro", text: t("reference.intro") }), form);
}
