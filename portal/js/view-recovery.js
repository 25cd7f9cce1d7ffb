// view-recovery — seed 000 from the e-mailed link on (spec/protocol.md §17 steps 2–4, then §9):
// the link <portal>/#/recovery/<token> brings the token in the URL fragment (never sent to the
// server, never in a log or a Referer); the page takes it out of the address bar and history at
// once and keeps it in page memory only. Then: the certificate to recover, chosen by its product
// and dates before anything is answered; the security questions, the one-time code (SMS with
// "send a new code", or TOTP) and a new password typed twice under the live policy; then the
// new envelope pasted from the e-mail is opened here with that password and the certificate is
// activated as on the activation screen (key made here, PKCS#12 file saved).

import { h, screen, field, busy, homeLink } from "./ui.js";
import { t, has, language } from "./i18n.js";
import { makeForm } from "./form.js";
import * as check from "./check.js";
import { openEnvelope, readHeader } from "./envelope.js";
import { activate, day, envelopeField, explain, keyMaker, passwordFields,
  showReady } from "./activation.js";

const TOKEN = /^[A-Za-z0-9_-]{43}$/;

// The journey in page memory: the token, the start answer, the choice, and after `complete`
// the password that opens the new envelope. Never in storage, never in the address.
let state = { token: null };

const pass = (p) => ({ screen: "recovery", describe: explain, cancelHref: "#/", ...p });

function product(c) {
  return has(`profile.${c.profile}`) ? t(`profile.${c.profile}`) : c.profile;
}

function itemText(c) {
  return t("recovery.choose.item", { product: product(c), subject: c.subject || "", date: day(c.notAfter) });
}

