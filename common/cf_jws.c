/*
 * cf_jws — flattened JWS (RFC 7515 §7.2.2) as spec/protocol.md §4 uses it.
 *
 * cf_jws_parse checks, in the order the spec gives: JSON, JWS members (protected, payload,
 * signature as base64url strings; no unprotected "header", no "signatures"), the protected
 * header (a JSON object without "crit"), alg, url, nonce, then the key (jwk or kid, exactly one).
 * It never verifies: the server checks url and nonce and looks up the kid in between, then calls
 * cf_jws_verify. Every length is bounded before it is used.
 */
#include "cf_jws.h"
#include "cf_b64.h"
#include "cf_crypto.h"
#include "cf_err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An RSA-4096 jwk is about 750 characters; the rest of a header is URLs and a nonce. */
#define PROTECTED_MAX 4096
/* The body is at most 64 KiB; a JSON string at most 16 KiB. */
#define PAYLOAD_MAX CF_JSON_MAX_STRING
#define SIG_B64_MAX 683 /* base64url of 512 octets (RSA-4096) */

/* The three members of the flattened serialization, as sent. */
struct jws_parts {
	const char *protected_b64, *payload_b64, *sig_b64;
};

static int get_parts(const cf_json *doc, struct jws_parts *p)
{
	if (!cf_json_is_object(doc))
		return CF_EMALFORMED;
	/* RFC 8555 §6.2: one signature, no unprotected header */
	if (cf_json_get(doc, "header") || cf_json_get(doc, "signatures"))
		return CF_EMALFORMED;
	if (cf_json_get_str(doc, "protected", PROTECTED_MAX, &p->protected_b64) != 0 ||
	    cf_json_str(cf_json_get(doc, "payload"), PAYLOAD_MAX, &p->payload_b64) != 0 ||
	    cf_json_str(cf_json_get(doc, "signature"), SIG_B64_MAX, &p->sig_b64) != 0)
		return CF_EMALFORMED;
	/* an empty signature ("none") is refused by its alg, then by decode_parts */
	return 0;
}

/* Decode payload and signature into j and build the signing input. */
static int decode_parts(const struct jws_parts *p, struct cf_jws *j)
{
	size_t prot_len = strlen(p->protected_b64), pay_len = strlen(p->payload_b64);
	int ret =
	    cf_b64url_decode(p->sig_b64, strlen(p->sig_b64), j->sig, sizeof(j->sig), &j->sig_len);

	if (ret == 0 && j->sig_len == 0)
		ret = CF_EMALFORMED;
	if (ret != 0)
		return ret;
	j->payload = malloc(cf_b64url_dec_len(pay_len) + 1);
	j->signing_input = malloc(prot_len + 1 + pay_len + 1);
	if (!j->payload || !j->signing_input)
		return CF_ENOMEM;
	ret = cf_b64url_decode(p->payload_b64, pay_len, j->payload, cf_b64url_dec_len(pay_len),
			       &j->payload_len);
	if (ret != 0) {
		/* payload_len is still 0: cf_jws_clear would not wipe what was decoded so far */
		cf_zeroize(j->payload, cf_b64url_dec_len(pay_len));
		return ret;
	}
	j->payload[j->payload_len] = '\0';
	memcpy(j->signing_input, p->protected_b64, prot_len);
	j->signing_input[prot_len] = '.';
	memcpy(j->signing_input + prot_len + 1, p->payload_b64, pay_len + 1);
	j->signing_input_len = prot_len + 1 + pay_len;
	return 0;
}

/* Copy the string member key (1..max bytes) of hdr into dst. */
static int copy_member(const cf_json *hdr, const char *key, size_t max, char *dst)
{
	const char *s;

	if (cf_json_get_str(hdr, key, max, &s) != 0)
		return CF_EMALFORMED;
	memcpy(dst, s, strlen(s) + 1);
	return 0;
}

/* alg, url, nonce: each in the order the spec checks them. */
static int header_params(const cf_json *hdr, int require_nonce, struct cf_jws *j)
{
	const cf_json *nonce = cf_json_get(hdr, "nonce"), *a = cf_json_get(hdr, "alg");
	const char *alg;

	/* a missing or non-string alg is malformed; any string we do not support is badAlg */
	if (!cf_json_is_string(a))
		return CF_EMALFORMED;
	if (cf_json_str(a, 16, &alg) != 0)
		return CF_EBADALG;
	j->alg = cf_alg_from_name(alg);
	if (j->alg == 0)
		return CF_EBADALG;
	if (copy_member(hdr, "url", CF_JWS_MAX_URL, j->url) != 0)
		return CF_EMALFORMED;
	if (nonce && !cf_json_is_string(nonce))
		return CF_EMALFORMED;
	/* a nonce we could never have issued is a bad nonce, as is a missing one */
	if (nonce && copy_member(hdr, "nonce", CF_JWS_MAX_NONCE, j->nonce) != 0)
		return CF_EBADNONCE;
	if (!nonce && require_nonce)
		return CF_EBADNONCE;
	return 0;
}

/* Exactly one of jwk (a public key) and kid (the account URL). */
static int header_key(const cf_json *hdr, struct cf_jws *j)
{
	const cf_json *jwk = cf_json_get(hdr, "jwk"), *kid = cf_json_get(hdr, "kid");
	int ret;

	if (!jwk == !kid)
		return CF_EMALFORMED;
	if (kid)
		return copy_member(hdr, "kid", CF_JWS_MAX_URL, j->kid);
	ret = cf_key_from_jwk(jwk, &j->jwk);
	if (ret != 0)
		return ret;
	j->jwk_json = cf_json_dup(jwk);
	return j->jwk_json ? 0 : CF_ENOMEM;
}

