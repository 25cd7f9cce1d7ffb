/*
 * cf_jwk — public keys as JWK (RFC 7517/7518), RFC 7638 thumbprints and SPKI DER; part of the
 * crypto module. An imported JWK is held to the same policy as every cf_key (P-256, P-384,
 * RSA 2048..4096 with a 32-bit odd exponent), EC points must lie on their curve, and a JWK that
 * carries private members is refused: a private key never travels in a request.
 */
#include "cf_crypto_compat.h"

#include "cf_b64.h"
#include "cf_crypto.h"
#include "cf_err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/ecp.h>
#include <mbedtls/pk.h>
#include <mbedtls/rsa.h>

#define RSA_MAX_OCTETS 512
#define EC_MAX_OCTETS 48
#define SPKI_MAX 1024 /* SPKI of an RSA-4096 key is 550 octets */

/* ---- export ---------------------------------------------------------------------------------- */

/* Public parameters as base64url: EC x, y (fixed length) or RSA e, n (no leading zeros). */
struct jwk_pub {
	const char *kty, *crv;
	char a[RSA_MAX_OCTETS * 4 / 3 + 4]; /* x or e */
	char b[RSA_MAX_OCTETS * 4 / 3 + 4]; /* y or n */
};

static int ec_export(const cf_key *key, struct jwk_pub *pub)
{
	const mbedtls_ecp_keypair *ec = mbedtls_pk_ec(key->pk);
	uint8_t pt[1 + 2 * EC_MAX_OCTETS];
	size_t n = cf_key_type(key) == CF_KEY_P256 ? 32 : 48, len;

	if (mbedtls_ecp_point_write_binary(&ec->MBEDTLS_PRIVATE(grp), &ec->MBEDTLS_PRIVATE(Q),
					   MBEDTLS_ECP_PF_UNCOMPRESSED, &len, pt,
					   sizeof(pt)) != 0 ||
	    len != 1 + 2 * n)
		return CF_ECRYPTO;
	pub->kty = "EC";
	pub->crv = n == 32 ? "P-256" : "P-384";
	if (cf_b64url_encode(pt + 1, n, pub->a, sizeof(pub->a), NULL) != 0 ||
	    cf_b64url_encode(pt + 1 + n, n, pub->b, sizeof(pub->b), NULL) != 0)
		return CF_EINTERNAL;
	return 0;
}

static int rsa_export(const cf_key *key, struct jwk_pub *pub)
{
	const mbedtls_rsa_context *rsa = mbedtls_pk_rsa(key->pk);
	uint8_t n[RSA_MAX_OCTETS], e[4];
	size_t n_len = mbedtls_rsa_get_len(rsa), skip = 0;

	if (n_len > sizeof(n) ||
	    mbedtls_rsa_export_raw(rsa, n, n_len, NULL, 0, NULL, 0, NULL, 0, e, sizeof(e)) != 0)
		return CF_ECRYPTO;
	/* RFC 7518 §6.3.1: minimal octets, so the thumbprint is canonical */
	while (skip < sizeof(e) - 1 && e[skip] == 0)
		skip++;
	pub->kty = "RSA";
	pub->crv = NULL;
	if (cf_b64url_encode(e + skip, sizeof(e) - skip, pub->a, sizeof(pub->a), NULL) != 0 ||
	    cf_b64url_encode(n, n_len, pub->b, sizeof(pub->b), NULL) != 0)
		return CF_EINTERNAL;
	return 0;
}

static int jwk_export(const cf_key *key, struct jwk_pub *pub)
{
	return cf_key_type(key) == CF_KEY_RSA ? rsa_export(key, pub) : ec_export(key, pub);
}

