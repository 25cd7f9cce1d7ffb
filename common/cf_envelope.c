/*
 * cf_envelope — the passphrase-protected envelope of spec/protocol.md §16: PBKDF2-HMAC-SHA-256
 * key, AES-256-GCM over a JSON text, a JSON header of the parameters, armoured as PEM-like base64
 * lines. Opening is bounded (armour, iterations, sizes) before any key is derived, so a hostile
 * envelope costs at most CF_ENVELOPE_ITER_MAX iterations. Keys and plaintext are wiped here;
 * no secret reaches an error.
 */
#include "cf_envelope.h"
#include "cf_b64.h"
#include "cf_crypto.h"
#include "cf_err.h"
#include "cf_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/base64.h>

#define ARMOUR_LABEL "CERTFLOW ENVELOPE"
#define ARMOUR_BEGIN "-----BEGIN " ARMOUR_LABEL "-----"
#define ARMOUR_END "-----END " ARMOUR_LABEL "-----"
#define KDF_NAME "PBKDF2-HMAC-SHA256"
#define ENC_NAME "A256GCM"
#define AAD_PREFIX "certflow-envelope-v1:"
/* the header JSON of the largest plaintext: ct is 4/3 of it, the rest well under 1 KiB */
#define HEADER_MAX (CF_ENVELOPE_PLAIN_MAX * 4 / 3 + 1024)
#define ARMOUR_B64_MAX ((HEADER_MAX + 2) / 3 * 4)

/* aad = "certflow-envelope-v1:<number>" ; returns its length */
static size_t envelope_aad(uint32_t number, char aad[sizeof(AAD_PREFIX) + 10])
{
	return (size_t)snprintf(aad, sizeof(AAD_PREFIX) + 10, AAD_PREFIX "%u", number);
}

int cf_envelope_key(const char *passphrase, const uint8_t salt[16], uint32_t iterations,
		    uint8_t key[32])
{
	if (!passphrase || !salt || !key || iterations < CF_ENVELOPE_ITER_MIN ||
	    iterations > CF_ENVELOPE_ITER_MAX)
		return CF_EUSAGE;
	return cf_pbkdf2_sha256(passphrase, strlen(passphrase), salt, 16, iterations, key, 32);
}

/* Add member key = base64url(buf) to obj. */
static int add_b64u(cf_json *obj, const char *key, const uint8_t *buf, size_t len)
{
	char *s = cf_b64url_encode_alloc(buf, len);
	int ret;

	if (!s)
		return CF_ENOMEM;
	ret = cf_json_add_str(obj, key, s);
	free(s);
	return ret;
}

/* The header object of an envelope, in the member order of the spec. */
static int header_build(uint32_t iterations, const uint8_t salt[16], uint32_t number,
			const uint8_t nonce[12], const uint8_t *ct, size_t ct_len,
			const uint8_t tag[16], char **text)
{
	cf_json *obj = cf_json_new_object();
	int ret;

	if (!obj)
		return CF_ENOMEM;
	if ((ret = cf_json_add_int(obj, "v", 1)) != 0 ||
	    (ret = cf_json_add_str(obj, "kdf", KDF_NAME)) != 0 ||
	    (ret = cf_json_add_int(obj, "iter", iterations)) != 0 ||
	    (ret = add_b64u(obj, "salt", salt, 16)) != 0 ||
	    (ret = cf_json_add_str(obj, "enc", ENC_NAME)) != 0 ||
	    (ret = cf_json_add_int(obj, "number", number)) != 0 ||
	    (ret = add_b64u(obj, "nonce", nonce, 12)) != 0 ||
	    (ret = add_b64u(obj, "ct", ct, ct_len)) != 0 ||
	    (ret = add_b64u(obj, "tag", tag, 16)) != 0)
		goto out;
	*text = cf_json_print(obj);
	ret = *text ? 0 : CF_ENOMEM;
out:
	cf_json_free(obj);
	return ret;
}

