/*
 * cf_pkcs8 — password-encrypted private key files: PKCS#8 EncryptedPrivateKeyInfo (RFC 5958)
 * with PBES2 (RFC 8018): PBKDF2-HMAC-SHA-256 and AES-256-CBC, PEM label "ENCRYPTED PRIVATE KEY",
 * the form `openssl pkcs8 -topk8 -v2 aes-256-cbc -v2prf hmacWithSHA256` writes and reads.
 *
 * mbedTLS 2.28 writes no PKCS#8 and decrypts PBES2 only with DES ciphers, so both directions are
 * built here from its ASN.1, PBKDF2 and cipher parts; the decrypted PrivateKeyInfo is handed to
 * mbedtls_pk_parse_key. Every clear buffer (key DER, derived key, cipher context, file text) is
 * wiped before it is freed or goes out of scope; the password is never copied.
 */
#include "cf_crypto_compat.h"

#include "cf_b64.h"
#include "cf_crypto.h"
#include "cf_err.h"
#include "cf_file.h"

#include <stdlib.h>
#include <string.h>

#include <mbedtls/asn1.h>
#include <mbedtls/asn1write.h>
#include <mbedtls/cipher.h>
#include <mbedtls/oid.h>
#include <mbedtls/pem.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform_util.h>

#define KEY_FILE_MAX (64 * 1024)
#define DER_MAX 8192 /* PKCS#8 of an RSA-4096 key is about 2.4 KB */
#define SALT_LEN 16
#define IV_LEN 16
#define ITER_MIN 1000
#define ITER_MAX 10000000
#define PEM_LABEL "ENCRYPTED PRIVATE KEY"
#define PEM_BEGIN "-----BEGIN " PEM_LABEL "-----"
#define PEM_END "-----END " PEM_LABEL "-----"
#define LEGACY_ENCRYPTED "Proc-Type: 4,ENCRYPTED"
/* aes256-CBC OBJECT IDENTIFIER ::= { aes 42 } (NIST), absent from mbedTLS 2.28's oid.h */
#define OID_AES256_CBC MBEDTLS_OID_AES "\x2a"

#define OID_ARGS(oid) (oid), MBEDTLS_OID_SIZE(oid)

/* ---- writing ---------------------------------------------------------------------------- */

/* Write a SEQUENCE header for the len octets already written after *p; *len becomes the length
 * with the header. 0 or an mbedTLS error. */
static int write_seq(unsigned char **p, unsigned char *start, int *len)
{
	int ret, n = *len;

	MBEDTLS_ASN1_CHK_ADD(n, mbedtls_asn1_write_len(p, start, (size_t)*len));
	MBEDTLS_ASN1_CHK_ADD(
	    n, mbedtls_asn1_write_tag(p, start, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE));
	*len = n;
	return 0;
}

/* Write AlgorithmIdentifier { oid, the *len octets of parameters already written after *p (NULL
 * when *len is 0) }; *len becomes the length of the whole. 0 or an mbedTLS error. */
static int write_alg(unsigned char **p, unsigned char *start, const char *oid, size_t oid_len,
		     int *len)
{
	int n = mbedtls_asn1_write_algorithm_identifier(p, start, oid, oid_len, (size_t)*len);

	if (n < 0)
		return n;
	*len = n; /* mbedTLS counts the parameters in */
	return 0;
}

/* Prepend the DER element f writes, adding its length to g (0 or an mbedTLS error). */
#define ADD(g, f)                                                                                  \
	do {                                                                                       \
		int n_ = (f);                                                                      \
		if (n_ < 0)                                                                        \
			return n_;                                                                 \
		(g) += n_;                                                                         \
	} while (0)
#define CHK(f)                                                                                     \
	do {                                                                                       \
		int r_ = (f);                                                                      \
		if (r_ < 0)                                                                        \
			return r_;                                                                 \
	} while (0)

/*
 * PrivateKeyInfo ::= SEQUENCE { version INTEGER 0, privateKeyAlgorithm AlgorithmIdentifier,
 *                               privateKey OCTET STRING }
 * around the SEC1 ECPrivateKey or PKCS#1 RSAPrivateKey that already ends at *p (inner octets);
 * the algorithm is { id-ecPublicKey, namedCurve } or { rsaEncryption, NULL }.
 * Returns the total length, or an mbedTLS error.
 */
