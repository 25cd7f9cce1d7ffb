// jws — the request envelope of spec/protocol.md §4, made in the page with WebCrypto: a
// throwaway ES256 key (P-256; its private half cannot be exported) sent as "jwk", and the
// flattened JWS {protected, payload, signature}. The key authenticates the envelope only and is
// bound to nothing (the public resources: apply, reference-renew, recovery, emergency-suspend).

const utf8 = new TextEncoder();

// base64url without padding (RFC 4648 §5) of bytes (Uint8Array or ArrayBuffer).
export function b64u(bytes) {
  const b = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let s = "";
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

// A new P-256 key pair for one visit of the page: {privateKey, jwk}.
export async function throwawayKey() {
  const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, [
    "sign",
  ]);
  const pub = await crypto.subtle.exportKey("jwk", pair.publicKey);
  // only the public members the protocol knows (no "ext", "key_ops")
  return { privateKey: pair.privateKey, jwk: { crv: "P-256", kty: "EC", x: pub.x, y: pub.y } };
}

// The body of a POST to url: payload an object, or null for a POST-as-GET.
export async function signRequest(key, url, nonce, payload) {
  const header = { alg: "ES256", nonce, url, jwk: key.jwk };
  const protectedB64 = b64u(utf8.encode(JSON.stringify(header)));
  const payloadB64 = payload === null ? "" : b64u(utf8.encode(JSON.stringify(payload)));
  // WebCrypto's ECDSA signature is already r||s, 64 octets: what JWS wants (RFC 7518 §3.4)
  const sig = await crypto.subtle.sign(
    { name: "ECDSA", hash: "SHA-256" },
    key.privateKey,
    utf8.encode(protectedB64 + "." + payloadB64),
  );
  return JSON.stringify({ protected: protectedB64, payload: payloadB64, signature: b64u(sig) });
}