int cf_envelope_seal_nonce(const uint8_t key[32], const uint8_t salt[16], uint32_t iterations,
			   uint32_t number, const uint8_t nonce[12], const char *plaintext,
			   char **armoured)
{
	char aad[sizeof(AAD_PREFIX) + 10], *header = NULL, *pem;
	uint8_t *ct, tag[16];
	size_t len;
	int ret;

	if (!key || !salt || !nonce || !plaintext || !armoured ||
	    iterations < CF_ENVELOPE_ITER_MIN || iterations > CF_ENVELOPE_ITER_MAX)
		return CF_EUSAGE;
	len = strlen(plaintext);
	if (len > CF_ENVELOPE_PLAIN_MAX)
		return CF_EUSAGE;
	ct = malloc(len + 1);
	if (!ct)
		return CF_ENOMEM;
	ret = cf_aead_seal(key, nonce, aad, envelope_aad(number, aad), (const uint8_t *)plaintext,
			   len, ct, tag);
	if (ret == 0)
		ret = header_build(iterations, salt, number, nonce, ct, len, tag, &header);
	if (ret == 0) {
		pem = cf_pem_encode(ARMOUR_LABEL, (const uint8_t *)header, strlen(header));
		if (pem)
			*armoured = pem;
		else
			ret = CF_ENOMEM;
	}
	free(header);
	free(ct);
	return ret;
}

int cf_envelope_seal(const uint8_t key[32], const uint8_t salt[16], uint32_t iterations,
		     uint32_t number, const char *plaintext, char **armoured)
{
	uint8_t nonce[12];

	/* 96 random bits per envelope: the server seals many envelopes under one key */
	if (cf_random(nonce, sizeof(nonce)) != 0)
		return CF_ECRYPTO;
	return cf_envelope_seal_nonce(key, salt, iterations, number, nonce, plaintext, armoured);
}

/* The base64 text between the armour lines of text, white space removed, into a malloc'd
 * NUL-terminated *b64. CF_EMALFORMED when there is no (complete) envelope or it is too long. */
static int armour_extract(const char *text, size_t len, char **b64, size_t *b64_len)
{
	const char *begin, *end, *p;
	char *out;
	size_t n = 0;

	begin = memmem(text, len, ARMOUR_BEGIN, strlen(ARMOUR_BEGIN));
	if (!begin)
		return CF_EMALFORMED;
	p = begin + strlen(ARMOUR_BEGIN);
	end = memmem(p, len - (size_t)(p - text), ARMOUR_END, strlen(ARMOUR_END));
	if (!end)
		return CF_EMALFORMED;
	out = malloc(ARMOUR_B64_MAX + 1);
	if (!out)
		return CF_ENOMEM;
	/* line breaks (LF or CRLF), spaces and tabs, as mail may add them, are not content */
	for (; p < end; p++) {
		if (*p != '\0' && strchr(" \t\r\n", *p))
			continue;
		if (n == ARMOUR_B64_MAX) {
			free(out);
			return CF_EMALFORMED;
		}
		out[n++] = *p;
	}
	out[n] = '\0';
	*b64 = out;
	*b64_len = n;
	return 0;
}

/* A base64url member of hdr that decodes to exactly want octets (want 0: 0..cap octets). */
static int get_b64u(const cf_json *hdr, const char *key, uint8_t *out, size_t cap, size_t want,
		    size_t *got)
{
	const char *s;
	size_t n = 0;
	int ret;

	if ((ret = cf_json_get_str(hdr, key, cf_b64url_enc_len(cap), &s)) != 0 ||
	    (ret = cf_b64url_decode(s, strlen(s), out, cap, &n)) != 0)
		return CF_EMALFORMED;
	if (want && n != want)
		return CF_EMALFORMED;
	if (got)
		*got = n;
	return 0;
}

struct header {
	uint32_t iter, number;
	uint8_t salt[16], nonce[12], tag[16];
	uint8_t *ct;
	size_t ct_len;
};