static int write_private_key_info(unsigned char **p, unsigned char *start, const cf_key *key,
				  size_t inner)
{
	int n = (int)inner, alg = 0;

	ADD(n, mbedtls_asn1_write_len(p, start, inner));
	ADD(n, mbedtls_asn1_write_tag(p, start, MBEDTLS_ASN1_OCTET_STRING));
	switch (cf_key_type(key)) {
	case CF_KEY_P256:
		ADD(alg, mbedtls_asn1_write_oid(p, start, OID_ARGS(MBEDTLS_OID_EC_GRP_SECP256R1)));
		CHK(write_alg(p, start, OID_ARGS(MBEDTLS_OID_EC_ALG_UNRESTRICTED), &alg));
		break;
	case CF_KEY_P384:
		ADD(alg, mbedtls_asn1_write_oid(p, start, OID_ARGS(MBEDTLS_OID_EC_GRP_SECP384R1)));
		CHK(write_alg(p, start, OID_ARGS(MBEDTLS_OID_EC_ALG_UNRESTRICTED), &alg));
		break;
	case CF_KEY_RSA:
		CHK(write_alg(p, start, OID_ARGS(MBEDTLS_OID_PKCS1_RSA), &alg));
		break;
	}
	n += alg;
	ADD(n, mbedtls_asn1_write_int(p, start, 0));
	CHK(write_seq(p, start, &n));
	return n;
}

/*
 * EncryptedPrivateKeyInfo ::= SEQUENCE {
 *   encryptionAlgorithm SEQUENCE { id-PBES2, PBES2-params ::= SEQUENCE {
 *     keyDerivationFunc SEQUENCE { id-PBKDF2, PBKDF2-params ::= SEQUENCE {
 *       salt OCTET STRING, iterationCount INTEGER, prf SEQUENCE { hmacWithSHA256, NULL } } },
 *     encryptionScheme SEQUENCE { aes256-CBC, iv OCTET STRING } } },
 *   encryptedData OCTET STRING }
 * written backwards ending at *p; returns its length, or an mbedTLS error.
 */
static int write_encrypted_info(unsigned char **p, unsigned char *start, const uint8_t *salt,
				uint32_t iterations, const uint8_t *iv, const uint8_t *ct,
				size_t ct_len)
{
	int n = 0, enc = 0, kdf = 0, prf = 0, pbes2;

	ADD(n, mbedtls_asn1_write_octet_string(p, start, ct, ct_len));
	ADD(enc, mbedtls_asn1_write_octet_string(p, start, iv, IV_LEN));
	CHK(write_alg(p, start, OID_ARGS(OID_AES256_CBC), &enc));
	CHK(write_alg(p, start, OID_ARGS(MBEDTLS_OID_HMAC_SHA256), &prf));
	kdf = prf;
	ADD(kdf, mbedtls_asn1_write_int(p, start, (int)iterations));
	ADD(kdf, mbedtls_asn1_write_octet_string(p, start, salt, SALT_LEN));
	CHK(write_seq(p, start, &kdf));
	CHK(write_alg(p, start, OID_ARGS(MBEDTLS_OID_PKCS5_PBKDF2), &kdf));
	pbes2 = kdf + enc;
	CHK(write_seq(p, start, &pbes2));
	CHK(write_alg(p, start, OID_ARGS(MBEDTLS_OID_PKCS5_PBES2), &pbes2));
	n += pbes2;
	CHK(write_seq(p, start, &n));
	return n;
}

#undef ADD
#undef CHK

