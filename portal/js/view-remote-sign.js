// view-remote-sign — #/remote-sign/<id>: sign a file with a remote signing certificate
// (spec/protocol.md §25, the CSC API with the portal session). The file is read and hashed in the
// page (WebCrypto SHA-256) and never sent; the page builds the CMS signed attributes (cms.js), and
// PIN + one-time code authorise one signature of their hash (credentials/authorize), which
// signatures/signHash makes with the key the server holds. The page then offers the detached
// signature <file>.p7s from its memory. PIN, code and SAD leave the page once used.

import { h, screen, field } from "./ui.js";
import { t } from "./i18n.js";
import { makeForm } from "./form.js";
import { codeField, csc, digitsField, flash, gate, isCode, isPin, portal, say, session } from "./remote.js";
import { SHA256, b64, detachedSignature, sha256, signAlgoFor, signedAttributes, unb64 } from "./cms.js";

const MAX_FILE = 512 * 1024 * 1024; // read whole into memory to be hashed

function credentialId() {
  return decodeURIComponent(location.hash.replace(/^#\/?[^/]*\/?/, "").split(/[/?]/)[0] || "");
}

function away(e, main) {
  if (e.problem === "badSession") {
    flash.key = "remote.login.ended";
    location.hash = "#/remote-login";
    return;
  }
  main.replaceChildren(main.firstChild, h("p", { class: "alert", role: "alert", text: say(e, "sign") }),
    h("p", {}, h("a", { href: "#/remote", text: t("remote.back") })));
}

let lastUrl = null;

export async function render(ctx) {
  const gone = gate(session(), false);
  if (gone) {
    location.hash = gone;
    return;
  }
  const id = credentialId();
  const main = screen(t("remote.sign.title"), h("p", { role: "status", text: t("common.working") }));
  let st;
  let info;
  try {
    st = await portal(ctx, "status");
    info = await csc(ctx, "credentials/info", { credentialID: id, certificates: "chain" });
  } catch (e) {
    if (!(e && e.problem)) throw e;
    away(e, main);
    return;
  }
  const certs = ((info.cert && info.cert.certificates) || []).map(unb64);
  if (!info.key || info.key.status !== "enabled" || !certs.length) {
    main.replaceChildren(main.firstChild, h("p", { class: "alert", role: "alert", text: t("remote.sign.unusable") }),
      h("p", {}, h("a", { href: "#/remote", text: t("remote.back") })));
    return;
  }
  form(ctx, main, { id, otp: st.otp || "sms", certs, signAlgo: signAlgoFor((info.key.algo || [])[0]) });
}

function form(ctx, main, cred) {
  const file = field({ name: "file", label: t("remote.sign.file"), type: "file",
    hint: t("remote.sign.file.hint") });
  const pin = digitsField("pin", t("remote.sign.pin"), t("remote.sign.pin.hint"));
  const box = {};
  const code = codeField(cred.otp, () => csc(ctx, "credentials/sendOTP", { credentialID: cred.id }), box, "sign");
  const result = h("div", { id: "remote-sign-result" });
  const { form: el, alert } = makeForm({
    screen: "sign",
    submitLabel: t("remote.sign.submit"),
    describe: (e, s) => say(e, s, cred.otp),
    cancelHref: "#/remote",
    content: [file.el, pin.el, code.el],
    checks: () => {
      const f = file.input.files[0];
      return [
        [file, !f ? "remote.check.file" : f.size > MAX_FILE ? "remote.check.fileSize" : null],
        [pin, isPin(pin.input.value.trim()) ? null : "remote.check.pin"],
        [code, isCode(code.input.value.trim()) ? null : "remote.check.otp"],
      ];
    },
    send: async () => {
      const f = file.input.files[0];
      const secrets = { pin: pin.input.value.trim(), otp: code.input.value.trim() };
      // what was typed leaves the page now, whatever the answer
      pin.input.value = "";
      code.input.value = "";
      result.replaceChildren();
      if (lastUrl) URL.revokeObjectURL(lastUrl);
      lastUrl = null;
      const digest = await sha256(await f.arrayBuffer());
      const { attrs, der } = signedAttributes(digest, new Date());
      const hash = b64(await sha256(der));
      let sad;
      try {
        sad = (await csc(ctx, "credentials/authorize", { credentialID: cred.id, numSignatures: 1,
          hashes: [hash], hashAlgorithmOID: SHA256,
          authData: [{ id: "PIN", value: secrets.pin }, { id: "OTP", value: secrets.otp }] })).SAD;
      } finally {
        secrets.pin = secrets.otp = null;
      }
      let signed;
      try {
        signed = await csc(ctx, "signatures/signHash", { credentialID: cred.id, SAD: sad,
          hashes: [hash], hashAlgorithmOID: SHA256, signAlgo: cred.signAlgo });
      } finally {
        sad = null; // a SAD signs once: it is of no use any more, whatever the answer
      }
      const sig = unb64((signed.signatures || [])[0] || "");
      const p7s = detachedSignature(cred.certs, attrs, sig, cred.signAlgo);
      const name = `${f.name || "document"}.p7s`;
      lastUrl = URL.createObjectURL(new Blob([p7s], { type: "application/pkcs7-signature" }));
      file.input.value = "";
      result.replaceChildren(h("div", { class: "done", role: "status" },
        h("p", { id: "remote-signed", text: t("remote.sign.done", { file: f.name }) }),
        h("p", {}, h("a", { class: "button", id: "remote-sign-download", href: lastUrl, download: name,
          type: "application/pkcs7-signature", text: t("remote.sign.download", { file: name }) })),
        h("p", { class: "hint", text: t("remote.sign.keep") })));
      result.scrollIntoView({ block: "nearest" });
    },
    onProblem: (e) => {
      if (e.problem === "badSession") {
        flash.key = "remote.login.ended";
        location.hash = "#/remote-login";
      }
    },
  });
  box.alert = alert;
  main.replaceChildren(main.firstChild, h("p", { class: "intro", text: t("remote.sign.intro") }), el, result);
}
