// api — the page as a client of the protocol (spec/protocol.md): the directory, replay nonces
// (HEAD new-nonce, then each response's Replay-Nonce; one retry on badNonce, §3) and signed POSTs.
// Requests go to this page's own origin (the CSP allows nothing else); the JWS "url" is the URL
// the directory gives, which is what the server checks. Nothing here logs a payload.

import { signRequest, throwawayKey } from "./jws.js";

const PREFIX = "urn:certflow:error:";

// A problem document (RFC 7807) or a failure to reach the server (status 0, name "network").
export class Problem extends Error {
  constructor(status, doc, retryAfter) {
    const type = doc && typeof doc.type === "string" ? doc.type : "";
    super(type.startsWith(PREFIX) ? type.slice(PREFIX.length) : status ? "unknown" : "network");
    this.status = status;
    this.problem = this.message; // the problem's name: for the page's texts, never shown
    this.detail = doc && typeof doc.detail === "string" ? doc.detail : "";
    this.attemptsLeft = doc && Number.isInteger(doc.attemptsLeft) ? doc.attemptsLeft : null;
    const secs = parseInt(retryAfter || "", 10);
    this.retryAfterSecs = Number.isFinite(secs) ? secs : null;
  }
}

async function readJson(r) {
  const text = await r.text();
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

export class Client {
  constructor() {
    this.dir = null;
    this.nonce = null;
    this.key = null;
  }

  async fetch(path, init) {
    try {
      return await fetch(path, { cache: "no-store", credentials: "omit", ...init });
    } catch {
      throw new Problem(0, null);
    }
  }

  async directory() {
    if (!this.dir) {
      const r = await this.fetch("/v1/directory");
      const doc = await readJson(r);
      if (!r.ok || !doc) throw new Problem(r.status, doc);
      this.dir = doc;
    }
    return this.dir;
  }

  meta() {
    return (this.dir && this.dir.meta) || {};
  }

  async newNonce() {
    const dir = await this.directory();
    const r = await this.fetch(new URL(dir.newNonce).pathname, { method: "HEAD" });
    const n = r.headers.get("Replay-Nonce");
    if (!n) throw new Problem(r.status || 503, null);
    return n;
  }

  // POST the signed payload to the directory's resource `name`: {status, body} on success, else
  // throws a Problem.
  async post(name, payload) {
    const dir = await this.directory();
    const url = dir[name];
    if (typeof url !== "string") throw new Problem(404, null);
    if (!this.key) this.key = await throwawayKey();
    for (let attempt = 0; ; attempt++) {
      const nonce = this.nonce || (await this.newNonce());
      this.nonce = null;
      const body = await signRequest(this.key, url, nonce, payload);
      const r = await this.fetch(new URL(url).pathname, {
        method: "POST",
        headers: { "Content-Type": "application/jose+json" },
        body,
      });
      this.nonce = r.headers.get("Replay-Nonce");
      const doc = await readJson(r);
      if (r.ok) return { status: r.status, body: doc };
      const p = new Problem(r.status, doc, r.headers.get("Retry-After"));
      if (p.problem === "badNonce" && attempt === 0) continue; // §3: one retry, fresh nonce
      throw p;
    }
  }
}