int cf_key_pkcs8_der(const cf_key *key, uint8_t *buf, size_t cap, size_t *len)
{
	uint8_t *tmp;
	unsigned char *p;
	int n, ret = CF_ECRYPTO;

	if (!key || !buf || !len)
		return CF_EINTERNAL;
	if (!cf_key_has_private(key))
		return CF_EBADKEY;
	/* mbedTLS writes at the end of its buffer: build there, then move to buf's start */
	if (!(tmp = malloc(DER_MAX)))
		return CF_ENOMEM;
	n = mbedtls_pk_write_key_der((mbedtls_pk_context *)&key->pk, tmp, DER_MAX);
	if (n > 0) {
		p = tmp + DER_MAX - n;
		n = write_private_key_info(&p, tmp, key, (size_t)n);
	}
	if (n > 0 && (size_t)n > cap)
		ret = CF_EINTERNAL;
	else if (n > 0) {
		memcpy(buf, p, (size_t)n);
		*len = (size_t)n;
		ret = 0;
	}
	mbedtls_platform_zeroize(tmp, DER_MAX);
	free(tmp);
	return ret;
}

/* AES-256-CBC with PKCS#7 padding of in under key/iv into out (room for len + 16). */
static int aes_cbc(mbedtls_operation_t op, const uint8_t key[32], const uint8_t iv[IV_LEN],
		   const uint8_t *in, size_t len, uint8_t *out, size_t *out_len)
{
	mbedtls_cipher_context_t c;
	int ret = CF_ECRYPTO;

	mbedtls_cipher_init(&c);
	if (mbedtls_cipher_setup(&c, mbedtls_cipher_info_from_type(MBEDTLS_CIPHER_AES_256_CBC)) ==
		0 &&
	    mbedtls_cipher_setkey(&c, key, 256, op) == 0 &&
	    mbedtls_cipher_set_padding_mode(&c, MBEDTLS_PADDING_PKCS7) == 0 &&
	    mbedtls_cipher_crypt(&c, iv, IV_LEN, in, len, out, out_len) == 0)
		ret = 0;
	mbedtls_cipher_free(&c); /* wipes the key schedule */
	return ret;
}

int cf_key_save_encrypted(const cf_key *key, const char *path, const char *password,
			  uint32_t iterations)
{
	/* pki: the clear PrivateKeyInfo; out: the EncryptedPrivateKeyInfo, built backwards */
	uint8_t *pki = NULL, *ct = NULL, *out = NULL, salt[SALT_LEN], iv[IV_LEN], dk[32];
	unsigned char *p;
	size_t ct_len = 0, pki_len = 0;
	char *pem = NULL;
	int n, ret = CF_ECRYPTO;

	if (!key || !path || !cf_key_has_private(key))
		return CF_EBADKEY;
	if (!password || !*password || iterations < ITER_MIN || iterations > ITER_MAX)
		return CF_EUSAGE;
	pki = malloc(DER_MAX);
	ct = malloc(DER_MAX + IV_LEN);
	out = malloc(DER_MAX + 256);
	if (!pki || !ct || !out) {
		ret = CF_ENOMEM;
		goto out;
	}
	if ((ret = cf_key_pkcs8_der(key, pki, DER_MAX, &pki_len)) != 0)
		goto out;
	ret = CF_ECRYPTO;
	if (cf_random(salt, sizeof(salt)) != 0 || cf_random(iv, sizeof(iv)) != 0 ||
	    cf_pbkdf2_sha256(password, strlen(password), salt, sizeof(salt), iterations, dk,
			     sizeof(dk)) != 0 ||
	    aes_cbc(MBEDTLS_ENCRYPT, dk, iv, pki, pki_len, ct, &ct_len) != 0)
		goto out;
	p = out + DER_MAX + 256;
	n = write_encrypted_info(&p, out, salt, iterations, iv, ct, ct_len);
	if (n <= 0)
		goto out;
	pem = cf_pem_encode(PEM_LABEL, p, (size_t)n);
	ret = pem ? cf_file_write(path, pem, strlen(pem), 0600, 0) : CF_ENOMEM;
out:
	mbedtls_platform_zeroize(dk, sizeof(dk));
	if (pki)
		mbedtls_platform_zeroize(pki, DER_MAX);
	free(pki);
	free(ct);
	free(out);
	free(pem);
	return ret;
}

/* ---- reading ---------------------------------------------------------------------------- */

struct pbes2 {
	const uint8_t *salt, *iv, *ct;
	size_t salt_len, ct_len;
	int iterations;
};

