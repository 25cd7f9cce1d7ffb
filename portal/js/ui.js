// ui — small DOM helpers. Text goes in with textContent only (never innerHTML), styles come
// from the style sheet only (the CSP forbids inline styles), and every control has a label.

import { t } from "./i18n.js";

// h("p", {class: "x", text: "..."}, child, ...): an element; attrs with "text" set its text,
// "on<event>" add listeners, other names become attributes (booleans: present when true).
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "text") el.textContent = v;
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// Show a screen: the title as its h1 (focused, so that screen readers and keyboards start
// there), then the content. Returns the main element.
export function screen(title, ...content) {
  const main = document.getElementById("main");
  const h1 = h("h1", { tabindex: "-1", text: title });
  main.replaceChildren(h1, ...content);
  document.title = `${title} — certflow`;
  h1.focus();
  return main;
}

let uid = 0;

// A labelled input with an optional hint and a place for its error:
// {el, input, setError(text|null)}.
export function field({ name, label, type = "text", hint, autocomplete, inputmode, value,
                        maxlength, spellcheck }) {
  const id = `f-${name}-${++uid}`;
  const hintEl = hint ? h("p", { class: "hint", id: `${id}-hint`, text: hint }) : null;
  const errEl = h("p", { class: "field-error", id: `${id}-err`, hidden: true });
  const input = h("input", {
    id, name, type, autocomplete: autocomplete || "off", inputmode, maxlength,
    spellcheck: spellcheck === undefined ? null : String(spellcheck),
    "aria-describedby": [hintEl && hintEl.id, errEl.id].filter(Boolean).join(" "),
  });
  if (value) input.value = value;
  const el = h("div", { class: "field" }, h("label", { for: id, text: label }), hintEl, input, errEl);
  const f = {
    el, input, label,
    setError(text) {
      errEl.textContent = text || "";
      errEl.hidden = !text;
      if (text) input.setAttribute("aria-invalid", "true");
      else input.removeAttribute("aria-invalid");
    },
  };
  // a message about a value is stale once the value changes: the next submit checks again
  input.addEventListener("input", () => f.setError(null));
  return f;
}

export function select({ name, label, options, hint }) {
  const id = `f-${name}-${++uid}`;
  const hintEl = hint ? h("p", { class: "hint", id: `${id}-hint`, text: hint }) : null;
  const input = h("select", { id, name, "aria-describedby": hintEl ? hintEl.id : null },
    options.map(([value, text]) => h("option", { value, text })));
  return { el: h("div", { class: "field" }, h("label", { for: id, text: label }), hintEl, input), input };
}

export function checkbox({ name, label }) {
  const id = `f-${name}-${++uid}`;
  const input = h("input", { id, name, type: "checkbox" });
  const errEl = h("p", { class: "field-error", id: `${id}-err`, hidden: true });
  input.setAttribute("aria-describedby", errEl.id);
  const f = {
    el: h("div", { class: "field" }, h("div", { class: "check" }, input, h("label", { for: id, text: label })), errEl),
    input, label,
    setError(text) {
      errEl.textContent = text || "";
      errEl.hidden = !text;
      if (text) input.setAttribute("aria-invalid", "true");
      else input.removeAttribute("aria-invalid");
    },
  };
  input.addEventListener("change", () => f.setError(null));
  return f;
}

// The form's message area (role=alert: read out when it changes).
export function alertBox() {
  const el = h("div", { class: "alert", role: "alert", "aria-live": "assertive" });
  return {
    el,
    show(text, items) {
      el.replaceChildren(h("p", { text }));
      if (items && items.length) el.append(h("ul", {}, items.map((i) => h("li", { text: i }))));
      el.hidden = false;
      el.scrollIntoView({ block: "nearest" });
    },
    clear() {
      el.replaceChildren();
      el.hidden = true;
    },
  };
}

// Run the async fn with the button disabled and saying it works; errors go to the caller.
export async function busy(button, fn) {
  const label = button.textContent;
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  button.textContent = t("common.working");
  try {
    return await fn();
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
    button.textContent = label;
  }
}

// A link back to the start page.
export function homeLink() {
  return h("p", {}, h("a", { href: "#/", text: t("common.home") }));
}
