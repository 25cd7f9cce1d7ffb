// view-activate — activate a signing certificate in the browser (seed 000 l–o, seed 001 step 5;
// spec/protocol.md §9): the reference number, the activation code (or the envelope of the
// e-mail opened here with its passphrase), and a password for the file, typed twice with each
// rule shown as it is met. The key pair is made in this page, the CSR and the request are signed
// here, and the person saves a PKCS#12 file protected by that password. The key, the password
// and the passphrase never leave the page; the form and what was typed in it are gone once done.

import { h, screen, field } from "./ui.js";
import { t } from "./i18n.js";
import { makeForm } from "./form.js";
import * as check from "./check.js";
import { openEnvelope, readHeader } from "./envelope.js";
import { activate, activationCodeOk, envelopeField, explain, keyMaker, passwordFields,
  showReady } from "./activation.js";

// The two ways of giving the code: a radio group {el, value()} that shows one block or the other.
function sourceChoice(blocks, onChange) {
  const name = "source";
  const radios = ["envelope", "code"].map((value) => {
    const id = `activate-source-${value}`;
    const input = h("input", { type: "radio", name, id, value, checked: value === "envelope" });
    input.addEventListener("change", () => onChange(value));
    return h("div", { class: "check" }, input, h("label", { for: id, text: t(`activate.source.${value}`) }));
  });
  const el = h("fieldset", { class: "choice" }, h("legend", { text: t("activate.source") }), ...radios);
  const value = () => el.querySelector("input:checked").value;
  const show = (v) => { for (const [k, b] of Object.entries(blocks)) b.hidden = k !== v; };
  show("envelope");
  return { el, value, show };
}

export function render(ctx) {
  const meta = ctx.client.meta();
  const ref = field({ name: "reference", label: t("activate.reference"), inputmode: "numeric",
    hint: t("activate.reference.hint") });
  const envelope = envelopeField("envelope", t("activate.envelope"), t("activate.envelope.hint"));
  const passphrase = field({ name: "envelopePassphrase", label: t("activate.passphrase"),
    type: "password", autocomplete: "off", hint: t("activate.passphrase.hint") });
  const code = field({ name: "activationCode", label: t("activate.code"), spellcheck: false,
    autocomplete: "off", hint: t("activate.code.hint") });
  const blocks = { envelope: h("div", {}, envelope.el, passphrase.el), code: h("div", {}, code.el) };
  const source = sourceChoice(blocks, (v) => source.show(v));
  const pw = passwordFields(meta.passwordPolicy, "activate", { first: t("activate.password"),
    second: t("activate.password2"), hint: t("activate.password.hint") });
  const keysFor = keyMaker();

  const { form, alert } = makeForm({
    screen: "activate",
    submitLabel: t("activate.submit"),
    describe: explain,
    content: [
      h("fieldset", {}, h("legend", { text: t("activate.section.codes") }),
        ref.el, source.el, blocks.envelope, blocks.code),
      h("fieldset", {}, h("legend", { text: t("activate.section.password") }),
        h("p", { class: "hint", text: t("activate.password.intro") }), ...pw.els),
    ],
    checks: () => {
      const out = [[ref, check.reference(ref.input.value)]];
      if (source.value() === "envelope") {
        let bad = null;
        try {
          readHeader(envelope.input.value);
        } catch {
          bad = envelope.input.value.trim() ? "activate.check.envelope" : "check.required";
        }
        out.push([envelope, bad], [passphrase, passphrase.input.value ? null : "check.required"]);
      } else {
        const v = code.input.value.trim();
        out.push([code, !v ? "check.required" : activationCodeOk(v) ? null : "activate.check.code"]);
      }
      return out.concat(pw.checks());
    },
    send: async () => {
      const reference = check.referenceValue(ref.input.value);
      let activationCode = code.input.value.trim();
      if (source.value() === "envelope") {
        let opened;
        try {
          opened = await openEnvelope(envelope.input.value, passphrase.input.value);
        } catch (e) {
          const key = e.reason === "open" ? "activate.check.envelopeOpen" : "activate.check.envelope";
          (e.reason === "open" ? passphrase : envelope).setError(t(key));
          alert.show(t(key));
          return;
        }
        if (opened.reference !== reference) {
          ref.setError(t("activate.check.envelopeOther"));
          alert.show(t("activate.check.envelopeOther"));
          return;
        }
        activationCode = opened.activationCode;
      }
      const result = await activate(ctx, keysFor, { reference, activationCode, password: pw.value() });
      code.input.value = "";
      passphrase.input.value = "";
      envelope.input.value = "";
      pw.wipe();
      showReady(result, h("p", { text: t("activate.ready.emergency") }));
    },
  });
  screen(t("activate.title"), h("p", { class: "intro", text: t("activate.intro") }), form,
    h("details", { class: "agent" }, h("summary", { text: t("activate.agent.title") }),
      ...agentSteps(ctx)));
}

// For a device, or a key kept by certflow-agent: the steps with this server's address and
// fingerprint filled in (the e-mails' device paragraph points here too).
function agentSteps(ctx) {
  const meta = ctx.client.meta();
  const fp = typeof meta.caFingerprint === "string" ? meta.caFingerprint : "";
  const cmd = (text, id) => h("pre", { class: "command", id, text });
  return [
    h("p", { text: t("activate.agent.intro") }),
    h("ol", { class: "steps" },
      h("li", {}, h("p", { text: t("activate.step.envelope") }),
        cmd("certflow-agent envelope open envelope.txt --passphrase-file -", "activate-open")),
      h("li", {}, h("p", { text: t("activate.step.enrol") }),
        cmd(`certflow-agent enrol --server ${location.origin} --ca-fingerprint ${fp} ` +
            "--reference REFERENCE --dir ~/.certflow --password-file - --code-file -",
          "activate-enrol")),
      h("li", {}, h("p", { text: t("activate.step.done") }))),
  ];
}