int cf_key_to_jwk(const cf_key *key, cf_json **out)
{
	struct jwk_pub pub;
	cf_json *jwk = NULL;
	int ret = jwk_export(key, &pub);

	if (ret != 0)
		return ret;
	/* members in RFC 7638 (lexicographic) order */
	const char *members[4][2] = {
	    {"crv", pub.crv}, {"kty", pub.kty}, {"x", pub.a}, {"y", pub.b}};
	if (!pub.crv) {
		const char *rsa[4][2] = {
		    {"e", pub.a}, {"kty", pub.kty}, {"n", pub.b}, {NULL, NULL}};
		memcpy(members, rsa, sizeof(members));
	}
	ret = CF_ENOMEM;
	jwk = cf_json_new_object();
	if (!jwk)
		goto out;
	for (int i = 0; i < 4 && members[i][0]; i++) {
		ret = cf_json_add_str(jwk, members[i][0], members[i][1]);
		if (ret != 0)
			goto out;
	}
	*out = jwk;
	jwk = NULL;
out:
	cf_json_free(jwk);
	return ret;
}

int cf_key_thumbprint(const cf_key *key, char out[44])
{
	struct jwk_pub pub;
	char json[sizeof(pub.a) + sizeof(pub.b) + 64];
	uint8_t digest[32];
	int n, ret = jwk_export(key, &pub);

	if (ret != 0)
		return ret;
	/* RFC 7638 §3.2: required members only, lexicographic order, no white space */
	if (pub.crv)
		n = snprintf(json, sizeof(json),
			     "{\"crv\":\"%s\",\"kty\":\"%s\",\"x\":\"%s\",\"y\":\"%s\"}", pub.crv,
			     pub.kty, pub.a, pub.b);
	else
		n = snprintf(json, sizeof(json), "{\"e\":\"%s\",\"kty\":\"%s\",\"n\":\"%s\"}",
			     pub.a, pub.kty, pub.b);
	if (n < 0 || (size_t)n >= sizeof(json))
		return CF_EINTERNAL;
	ret = cf_sha256(json, (size_t)n, digest);
	if (ret != 0)
		return ret;
	return cf_b64url_encode(digest, sizeof(digest), out, 44, NULL) == 0 ? 0 : CF_EINTERNAL;
}

int cf_key_spki_der(const cf_key *key, uint8_t **der, size_t *len)
{
	unsigned char buf[SPKI_MAX];
	uint8_t *copy;
	int n = mbedtls_pk_write_pubkey_der((mbedtls_pk_context *)&key->pk, buf, sizeof(buf));

	if (n <= 0)
		return CF_ECRYPTO;
	copy = malloc((size_t)n);
	if (!copy)
		return CF_ENOMEM;
	/* mbedTLS writes DER backwards, at the end of the buffer */
	memcpy(copy, buf + sizeof(buf) - (size_t)n, (size_t)n);
	*der = copy;
	*len = (size_t)n;
	return 0;
}

int cf_key_public_equal(const cf_key *a, const cf_key *b)
{
	uint8_t *da = NULL, *db = NULL;
	size_t la = 0, lb = 0;
	int eq = 0;

	if (!a || !b)
		return 0;
	if (cf_key_spki_der(a, &da, &la) == 0 && cf_key_spki_der(b, &db, &lb) == 0)
		eq = la == lb && memcmp(da, db, la) == 0;
	free(da);
	free(db);
	return eq;
}

/* ---- import ---------------------------------------------------------------------------------- */

/* Decode the base64url member key of jwk into buf; exactly want octets if want ≠ 0.
 * Not a base64url string: CF_EMALFORMED; a value of the wrong size: CF_EBADKEY. */
static int member_octets(const cf_json *jwk, const char *key, uint8_t *buf, size_t cap, size_t want,
			 size_t *len)
{
	const char *s;
	size_t s_len, got;

	if (cf_json_get_str(jwk, key, CF_JSON_MAX_STRING, &s) != 0)
		return CF_EMALFORMED;
	s_len = strlen(s);
	/* the text first (padding, alphabet: malformed), then the size (an unacceptable key) */
	if (strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") !=
		s_len ||
	    s_len % 4 == 1)
		return CF_EMALFORMED;
	if (cf_b64url_dec_len(s_len) > cap)
		return CF_EBADKEY;
	if (cf_b64url_decode(s, s_len, buf, cap, &got) != 0)
		return CF_EMALFORMED;
	if (want && got != want)
		return CF_EBADKEY;
	*len = got;
	return 0;
}

