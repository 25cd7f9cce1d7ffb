// policy — the password policy of spec/protocol.md §16.3, checked in the page as the person
// types (the server checks it again: weakPassword). The rules come from the directory's
// meta.passwordPolicy; each rule is shown with whether it is met.

import { h, field } from "./ui.js";
import { t } from "./i18n.js";

const SPECIAL = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~ ";

function isControl(cp) {
  return cp <= 0x1f || (cp >= 0x7f && cp <= 0x9f);
}

// [{key, ok, vars}] for the password pw under policy (meta.passwordPolicy).
export function checkPassword(pw, policy) {
  const p = policy || {};
  const min = Number.isInteger(p.minLength) ? p.minLength : 8;
  const max = Number.isInteger(p.maxLength) ? p.maxLength : 128;
  const requires = Array.isArray(p.requires) ? p.requires : ["upper", "lower", "digit", "special"];
  const maxRepeat = Number.isInteger(p.maxRepeat) ? p.maxRepeat : 2;
  const chars = Array.from(pw);
  let run = 0;
  let longest = 0;
  for (let i = 0; i < chars.length; i++) {
    run = i > 0 && chars[i] === chars[i - 1] ? run + 1 : 1;
    longest = Math.max(longest, run);
  }
  const rules = [
    { key: "pw.rule.length", ok: chars.length >= min && chars.length <= max, vars: { min, max } },
  ];
  const classes = {
    lower: (c) => c >= "a" && c <= "z",
    upper: (c) => c >= "A" && c <= "Z",
    digit: (c) => c >= "0" && c <= "9",
    special: (c) => SPECIAL.includes(c),
  };
  for (const name of ["lower", "upper", "digit", "special"]) {
    if (requires.includes(name)) {
      rules.push({ key: `pw.rule.${name}`, ok: chars.some(classes[name]), vars: {} });
    }
  }
  rules.push({ key: "pw.rule.repeat", ok: longest <= maxRepeat, vars: { n: maxRepeat } });
  if (chars.some((c) => isControl(c.codePointAt(0)))) {
    rules.push({ key: "pw.rule.control", ok: false, vars: {} });
  }
  return rules;
}

// The list of rules as an element that updates itself: {el, update(pw) -> all met}.
export function ruleList(policy, id) {
  const el = h("ul", { class: "rules", id, "aria-live": "polite" });
  const update = (pw) => {
    const rules = checkPassword(pw, policy);
    el.replaceChildren(
      ...rules.map((r) =>
        h("li", { class: r.ok ? "met" : null, "data-rule": r.key },
          `${t(r.key, r.vars)} — ${r.ok ? t("pw.met") : t("pw.notMet")}`),
      ),
    );
    return rules.every((r) => r.ok);
  };
  update("");
  return { el, update };
}

// A new password typed twice, each rule of policy shown as it is met and a note whether the two
// are the same: {els, checks(), value(), wipe()}. id names the rule list (`${id}-rules`) and the
// note (`${id}-match`); o: {names: [first, second], first, second, hint (labels), texts: the
// prefix of the note's and the checks' texts (<texts>.password.match, <texts>.check.password…)}.
export function passwordPair(policy, id, o) {
  const rules = ruleList(policy, `${id}-rules`);
  const pw = field({ name: o.names[0], label: o.first, type: "password",
    autocomplete: "new-password", hint: o.hint });
  pw.input.setAttribute("aria-describedby", `${pw.input.getAttribute("aria-describedby")} ${id}-rules`);
  const pw2 = field({ name: o.names[1], label: o.second, type: "password",
    autocomplete: "new-password" });
  const match = h("p", { class: "hint", id: `${id}-match`, "aria-live": "polite" });
  const showMatch = () => {
    const same = pw.input.value === pw2.input.value;
    match.textContent = pw2.input.value ? t(`${o.texts}.password.${same ? "match" : "noMatch"}`) : "";
    match.setAttribute("data-match", pw2.input.value ? String(same) : "");
  };
  pw.input.addEventListener("input", () => { rules.update(pw.input.value); showMatch(); });
  pw2.input.addEventListener("input", showMatch);
  return {
    els: [pw.el, rules.el, pw2.el, match],
    checks: () => [
      [pw, checkPassword(pw.input.value, policy).every((r) => r.ok) ? null : `${o.texts}.check.password`],
      [pw2, pw2.input.value === pw.input.value ? null : `${o.texts}.check.password.same`],
    ],
    value: () => pw.input.value,
    wipe: () => { pw.input.value = ""; pw2.input.value = ""; rules.update(""); showMatch(); },
  };
}
