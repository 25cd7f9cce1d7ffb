// view-apply — seed 000/002's application (spec/protocol.md §14): identity, both e-mail
// addresses, mobile, three security questions, the consents with their text, and the envelope
// passphrase typed twice with each rule of the policy shown as it is met. The answers and the
// passphrase leave the page only inside the signed request, and the form is gone once sent.

import { h, screen, field, select, checkbox, homeLink } from "./ui.js";
import { t, has } from "./i18n.js";
import { makeForm } from "./form.js";
import { ruleList, checkPassword } from "./policy.js";
import * as check from "./check.js";

function profileOptions(meta) {
  const names = Object.keys(meta.profiles || { signing: {} });
  // the people's profiles first; a device certificate is made by an operator, not applied for
  const order = ["signing", "remote"].filter((n) => names.includes(n));
  const list = order.length ? order : names;
  return list.map((n) => [n, has(`profile.${n}`) ? t(`profile.${n}`) : n]);
}

function consentBlock(name) {
  const title = has(`consent.${name}.title`) ? t(`consent.${name}.title`) : name;
  const textId = `consent-${name}-text`;
  const box = checkbox({ name: `consent-${name}`, label: t("apply.consent.accept", { title }) });
  box.input.setAttribute("aria-describedby", `${textId} ${box.input.getAttribute("aria-describedby")}`);
  box.consent = name;
  const el = h("div", { class: "consent" },
    h("h2", { text: title }),
    h("div", { class: "consent-text", id: textId, tabindex: "0", role: "region",
      "aria-label": title, text: has(`consent.${name}.text`) ? t(`consent.${name}.text`) : title }),
    box.el);
  return { el, box };
}

export function render(ctx) {
  const meta = ctx.client.meta();
  const policy = meta.passwordPolicy;
  const profile = select({ name: "profile", label: t("apply.profile"), options: profileOptions(meta),
    hint: t("apply.profile.hint") });
  const given = field({ name: "givenName", label: t("apply.givenName"), autocomplete: "given-name" });
  const surname = field({ name: "surname", label: t("apply.surname"), autocomplete: "family-name" });
  const uid = field({ name: "uniqueId", label: t("apply.uniqueId"), hint: t("apply.uniqueId.hint") });
  const email = field({ name: "email", label: t("apply.email"), type: "email", autocomplete: "email",
    hint: t("apply.email.hint") });
  const alt = field({ name: "altEmail", label: t("apply.altEmail"), type: "email",
    hint: t("apply.altEmail.hint") });
  const mobile = field({ name: "mobile", label: t("apply.mobile"), type: "tel", autocomplete: "tel",
    inputmode: "tel", hint: t("apply.mobile.hint") });
  const qs = [1, 2, 3].map((i) => ({
    q: field({ name: `question${i}`, label: t("apply.question", { n: i }), hint: i === 1 ? t("apply.question.hint") : null }),
    a: field({ name: `answer${i}`, label: t("apply.answer", { n: i }), spellcheck: false }),
  }));
  const consents = (meta.consents || ["terms", "privacy"]).map(consentBlock);
  const rules = ruleList(policy, "apply-rules");
  const pass = field({ name: "passphrase", label: t("apply.passphrase"), type: "password",
    autocomplete: "new-password", hint: t("apply.passphrase.hint") });
  pass.input.setAttribute("aria-describedby", `${pass.input.getAttribute("aria-describedby")} apply-rules`);
  const pass2 = field({ name: "passphrase2", label: t("apply.passphrase2"), type: "password",
    autocomplete: "new-password" });
  const match = h("p", { class: "hint", id: "apply-match", "aria-live": "polite" });
  const showMatch = () => {
    const same = pass.input.value === pass2.input.value;
    match.textContent = pass2.input.value ? t(same ? "pw.match" : "pw.noMatch") : "";
    match.setAttribute("data-match", pass2.input.value ? String(same) : "");
  };
  pass.input.addEventListener("input", () => { rules.update(pass.input.value); showMatch(); });
  pass2.input.addEventListener("input", showMatch);

  const { form } = makeForm({
    screen: "apply",
    submitLabel: t("apply.submit"),
    content: [
      h("fieldset", {}, h("legend", { text: t("apply.section.certificate") }), profile.el),
      h("fieldset", {}, h("legend", { text: t("apply.section.identity") }),
        h("div", { class: "pair" }, given.el, surname.el), uid.el),
      h("fieldset", {}, h("legend", { text: t("apply.section.contact") }), email.el, alt.el, mobile.el),
      h("fieldset", {}, h("legend", { text: t("apply.section.questions") }),
        h("p", { class: "hint", text: t("apply.questions.intro") }),
        ...qs.map(({ q, a }) => h("div", { class: "pair" }, q.el, a.el))),
      h("fieldset", {}, h("legend", { text: t("apply.section.consents") }),
        ...consents.map((c) => c.el)),
      h("fieldset", {}, h("legend", { text: t("apply.section.passphrase") }),
        h("p", { class: "hint", text: t("apply.passphrase.intro") }),
        pass.el, rules.el, pass2.el, match),
    ],
    checks: () => {
      const v = (f) => f.input.value;
      const out = [
        [given, check.name(v(given))],
        [surname, check.name(v(surname)) || (check.name(v(given)) ? null : check.fullName(v(given), v(surname)))],
        [uid, check.uniqueId(v(uid).trim())],
        [email, check.email(v(email).trim())],
        [alt, check.email(v(alt).trim(), 254) ||
          (v(alt).trim().toLowerCase() === v(email).trim().toLowerCase() ? "check.altEmail.same" : null)],
        [mobile, check.mobile(v(mobile))],
      ];
      const texts = qs.map(({ q }) => v(q).trim());
      qs.forEach(({ q, a }, i) => {
        out.push([q, check.question(v(q)) || (texts.indexOf(texts[i]) < i ? "check.question.same" : null)]);
        out.push([a, check.answer(v(a))]);
      });
      for (const c of consents) out.push([c.box, c.box.input.checked ? null : "check.consent"]);
      out.push([pass, checkPassword(v(pass), policy).every((r) => r.ok) ? null : "check.passphrase"]);
      out.push([pass2, v(pass2) === v(pass) ? null : "check.passphrase.same"]);
      return out;
    },
    send: async () => {
      const v = (f) => f.input.value;
      const payload = {
        profile: profile.input.value,
        givenName: v(given),
        surname: v(surname),
        uniqueId: v(uid).trim(),
        email: v(email).trim(),
        altEmail: v(alt).trim(),
        mobile: check.mobileValue(v(mobile)),
        questions: qs.map(({ q, a }) => ({ question: v(q).trim(), answer: v(a) })),
        consents: consents.map((c) => c.box.consent),
        envelopePassphrase: v(pass),
      };
      const r = await ctx.client.post("apply", payload);
      done(r.body || {}, payload.email);
    },
  });
  screen(t("apply.title"), h("p", { class: "intro", text: t("apply.intro") }), form);
}

// The answer: the application's id and what happens next (the form, and so every secret typed
// in it, is gone from the page).
function done(app, email) {
  const approved = app.status === "approved";
  screen(
    t("apply.done.title"),
    h("div", { class: "done", role: "status" },
      h("p", { text: t("apply.done.id") }),
      h("p", { class: "id", id: "application-id", text: app.id || "" }),
      h("p", { class: "status", id: "application-status",
        text: t(approved ? "apply.done.approved" : "apply.done.pending", { email }) }),
      h("p", { text: t("apply.done.keep") })),
    homeLink(),
  );
}