static int ec_import(const cf_json *jwk, mbedtls_pk_context *pk)
{
	mbedtls_ecp_group_id id;
	mbedtls_ecp_keypair *ec;
	uint8_t pt[1 + 2 * EC_MAX_OCTETS];
	const char *crv;
	size_t n, len;
	int ret;

	if (cf_json_get_str(jwk, "crv", 16, &crv) != 0)
		return CF_EMALFORMED;
	if (strcmp(crv, "P-256") == 0)
		id = MBEDTLS_ECP_DP_SECP256R1, n = 32;
	else if (strcmp(crv, "P-384") == 0)
		id = MBEDTLS_ECP_DP_SECP384R1, n = 48;
	else
		return CF_EBADKEY;
	pt[0] = 0x04; /* uncompressed point: 04 || x || y */
	ret = member_octets(jwk, "x", pt + 1, n, n, &len);
	if (ret == 0)
		ret = member_octets(jwk, "y", pt + 1 + n, n, n, &len);
	if (ret != 0)
		return ret;
	if (mbedtls_pk_setup(pk, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)) != 0)
		return CF_ENOMEM;
	ec = mbedtls_pk_ec(*pk);
	if (mbedtls_ecp_group_load(&ec->MBEDTLS_PRIVATE(grp), id) != 0)
		return CF_ECRYPTO;
	/* read_binary checks the encoding, check_pubkey that the point is on the curve */
	if (mbedtls_ecp_point_read_binary(&ec->MBEDTLS_PRIVATE(grp), &ec->MBEDTLS_PRIVATE(Q), pt,
					  1 + 2 * n) != 0 ||
	    mbedtls_ecp_check_pubkey(&ec->MBEDTLS_PRIVATE(grp), &ec->MBEDTLS_PRIVATE(Q)) != 0)
		return CF_EBADKEY;
	return 0;
}

static int rsa_import(const cf_json *jwk, mbedtls_pk_context *pk)
{
	uint8_t n[RSA_MAX_OCTETS], e[4];
	size_t n_len, e_len;
	mbedtls_rsa_context *rsa;
	int ret = member_octets(jwk, "n", n, sizeof(n), 0, &n_len);

	if (ret == 0)
		ret = member_octets(jwk, "e", e, sizeof(e), 0, &e_len);
	if (ret != 0)
		return ret;
	/* RFC 7518 §6.3.1: no leading zero octets (keeps thumbprints canonical) */
	if (n[0] == 0 || e[0] == 0)
		return CF_EBADKEY;
	if (mbedtls_pk_setup(pk, mbedtls_pk_info_from_type(MBEDTLS_PK_RSA)) != 0)
		return CF_ENOMEM;
	rsa = mbedtls_pk_rsa(*pk);
	if (mbedtls_rsa_import_raw(rsa, n, n_len, NULL, 0, NULL, 0, NULL, 0, e, e_len) != 0 ||
	    mbedtls_rsa_complete(rsa) != 0 || mbedtls_rsa_check_pubkey(rsa) != 0)
		return CF_EBADKEY;
	return 0;
}

int cf_key_from_jwk(const cf_json *jwk, cf_key **out)
{
	static const char *const private_members[] = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"};
	mbedtls_pk_context pk;
	const char *kty;
	int ret = CF_EMALFORMED;

	if (!cf_json_is_object(jwk))
		return CF_EMALFORMED;
	for (size_t i = 0; i < sizeof(private_members) / sizeof(private_members[0]); i++)
		if (cf_json_get(jwk, private_members[i]))
			return CF_EMALFORMED;
	if (cf_json_get_str(jwk, "kty", 16, &kty) != 0)
		return CF_EMALFORMED;
	mbedtls_pk_init(&pk);
	if (strcmp(kty, "EC") == 0)
		ret = ec_import(jwk, &pk);
	else if (strcmp(kty, "RSA") == 0)
		ret = rsa_import(jwk, &pk);
	else
		ret = CF_EBADKEY;
	if (ret == 0)
		ret = cf_key_from_pk(&pk, out);
	mbedtls_pk_free(&pk);
	return ret;
}
