// i18n — the page's texts, one catalogue per language (/i18n/<lang>.json, flat keys). The
// language is the one chosen with the switch (kept in localStorage: a preference, no secret),
// else the first of the browser's languages that has a catalogue, else English.

export const LANGS = ["en", "fr"];
const STORE = "certflow.lang";
let texts = {};
let fallback = {};
let current = "en";

export function preferred() {
  let saved = null;
  try {
    saved = localStorage.getItem(STORE);
  } catch {
    saved = null;
  }
  if (LANGS.includes(saved)) return saved;
  for (const tag of navigator.languages || [navigator.language]) {
    const base = String(tag || "").slice(0, 2).toLowerCase();
    if (LANGS.includes(base)) return base;
  }
  return "en";
}

async function fetchCatalogue(lang) {
  const r = await fetch(`/i18n/${lang}.json`, { cache: "no-store", credentials: "omit" });
  if (!r.ok) throw new Error(`no texts for ${lang}`);
  return r.json();
}

export async function setLanguage(lang, remember) {
  if (!LANGS.includes(lang)) lang = "en";
  if (!Object.keys(fallback).length) fallback = await fetchCatalogue("en");
  texts = lang === "en" ? fallback : await fetchCatalogue(lang);
  current = lang;
  document.documentElement.lang = lang;
  if (remember) {
    try {
      localStorage.setItem(STORE, lang);
    } catch {
      /* private mode: the choice lasts for this page only */
    }
  }
}

export function language() {
  return current;
}

// The text of key with {name} placeholders filled from vars; an English text when the
// language lacks the key, the key itself when English lacks it too.
export function t(key, vars) {
  let s = texts[key];
  if (typeof s !== "string") s = fallback[key];
  if (typeof s !== "string") return key;
  return s.replace(/\{(\w+)\}/g, (m, name) =>
    vars && Object.prototype.hasOwnProperty.call(vars, name) ? String(vars[name]) : m,
  );
}

export function has(key) {
  return typeof texts[key] === "string" || typeof fallback[key] === "string";
}

// key's variant for v (e.g. "remote.err.badPIN.totp" for a holder whose codes come from an
// authenticator app) when the catalogue has one, else key itself.
export function variant(key, v) {
  return v && has(`${key}.${v}`) ? `${key}.${v}` : key;
}