static int parse_header(const char *b64, int require_nonce, struct cf_jws *j)
{
	uint8_t buf[PROTECTED_MAX];
	cf_json *hdr = NULL;
	size_t len;
	int ret = CF_EMALFORMED;

	if (cf_b64url_decode(b64, strlen(b64), buf, sizeof(buf), &len) != 0 ||
	    cf_json_parse((const char *)buf, len, &hdr) != 0 || !cf_json_is_object(hdr))
		goto out;
	/* we implement no extension, so any critical one must be refused (RFC 7515 §4.1.11) */
	if (cf_json_get(hdr, "crit"))
		goto out;
	ret = header_params(hdr, require_nonce, j);
	if (ret == 0)
		ret = header_key(hdr, j);
out:
	cf_json_free(hdr);
	return ret;
}

int cf_jws_parse(const char *body, size_t len, int require_nonce, struct cf_jws *out)
{
	struct cf_jws j;
	struct jws_parts parts;
	cf_json *doc = NULL;
	int ret;

	memset(&j, 0, sizeof(j));
	ret = cf_json_parse(body, len, &doc);
	if (ret == 0)
		ret = get_parts(doc, &parts);
	/* the header first: "none" with its empty signature is an unsupported alg (RFC 8555 §6.2)
	 */
	if (ret == 0)
		ret = parse_header(parts.protected_b64, require_nonce, &j);
	if (ret == 0)
		ret = decode_parts(&parts, &j);
	cf_json_free(doc);
	if (ret != 0) {
		cf_jws_clear(&j);
		return ret;
	}
	*out = j;
	return 0;
}

int cf_jws_verify(const struct cf_jws *jws, const cf_key *key)
{
	if (!jws || !jws->signing_input)
		return CF_EINTERNAL;
	if (!key)
		key = jws->jwk;
	if (!key)
		return CF_EINTERNAL;
	return cf_verify(key, jws->alg, jws->signing_input, jws->signing_input_len, jws->sig,
			 jws->sig_len);
}

void cf_jws_clear(struct cf_jws *jws)
{
	if (!jws)
		return;
	cf_key_free(jws->jwk);
	cf_json_free(jws->jwk_json);
	/* the payload (and its base64url in the signing input) may hold an activation code */
	if (jws->payload)
		cf_zeroize(jws->payload, jws->payload_len);
	if (jws->signing_input)
		cf_zeroize(jws->signing_input, jws->signing_input_len);
	free(jws->payload);
	free(jws->signing_input);
	memset(jws, 0, sizeof(*jws));
}

/* base64url of the protected header {alg, nonce?, url, jwk | kid}. */
static int protected_b64(const cf_key *key, const char *nonce, const char *url, const char *kid,
			 char **out)
{
	cf_json *hdr = cf_json_new_object(), *jwk = NULL;
	char *text = NULL;
	int ret = CF_ENOMEM;

	if (!hdr)
		goto out;
	ret = cf_json_add_str(hdr, "alg", cf_alg_name(cf_key_alg(key)));
	if (ret == 0 && nonce)
		ret = cf_json_add_str(hdr, "nonce", nonce);
	if (ret == 0)
		ret = cf_json_add_str(hdr, "url", url);
	if (ret == 0 && kid)
		ret = cf_json_add_str(hdr, "kid", kid);
	if (ret == 0 && !kid) {
		ret = cf_key_to_jwk(key, &jwk);
		if (ret == 0)
			ret = cf_json_add(hdr, "jwk", jwk);
	}
	if (ret != 0)
		goto out;
	ret = CF_ENOMEM;
	text = cf_json_print(hdr);
	if (!text)
		goto out;
	*out = cf_b64url_encode_alloc((const uint8_t *)text, strlen(text));
	ret = *out ? 0 : CF_ENOMEM;
out:
	free(text);
	cf_json_free(hdr);
	return ret;
}

int cf_jws_sign(const cf_key *key, const char *nonce, const char *url, const char *kid,
		const void *payload, size_t len, char **out)
{
	char *prot = NULL, *pay = NULL, *input = NULL, *sig_b64 = NULL, *json = NULL;
	uint8_t sig[512];
	size_t sig_len, input_len, json_len;
	int ret = CF_EMALFORMED;

	if (!key || !url || (len && !payload))
		goto out;
	ret = protected_b64(key, nonce, url, kid, &prot);
	if (ret != 0)
		goto out;
	ret = CF_ENOMEM;
	pay = cf_b64url_encode_alloc(payload, len);
	if (!pay)
		goto out;
	input_len = strlen(prot) + 1 + strlen(pay);
	input = malloc(input_len + 1);
	if (!input)
		goto out;
	snprintf(input, input_len + 1, "%s.%s", prot, pay);
	ret = cf_sign(key, cf_key_alg(key), input, input_len, sig, sizeof(sig), &sig_len);
	if (ret != 0)
		goto out;
	ret = CF_ENOMEM;
	sig_b64 = cf_b64url_encode_alloc(sig, sig_len);
	json_len = input_len + strlen(sig_b64 ? sig_b64 : "") + 64;
	json = sig_b64 ? malloc(json_len) : NULL;
	if (!json)
		goto out;
	/* base64url needs no JSON escaping */
	snprintf(json, json_len, "{\"protected\":\"%s\",\"payload\":\"%s\",\"signature\":\"%s\"}",
		 prot, pay, sig_b64);
	*out = json;
	json = NULL;
	ret = 0;
out:
	/* the payload may hold a secret (activation code): wipe every copy made here */
	free(prot);
	cf_free_secret(pay);
	cf_free_secret(input);
	free(sig_b64);
	cf_free_secret(json);
	return ret;
}
