// view-home — the start page: what a person can do here, one link each.
import { h, screen } from "./ui.js";
import { t } from "./i18n.js";

export function render() {
  const item = (href, key) =>
    h("li", {}, h("a", { href, text: t(`home.${key}.title`) }), h("p", { text: t(`home.${key}.text`) }));
  screen(
    t("home.title"),
    h("p", { class: "intro", text: t("home.intro") }),
    h("ul", { class: "cards" },
      item("#/apply", "apply"),
      h("li", {}, h("a", { href: "#/activate", text: t("activate.card.title") }), h("p", { text: t("activate.card.text") })),
      item("#/recover", "recover"),
      item("#/reference", "reference"),
      item("#/emergency", "emergency"),
      h("li", {}, h("a", { href: "#/remote-login", text: t("remote.card.title") }), h("p", { text: t("remote.card.text") }))),
  );
}