/* Enter the SEQUENCE at *p: on return *p is its first octet and *end its end. */
static int get_seq(unsigned char **p, const unsigned char **end)
{
	size_t len;

	if (mbedtls_asn1_get_tag(p, *end, &len, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE) !=
	    0)
		return CF_EBADKEY;
	*end = *p + len;
	return 0;
}

/* PBKDF2-params (inside params): salt, iterationCount, keyLength 32 if present, prf
 * hmacWithSHA256 (required: the default, HMAC-SHA-1, is not accepted). */
static int parse_pbkdf2(const mbedtls_asn1_buf *params, struct pbes2 *out)
{
	unsigned char *p = params->p;
	const unsigned char *end = params->p + params->len;
	mbedtls_asn1_buf prf, prf_params;
	size_t len;
	int key_len;

	if (params->tag != (MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE))
		return CF_EBADKEY;
	if (mbedtls_asn1_get_tag(&p, end, &len, MBEDTLS_ASN1_OCTET_STRING) != 0)
		return CF_EBADKEY;
	out->salt = p;
	out->salt_len = len;
	p += len;
	if (mbedtls_asn1_get_int(&p, end, &out->iterations) != 0 || out->iterations < ITER_MIN ||
	    out->iterations > ITER_MAX)
		return CF_EBADKEY;
	if (p < end && *p == MBEDTLS_ASN1_INTEGER &&
	    (mbedtls_asn1_get_int(&p, end, &key_len) != 0 || key_len != 32))
		return CF_EBADKEY;
	if (p == end || mbedtls_asn1_get_alg(&p, end, &prf, &prf_params) != 0 || p != end ||
	    MBEDTLS_OID_CMP(MBEDTLS_OID_HMAC_SHA256, &prf) != 0 ||
	    (prf_params.tag != 0 && prf_params.tag != MBEDTLS_ASN1_NULL))
		return CF_EBADKEY;
	return 0;
}

/* The PBES2 parameters and ciphertext of an EncryptedPrivateKeyInfo DER (pointers into der). */
static int parse_encrypted_info(unsigned char *der, size_t len, struct pbes2 *out)
{
	unsigned char *p = der;
	const unsigned char *end = der + len, *pbes2_end;
	mbedtls_asn1_buf alg, params, kdf, kdf_params, enc, iv;
	size_t n;

	if (get_seq(&p, &end) != 0 || end != der + len ||
	    mbedtls_asn1_get_alg(&p, end, &alg, &params) != 0 ||
	    MBEDTLS_OID_CMP(MBEDTLS_OID_PKCS5_PBES2, &alg) != 0 ||
	    params.tag != (MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE))
		return CF_EBADKEY;
	/* PBES2-params ::= SEQUENCE { keyDerivationFunc, encryptionScheme } */
	{
		unsigned char *q = params.p;
		pbes2_end = params.p + params.len;
		if (mbedtls_asn1_get_alg(&q, pbes2_end, &kdf, &kdf_params) != 0 ||
		    MBEDTLS_OID_CMP(MBEDTLS_OID_PKCS5_PBKDF2, &kdf) != 0 ||
		    parse_pbkdf2(&kdf_params, out) != 0 ||
		    mbedtls_asn1_get_alg(&q, pbes2_end, &enc, &iv) != 0 || q != pbes2_end ||
		    MBEDTLS_OID_CMP(OID_AES256_CBC, &enc) != 0 ||
		    iv.tag != MBEDTLS_ASN1_OCTET_STRING || iv.len != IV_LEN)
			return CF_EBADKEY;
		out->iv = iv.p;
	}
	if (mbedtls_asn1_get_tag(&p, end, &n, MBEDTLS_ASN1_OCTET_STRING) != 0 || p + n != end ||
	    n == 0 || n % 16 != 0 || n > DER_MAX)
		return CF_EBADKEY;
	out->ct = p;
	out->ct_len = n;
	return 0;
}

