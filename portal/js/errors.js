// errors — what a problem means for the person, in the page's words: what happened and what to
// do next. Never the problem's name, a resource path or a method, and never the server's
// detail (it speaks of payload members): the page checks each value itself before sending.

import { t, has } from "./i18n.js";

// The message for problem p (api.js Problem) on the screen `screen` ("apply", "recover", ...):
// the screen's own text for that problem when there is one, else the general one.
export function describe(p, screen) {
  const name = p.problem || "unknown";
  const vars = {
    attempts: p.attemptsLeft === null ? "" : p.attemptsLeft,
    minutes: p.retryAfterSecs === null ? 1 : Math.max(1, Math.ceil(p.retryAfterSecs / 60)),
  };
  let key = `err.${screen}.${name}`;
  if (!has(key)) key = `err.${name}`;
  if (!has(key)) key = p.status >= 500 ? "err.serverInternal" : "err.unknown";
  let text = t(key, vars);
  if (p.attemptsLeft !== null && has(`${key}.left`)) text += " " + t(`${key}.left`, vars);
  return text;
}