export function render(ctx) {
  const frag = location.hash.replace(/^#\/?recovery\/?/, "");
  if (frag) {
    history.replaceState(null, "", `${location.pathname}#/recovery`);
    if (TOKEN.test(frag)) state = { token: frag };
  }
  if (state.password) return envelopeStep(ctx);
  if (!state.token) return tokenStep(ctx);
  if (!state.start) return start(ctx);
  if (!state.credential) return chooseStep(ctx);
  return answersStep(ctx);
}

function tokenStep(ctx) {
  const token = field({ name: "token", label: t("recovery.token"), type: "password",
    autocomplete: "off", spellcheck: false, hint: t("recovery.token.hint") });
  const { form } = makeForm(pass({
    submitLabel: t("recovery.token.submit"),
    content: [token.el],
    checks: () => [[token, TOKEN.test(token.input.value.trim()) ? null : "recovery.check.token"]],
    send: async () => {
      state = { token: token.input.value.trim() };
      token.input.value = "";
      render(ctx);
    },
  }));
  screen(t("recovery.title"), h("p", { class: "intro", text: t("recovery.intro") }), form);
}

async function start(ctx) {
  screen(t("recovery.title"), h("p", { role: "status", text: t("recovery.loading") }));
  try {
    const r = await ctx.client.post("recoveryStart", { token: state.token });
    state.start = r.body || {};
  } catch (e) {
    if (!(e && e.problem)) throw e;
    if (e.problem === "badToken") state = { token: null };
    screen(t("recovery.title"), h("p", { class: "alert", role: "alert", id: "recovery-problem",
      text: explain(e, "recovery") }), h("p", {}, h("a", { href: "#/recover", text: t("home.recover.title") })),
    homeLink());
    return;
  }
  const creds = Array.isArray(state.start.credentials) ? state.start.credentials : [];
  if (creds.length === 1) state.credential = creds[0];
  render(ctx);
}

function chooseStep(ctx) {
  const creds = Array.isArray(state.start.credentials) ? state.start.credentials : [];
  if (!creds.length) {
    screen(t("recovery.title"), h("p", { class: "alert", role: "alert", id: "recovery-problem",
      text: t("recovery.none") }), homeLink());
    return;
  }
  const err = h("p", { class: "field-error", id: "recovery-choose-err", hidden: true });
  const texts = creds.map(itemText);
  const radios = creds.map((c, i) => {
    const id = `recovery-cred-${i}`;
    // two alike (same product, name and day) are told apart by the end of their number
    const text = texts.indexOf(texts[i]) !== texts.lastIndexOf(texts[i])
      ? t("recovery.choose.itemId", { item: texts[i], id: String(c.id).slice(-6) }) : texts[i];
    return h("div", { class: "check" },
      h("input", { type: "radio", name: "credential", id, value: c.id,
        "aria-describedby": err.id }),
      h("label", { for: id, text }));
  });
  const group = h("fieldset", { class: "choice" }, h("legend", { text: t("recovery.choose") }), ...radios, err);
  const chosen = () => group.querySelector("input:checked");
  const pick = { label: t("recovery.choose"), input: radios[0].querySelector("input"),
    setError(text) { err.textContent = text || ""; err.hidden = !text; } };
  const { form } = makeForm(pass({
    submitLabel: t("recovery.choose.submit"),
    content: [group],
    checks: () => [[pick, chosen() ? null : "recovery.check.choose"]],
    send: async () => {
      state.credential = creds.find((c) => c.id === chosen().value);
      render(ctx);
    },
  }));
  screen(t("recovery.title"), h("p", { class: "intro", text: t("recovery.intro") }), form);
}

// The code field; for SMS with its "send a new code" button (§17 step 3) and a status line.
function codeField(ctx, kind, box) {
  const f = field({ name: "otp", label: t("recovery.otp"), inputmode: "numeric",
    autocomplete: "one-time-code", spellcheck: false,
    hint: t(kind === "totp" ? "recovery.otp.totp" : "recovery.otp.sms") });
  if (kind !== "sms") return f;
  const status = h("p", { class: "hint", id: "recovery-otp-status", role: "status" });
  const button = h("button", { type: "button", class: "secondary", id: "recovery-otp-send",
    text: t("recovery.otp.send") });
  button.addEventListener("click", async () => {
    box.alert.clear();
    status.textContent = "";
    try {
      await busy(button, () => ctx.client.post("recoveryOtp", { token: state.token }));
      status.textContent = t("recovery.otp.sent", { time: new Date().toLocaleTimeString(
        language() === "fr" ? "fr-FR" : "en-GB", { hour: "2-digit", minute: "2-digit" }) });
      f.input.focus();
    } catch (e) {
      if (!(e && e.problem)) throw e;
      box.alert.show(e.problem === "rateLimited"
        ? t("recovery.otp.wait", { seconds: Math.max(1, e.retryAfterSecs === null ? 60 : e.retryAfterSecs) })
        : explain(e, "recovery"));
    }
  });
  f.el.append(h("div", { class: "actions" }, button), status);
  return f;
}

function answersStep(ctx) {
  const meta = ctx.client.meta();
  const questions = Array.isArray(state.start.questions) ? state.start.questions : [];
  const kind = state.start.otp;
  const answers = questions.map((q, i) => field({ name: `answer${i + 1}`, label: q, spellcheck: false }));
  const box = {};
  const code = kind === "sms" || kind === "totp" ? codeField(ctx, kind, box) : null;
  const pw = passwordFields(meta.passwordPolicy, "recovery", { first: t("recovery.password"),
    second: t("recovery.password2"), hint: t("activate.password.hint") });
  const creds = Array.isArray(state.start.credentials) ? state.start.credentials : [];
  const { form, alert } = makeForm(pass({
    describe: (p, s) => explain(p, s, kind),
    submitLabel: t("recovery.submit"),
    content: [
      h("p", { class: "chosen", id: "recovery-chosen", text: t("recovery.chosen", { item: itemText(state.credential) }) }),
      h("fieldset", {}, h("legend", { text: t("recovery.questions") }),
        h("p", { class: "hint", text: t("recovery.questions.hint", { n: meta.questionsRequired || 2 }) }),
        ...answers.map((a) => a.el), code && code.el),
      h("fieldset", {}, h("legend", { text: t("recovery.section.password") }),
        h("p", { class: "hint", text: t("recovery.password.intro") }), ...pw.els),
    ],
    checks: () => [
      ...answers.map((a) => [a, check.answer(a.input.value)]),
      ...(code ? [[code, /^[0-9]{6,8}$/.test(code.input.value.trim()) ? null : "recovery.check.otp"]] : []),
      ...pw.checks(),
    ],
    send: async () => {
      const payload = { token: state.token, answers: answers.map((a) => a.input.value),
        credential: state.credential.id, envelopePassphrase: pw.value() };
      if (code) payload.otp = code.input.value.trim();
      await ctx.client.post("recoveryComplete", payload);
      // the token is used: from here on only the password matters, for the new envelope
      state = { token: null, password: pw.value(), credential: state.credential };
      answers.forEach((a) => { a.input.value = ""; });
      if (code) code.input.value = "";
      pw.wipe();
      render(ctx);
    },
    onProblem: (e) => {
      if (e.problem === "badOTP" && code) code.input.value = "";
      if (e.problem === "badToken") state = { token: null };
    },
  }));
  box.alert = alert;
  const back = creds.length > 1
    ? h("p", {}, h("a", { href: "#/recovery", id: "recovery-back", text: t("recovery.back"),
      onclick: (ev) => { ev.preventDefault(); state.credential = null; render(ctx); } }))
    : null;
  screen(t("recovery.title"), h("p", { class: "intro", text: t("recovery.intro") }), form, back);
}

function envelopeStep(ctx) {
  const envelope = envelopeField("envelope", t("activate.envelope"), t("activate.envelope.hint"));
  const keysFor = keyMaker();
  const { form, alert } = makeForm(pass({
    describe: (p) => explain(p, "activate"), // what activation may answer (§9)
    submitLabel: t("recovery.sent.submit"),
    content: [envelope.el],
    checks: () => {
      try {
        readHeader(envelope.input.value);
        return [[envelope, null]];
      } catch {
        return [[envelope, envelope.input.value.trim() ? "activate.check.envelope" : "check.required"]];
      }
    },
    send: async () => {
      let opened;
      try {
        opened = await openEnvelope(envelope.input.value, state.password);
      } catch (e) {
        const key = e.reason === "open" ? "recovery.check.envelopeOpen" : "activate.check.envelope";
        envelope.setError(t(key));
        alert.show(t(key));
        return;
      }
      const result = await activate(ctx, keysFor, { reference: opened.reference,
        activationCode: opened.activationCode, password: state.password });
      state = { token: null };
      envelope.input.value = "";
      showReady(result, h("p", { id: "recovery-revoked", text: t("recovery.ready.revoked") }),
        h("p", { text: t("activate.ready.emergency") }));
    },
  }));
  screen(t("recovery.sent.title"),
    h("div", { class: "done", role: "status" },
      h("p", { id: "recovery-sent", text: t("recovery.sent.text") }),
      h("p", { text: t("recovery.sent.next") })),
    form,
    h("p", { class: "hint", text: t("recovery.sent.lost") }));
}