/* Decrypt the EncryptedPrivateKeyInfo der with password into a key. */
static int decrypt_key(unsigned char *der, size_t len, const char *password, cf_key **out)
{
	struct pbes2 e;
	uint8_t dk[32], *pki;
	size_t pki_len = 0;
	int ret;

	if ((ret = parse_encrypted_info(der, len, &e)) != 0)
		return ret;
	pki = malloc(e.ct_len + 16);
	if (!pki)
		return CF_ENOMEM;
	ret = cf_pbkdf2_sha256(password, strlen(password), e.salt, e.salt_len,
			       (uint32_t)e.iterations, dk, sizeof(dk));
	if (ret == 0) {
		/* a wrong password shows as bad padding or, rarely, as a PrivateKeyInfo that does
		 * not parse: both are the same answer */
		ret = aes_cbc(MBEDTLS_DECRYPT, dk, e.iv, e.ct, e.ct_len, pki, &pki_len) == 0 &&
			      cf_key_parse(pki, pki_len, out) == 0
			  ? 0
			  : CF_EBADPASSPHRASE;
	}
	mbedtls_platform_zeroize(dk, sizeof(dk));
	mbedtls_platform_zeroize(pki, e.ct_len + 16);
	free(pki);
	return ret;
}

/* The DER inside the "ENCRYPTED PRIVATE KEY" PEM of text (NUL-terminated) into *der. */
static int pem_decode(const char *text, uint8_t **der, size_t *len)
{
	mbedtls_pem_context pem;
	size_t used = 0;
	int ret = CF_EBADKEY;

	mbedtls_pem_init(&pem);
	if (mbedtls_pem_read_buffer(&pem, PEM_BEGIN, PEM_END, (const unsigned char *)text, NULL, 0,
				    &used) == 0) {
		*der = malloc(pem.buflen);
		ret = *der ? 0 : CF_ENOMEM;
		if (ret == 0) {
			memcpy(*der, pem.buf, pem.buflen);
			*len = pem.buflen;
		}
	}
	mbedtls_pem_free(&pem);
	return ret;
}

/* Read path (wiped and freed by the caller with key_text_free). */
static int key_text_read(const char *path, char **text, size_t *len)
{
	int ret = cf_file_read(path, KEY_FILE_MAX, text, len);

	return ret == 0 || ret == CF_ENOMEM ? ret : CF_EIO;
}

static void key_text_free(char *text, size_t len)
{
	if (text)
		mbedtls_platform_zeroize(text, len);
	free(text);
}

int cf_key_file_is_encrypted(const char *path)
{
	char *text = NULL;
	size_t len = 0;
	int ret;

	if ((ret = key_text_read(path, &text, &len)) != 0)
		return ret;
	ret = strstr(text, PEM_BEGIN) || strstr(text, LEGACY_ENCRYPTED) ? 1 : 0;
	key_text_free(text, len);
	return ret;
}

int cf_key_file_iterations(const char *path, uint32_t *iterations)
{
	struct pbes2 e;
	char *text = NULL;
	uint8_t *der = NULL;
	size_t len = 0, der_len = 0;
	int ret;

	if ((ret = key_text_read(path, &text, &len)) != 0)
		return ret;
	ret = strstr(text, PEM_BEGIN) ? pem_decode(text, &der, &der_len) : CF_EBADKEY;
	if (ret == 0 && (ret = parse_encrypted_info(der, der_len, &e)) == 0)
		*iterations = (uint32_t)e.iterations;
	free(der);
	key_text_free(text, len);
	return ret;
}

int cf_key_load_password(const char *path, const char *password, cf_key **out)
{
	char *text = NULL;
	uint8_t *der = NULL;
	size_t len = 0, der_len = 0;
	int ret;

	if (!path || !out)
		return CF_EUSAGE;
	if ((ret = key_text_read(path, &text, &len)) != 0)
		return ret;
	if (strstr(text, PEM_BEGIN)) {
		ret =
		    !password || !*password ? CF_EBADPASSPHRASE : pem_decode(text, &der, &der_len);
		if (ret == 0)
			ret = decrypt_key(der, der_len, password, out);
	} else if (strstr(text, LEGACY_ENCRYPTED)) {
		/* OpenSSL's traditional encrypted PEM (MD5-based key derivation): not supported */
		ret = CF_EBADKEY;
	} else {
		ret = cf_key_parse((const uint8_t *)text, len, out);
	}
	key_text_free((char *)der, der_len);
	key_text_free(text, len);
	return ret;
}
