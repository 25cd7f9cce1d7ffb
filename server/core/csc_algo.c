/*
 * csc_algo — the algorithm identifiers and wire forms of the CSC API subset (spec/protocol.md
 * §25.2): hash and signature OIDs, which signature algorithm fits which key, the digest a SAD
 * is bound to, and standard base64. Pure functions, no state: the journeys are in csc.c.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cf_b64.h"
#include "cf_crypto.h"
#include "cf_err.h"
#include "core.h"

#define OID_EC_PUBLIC_KEY "1.2.840.10045.2.1"
#define OID_RSA_ENCRYPTION "1.2.840.113549.1.1.1"
#define OID_P256 "1.2.840.10045.3.1.7"
#define OID_P384 "1.3.132.0.34"

static const struct {
	const char *oid;
	size_t len;
} hashes[] = {
    {CORE_OID_SHA256, 32},
    {CORE_OID_SHA384, 48},
    {CORE_OID_SHA512, 64},
};

/* Signature algorithms that name their hash; ec = 1 for ECDSA, 0 for RSASSA-PKCS1-v1_5. */
static const struct {
	const char *oid;
	int ec;
	const char *hash;
} sign_algos[] = {
    {"1.2.840.10045.4.3.2", 1, CORE_OID_SHA256},   {"1.2.840.10045.4.3.3", 1, CORE_OID_SHA384},
    {"1.2.840.10045.4.3.4", 1, CORE_OID_SHA512},   {"1.2.840.113549.1.1.11", 0, CORE_OID_SHA256},
    {"1.2.840.113549.1.1.12", 0, CORE_OID_SHA384}, {"1.2.840.113549.1.1.13", 0, CORE_OID_SHA512},
};

static const char *const ec_algos[] = {OID_EC_PUBLIC_KEY, "1.2.840.10045.4.3.2",
				       "1.2.840.10045.4.3.3", "1.2.840.10045.4.3.4", NULL};
static const char *const rsa_algos[] = {OID_RSA_ENCRYPTION, "1.2.840.113549.1.1.11",
					"1.2.840.113549.1.1.12", "1.2.840.113549.1.1.13", NULL};

size_t core_csc_hash_len(const char *hash_oid)
{
	size_t i;

	for (i = 0; hash_oid && i < sizeof(hashes) / sizeof(hashes[0]); i++)
		if (strcmp(hash_oid, hashes[i].oid) == 0)
			return hashes[i].len;
	return 0;
}

const char *core_csc_sign_algo_hash(const char *sign_algo)
{
	size_t i;

	for (i = 0; sign_algo && i < sizeof(sign_algos) / sizeof(sign_algos[0]); i++)
		if (strcmp(sign_algo, sign_algos[i].oid) == 0)
			return sign_algos[i].hash;
	return NULL;
}

int core_csc_sign_algo_check(int key_type, const char *sign_algo, const char *hash_oid)
{
	int ec = key_type != CF_KEY_RSA;
	size_t i;

	if (!sign_algo || core_csc_hash_len(hash_oid) == 0)
		return CF_EBADALG;
	/* the key's own algorithm: the hash is hashAlgorithmOID's */
	if (strcmp(sign_algo, ec ? OID_EC_PUBLIC_KEY : OID_RSA_ENCRYPTION) == 0)
		return 0;
	for (i = 0; i < sizeof(sign_algos) / sizeof(sign_algos[0]); i++)
		if (strcmp(sign_algo, sign_algos[i].oid) == 0)
			return sign_algos[i].ec == ec && strcmp(sign_algos[i].hash, hash_oid) == 0
				   ? 0
				   : CF_EBADALG;
	return CF_EBADALG;
}

const char *const *core_csc_key_algos(int key_type)
{
	return key_type == CF_KEY_RSA ? rsa_algos : ec_algos;
}

const char *core_csc_key_curve(int key_type)
{
	return key_type == CF_KEY_P256 ? OID_P256 : key_type == CF_KEY_P384 ? OID_P384 : NULL;
}

int core_csc_digest(const char *hash_oid, const uint8_t *hashes_in, size_t hlen, size_t n,
		    uint8_t out[32])
{
	size_t olen = strlen(hash_oid), len = olen + 1 + hlen * n;
	uint8_t *buf;
	int ret;

	if (n == 0 || hlen == 0 || n > (SIZE_MAX - olen - 1) / hlen)
		return CF_EINTERNAL;
	buf = malloc(len);
	if (!buf)
		return CF_ENOMEM;
	memcpy(buf, hash_oid, olen);
	buf[olen] = 0; /* the OID never contains 0: the two parts cannot run into each other */
	memcpy(buf + olen + 1, hashes_in, hlen * n);
	ret = cf_sha256(buf, len, out);
	free(buf);
	return ret;
}

/* Standard base64 is base64url with two other characters and padding: translate and let the
 * strict base64url codec do the rest. */
int core_csc_b64_decode(const char *in, uint8_t *out, size_t out_cap, size_t *out_len)
{
	size_t len = strlen(in), pad = 0, i;
	char *url;
	int ret;

	if (len == 0 || len % 4 != 0)
		return CF_EMALFORMED;
	while (pad < 2 && in[len - 1 - pad] == '=')
		pad++;
	url = malloc(len + 1);
	if (!url)
		return CF_ENOMEM;
	for (i = 0; i < len - pad; i++) {
		char ch = in[i];
		/* '-', '_' and '=' are base64url's or padding: not standard base64 here */
		url[i] = ch == '+' ? '-' : ch == '/' ? '_' : ch == '-' || ch == '_' ? '=' : ch;
	}
	ret = cf_b64url_decode(url, len - pad, out, out_cap, out_len);
	free(url);
	return ret == 0 ? 0 : CF_EMALFORMED;
}