/* Parse and bound-check the header JSON; h->ct is malloc'd (free it). */
static int header_parse(const char *json, size_t len, struct header *h)
{
	cf_json *doc = NULL;
	const char *s;
	int64_t v;
	int ret = CF_EMALFORMED;

	h->ct = NULL;
	if (cf_json_parse(json, len, &doc) != 0 || !cf_json_is_object(doc))
		goto out;
	if (cf_json_get_int(doc, "v", 1, 1, &v) != 0 || cf_json_get_str(doc, "kdf", 64, &s) != 0 ||
	    strcmp(s, KDF_NAME) != 0 || cf_json_get_str(doc, "enc", 64, &s) != 0 ||
	    strcmp(s, ENC_NAME) != 0)
		goto out;
	if (cf_json_get_int(doc, "iter", CF_ENVELOPE_ITER_MIN, CF_ENVELOPE_ITER_MAX, &v) != 0)
		goto out;
	h->iter = (uint32_t)v;
	if (cf_json_get_int(doc, "number", 0, UINT32_MAX, &v) != 0)
		goto out;
	h->number = (uint32_t)v;
	h->ct = malloc(CF_ENVELOPE_PLAIN_MAX + 1);
	if (!h->ct) {
		ret = CF_ENOMEM;
		goto out;
	}
	if (get_b64u(doc, "salt", h->salt, 16, 16, NULL) != 0 ||
	    get_b64u(doc, "nonce", h->nonce, 12, 12, NULL) != 0 ||
	    get_b64u(doc, "tag", h->tag, 16, 16, NULL) != 0)
		goto out;
	/* ct may be empty (an empty string fails cf_json_get_str's 1..max rule) */
	if (cf_json_get_str_opt(doc, "ct", 0, &s) == 0 && s && *s == '\0')
		h->ct_len = 0;
	else if (get_b64u(doc, "ct", h->ct, CF_ENVELOPE_PLAIN_MAX, 0, &h->ct_len) != 0)
		goto out;
	ret = 0;
out:
	if (ret != 0) {
		free(h->ct);
		h->ct = NULL;
	}
	cf_json_free(doc);
	return ret;
}

/* Decrypt h with passphrase into a malloc'd NUL-terminated *plaintext. */
static int envelope_decrypt(const struct header *h, const char *passphrase, char **plaintext)
{
	char aad[sizeof(AAD_PREFIX) + 10];
	uint8_t key[32];
	char *pt;
	int ret;

	pt = malloc(h->ct_len + 1);
	if (!pt)
		return CF_ENOMEM;
	ret = cf_envelope_key(passphrase, h->salt, h->iter, key);
	if (ret == 0)
		ret = cf_aead_open(key, h->nonce, aad, envelope_aad(h->number, aad), h->ct,
				   h->ct_len, h->tag, (uint8_t *)pt);
	cf_zeroize(key, sizeof(key));
	pt[ret == 0 ? h->ct_len : 0] = '\0';
	/* authentic but not a text: the sealer made a mistake, not the reader */
	if (ret == 0 && memchr(pt, '\0', h->ct_len))
		ret = CF_EMALFORMED;
	if (ret != 0) {
		cf_zeroize(pt, h->ct_len + 1);
		free(pt);
		return ret;
	}
	*plaintext = pt;
	return 0;
}

int cf_envelope_open(const char *text, size_t len, const char *passphrase, char **plaintext,
		     uint32_t *number)
{
	struct header h = {0};
	char *b64 = NULL;
	uint8_t *json = NULL;
	size_t b64_len = 0, json_len = 0;
	int ret;

	if (!text || !passphrase || !plaintext || !number)
		return CF_EUSAGE;
	if ((ret = armour_extract(text, len, &b64, &b64_len)) != 0)
		return ret;
	json = malloc(b64_len / 4 * 3 + 3);
	if (!json) {
		ret = CF_ENOMEM;
		goto out;
	}
	if (mbedtls_base64_decode(json, b64_len / 4 * 3 + 3, &json_len, (const unsigned char *)b64,
				  b64_len) != 0 ||
	    json_len == 0) {
		ret = CF_EMALFORMED;
		goto out;
	}
	if ((ret = header_parse((const char *)json, json_len, &h)) != 0)
		goto out;
	if ((ret = envelope_decrypt(&h, passphrase, plaintext)) != 0)
		goto out;
	*number = h.number;
out:
	free(h.ct);
	free(json);
	free(b64);
	return ret;
}
