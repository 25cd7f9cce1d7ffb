// view-activate — where the approval mails send a person to activate a certificate kept on their
// own computer. Activation inside this page (key made in the browser, PKCS#12 download) is not
// built yet; until it is, the page says plainly how to activate with certflow-agent on the
// computer that will hold the key, with this server's address and fingerprint filled in.

import { h, screen, homeLink } from "./ui.js";
import { t } from "./i18n.js";

export function render(ctx) {
  const meta = ctx.client.meta();
  const server = location.origin;
  const fp = typeof meta.caFingerprint === "string" ? meta.caFingerprint : "";
  const cmd = (text, id) => h("pre", { class: "command", id, text });
  screen(t("activate.title"),
    h("p", { class: "intro", text: t("activate.intro") }),
    h("ol", { class: "steps" },
      h("li", {}, h("p", { text: t("activate.step.install") })),
      h("li", {}, h("p", { text: t("activate.step.envelope") }),
        cmd("certflow-agent envelope open envelope.txt --passphrase-file -", "activate-open")),
      h("li", {}, h("p", { text: t("activate.step.enrol") }),
        cmd(`certflow-agent enrol --server ${server} --ca-fingerprint ${fp} ` +
            "--reference REFERENCE --dir ~/.certflow --password-file - --code-file -",
            "activate-enrol")),
      h("li", {}, h("p", { text: t("activate.step.done") }))),
    h("p", { text: t("activate.lost") }),
    homeLink());
}
