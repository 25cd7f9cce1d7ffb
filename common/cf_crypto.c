/*
 * cf_crypto — randomness, digests, secret hygiene, keys, JWS signatures and CSRs on mbedTLS.
 * (JWK conversion and thumbprints are in cf_jwk.c.)
 *
 * The CSPRNG is one CTR-DRBG per thread, seeded from mbedtls_entropy (the OS source) on first
 * use and reseeded in a child after fork(), so no two threads or processes share a stream.
 * cf_rng_mbedtls always uses the calling thread's generator, whatever p_rng it is given, so an
 * f_rng/p_rng pair registered once (e.g. on an ssl config) stays safe on every thread.
 * Only keys that fit the protocol exist as cf_key: P-256, P-384, RSA 2048..4096 bits with a
 * public exponent that is odd and fits in 32 bits. Secrets never leave here unwiped.
 */
#include "cf_crypto_compat.h"

#include "cf_crypto.h"
#include "cf_err.h"
#include "cf_file.h"
#ifdef CF_CRYPTO_OPENSSL
#include "cf_crypto_openssl.h"
#endif

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <mbedtls/asn1.h>
#include <mbedtls/asn1write.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecdsa.h>
#include <mbedtls/ecp.h>
#include <mbedtls/entropy.h>
#include <mbedtls/md.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/rsa.h>
#include <mbedtls/x509_csr.h>

#define KEY_FILE_MAX (64 * 1024)
#define PEM_KEY_MAX 8192 /* PEM of an RSA-4096 private key is about 3.3 KB */
#define CSR_DEFAULT_CN "certflow"

/* ---- CSPRNG ---------------------------------------------------------------------------- */

struct rng_state {
	mbedtls_entropy_context entropy;
	mbedtls_ctr_drbg_context drbg;
	unsigned fork_gen;
};

static pthread_once_t rng_once = PTHREAD_ONCE_INIT;
static pthread_key_t rng_key;
static atomic_uint rng_fork_gen;

static void rng_state_free(void *p)
{
	struct rng_state *st = p;

	mbedtls_ctr_drbg_free(&st->drbg);
	mbedtls_entropy_free(&st->entropy);
	mbedtls_platform_zeroize(st, sizeof(*st));
	free(st);
}

static void rng_after_fork(void)
{
	atomic_fetch_add(&rng_fork_gen, 1);
}

static void rng_init_once(void)
{
	pthread_key_create(&rng_key, rng_state_free);
	pthread_atfork(NULL, NULL, rng_after_fork);
}

/* The calling thread's generator, created and seeded on first use; NULL on failure. */
static struct rng_state *rng_get(void)
{
	static const char pers[] = "certflow ctr-drbg";
	struct rng_state *st;

	pthread_once(&rng_once, rng_init_once);
	st = pthread_getspecific(rng_key);
	if (st)
		return st;
	st = calloc(1, sizeof(*st));
	if (!st)
		return NULL;
	mbedtls_entropy_init(&st->entropy);
	mbedtls_ctr_drbg_init(&st->drbg);
	st->fork_gen = atomic_load(&rng_fork_gen);
	if (mbedtls_ctr_drbg_seed(&st->drbg, mbedtls_entropy_func, &st->entropy,
				  (const unsigned char *)pers, sizeof(pers) - 1) != 0 ||
	    pthread_setspecific(rng_key, st) != 0) {
		rng_state_free(st);
		return NULL;
	}
	return st;
}

#ifdef CF_CRYPTO_OPENSSL
/* The OpenSSL build: what mbedTLS draws (key generation, blinding) comes from RAND_bytes too. */
int cf_rng_mbedtls(void *p_rng, unsigned char *out, size_t len)
{
	(void)p_rng;
	return cf_ossl_random(out, len) == 0 ? 0 : MBEDTLS_ERR_CTR_DRBG_ENTROPY_SOURCE_FAILED;
}
#else
int cf_rng_mbedtls(void *p_rng, unsigned char *out, size_t len)
{
	struct rng_state *st = rng_get();
	unsigned gen = atomic_load(&rng_fork_gen);
	int ret;

	(void)p_rng;
	if (!st)
		return MBEDTLS_ERR_CTR_DRBG_ENTROPY_SOURCE_FAILED;
	/* a forked child must not replay its parent's stream */
	if (st->fork_gen != gen) {
		ret = mbedtls_ctr_drbg_reseed(&st->drbg, NULL, 0);
		if (ret != 0)
			return ret;
		st->fork_gen = gen;
	}
	while (len > 0) {
		size_t n = len < MBEDTLS_CTR_DRBG_MAX_REQUEST ? len : MBEDTLS_CTR_DRBG_MAX_REQUEST;
		ret = mbedtls_ctr_drbg_random(&st->drbg, out, n);
		if (ret != 0)
			return ret;
		out += n;
		len -= n;
	}
	return 0;
}

#endif

void *cf_rng_ctx(void)
{
	return rng_get();
}

#ifndef CF_CRYPTO_OPENSSL /* cf_crypto_openssl.c */
int cf_random(void *buf, size_t len)
{
	return cf_rng_mbedtls(NULL, buf, len) == 0 ? 0 : CF_ECRYPTO;
}

#endif

/* ---- secrets and digests ----------------------------------------------------------------- */

void cf_zeroize(void *buf, size_t len)
{
	if (buf)
		mbedtls_platform_zeroize(buf, len);
}

void cf_free_secret(char *s)
{
	if (!s)
		return;
	mbedtls_platform_zeroize(s, strlen(s));
	free(s);
}

int cf_ct_equal(const void *a, const void *b, size_t len)
{
	const volatile uint8_t *x = a, *y = b;
	uint8_t diff = 0;

	for (size_t i = 0; i < len; i++)
		diff |= x[i] ^ y[i];
	return diff == 0;
}

#ifndef CF_CRYPTO_OPENSSL /* cf_crypto_openssl.c */
int cf_sha256(const void *msg, size_t len, uint8_t out[32])
{
	const mbedtls_md_info_t *md = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);

	return mbedtls_md(md, msg, len, out) == 0 ? 0 : CF_ECRYPTO;
}

#endif

int cf_digest_file(const char *path, size_t hlen, uint8_t *out)
{
	mbedtls_md_type_t type = hlen == 32   ? MBEDTLS_MD_SHA256
				 : hlen == 48 ? MBEDTLS_MD_SHA384
				 : hlen == 64 ? MBEDTLS_MD_SHA512
					      : MBEDTLS_MD_NONE;
	mbedtls_md_context_t md;
	unsigned char buf[16384];
	size_t n;
	FILE *f;
	int ret = CF_EIO;

	if (type == MBEDTLS_MD_NONE)
		return CF_EUSAGE;
	if (!(f = fopen(path, "rb")))
		return errno == ENOENT ? CF_ENOTFOUND : CF_EIO;
	mbedtls_md_init(&md);
	if (mbedtls_md_setup(&md, mbedtls_md_info_from_type(type), 0) != 0 ||
	    mbedtls_md_starts(&md) != 0) {
		ret = CF_ECRYPTO;
		goto out;
	}
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		if (mbedtls_md_update(&md, buf, n) != 0)
			goto out;
	if (!ferror(f))
		ret = mbedtls_md_finish(&md, out) == 0 ? 0 : CF_ECRYPTO;
out:
	mbedtls_md_free(&md);
	fclose(f);
	return ret;
}

#ifndef CF_CRYPTO_OPENSSL /* cf_crypto_openssl.c */
int cf_hmac_sha256(const uint8_t *key, size_t key_len, const void *msg, size_t len, uint8_t out[32])
{
	const mbedtls_md_info_t *md = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);

	return mbedtls_md_hmac(md, key, key_len, msg, len, out) == 0 ? 0 : CF_ECRYPTO;
}

#endif

/* ---- keys ------------------------------------------------------------------------------------ */

static int pk_is_ec(const mbedtls_pk_context *pk)
{
	mbedtls_pk_type_t t = mbedtls_pk_get_type(pk);
	return t == MBEDTLS_PK_ECKEY || t == MBEDTLS_PK_ECDSA;
}

/* The protocol's key policy (see the top of this file). */
static int pk_check_policy(const mbedtls_pk_context *pk)
{
	if (pk_is_ec(pk)) {
		mbedtls_ecp_group_id id = mbedtls_pk_ec(*pk)->MBEDTLS_PRIVATE(grp).id;
		return id == MBEDTLS_ECP_DP_SECP256R1 || id == MBEDTLS_ECP_DP_SECP384R1
			   ? 0
			   : CF_EBADKEY;
	}
	if (mbedtls_pk_get_type(pk) == MBEDTLS_PK_RSA) {
		mbedtls_mpi n, e;
		int ok;

		/* the modulus's own bit length: mbedtls_pk_get_bitlen() is 8 × its octets, which
		 * lets a 2041-bit modulus pass for 2048 */
		mbedtls_mpi_init(&n);
		mbedtls_mpi_init(&e);
		ok = mbedtls_rsa_export(mbedtls_pk_rsa(*pk), &n, NULL, NULL, NULL, &e) == 0 &&
		     mbedtls_mpi_bitlen(&n) >= 2048 && mbedtls_mpi_bitlen(&n) <= 4096 &&
		     mbedtls_mpi_get_bit(&e, 0) == 1 && mbedtls_mpi_bitlen(&e) >= 2 &&
		     mbedtls_mpi_bitlen(&e) <= 32;
		mbedtls_mpi_free(&n);
		mbedtls_mpi_free(&e);
		return ok ? 0 : CF_EBADKEY;
	}
	return CF_EBADKEY;
}

int cf_key_from_pk(mbedtls_pk_context *pk, cf_key **out)
{
	cf_key *key;
	int ret = pk_check_policy(pk);

	if (ret != 0)
		return ret;
	key = malloc(sizeof(*key));
	if (!key)
		return CF_ENOMEM;
	if (pthread_mutex_init(&key->lock, NULL) != 0) {
		free(key);
		return CF_ENOMEM;
	}
	atomic_init(&key->signer, NULL);
	atomic_init(&key->evp, NULL);
	atomic_init(&key->ec, NULL);
	key->pk = *pk;
	mbedtls_pk_init(pk);
	*out = key;
	return 0;
}

static void signer_free(mbedtls_pk_context *signer)
{
	if (!signer)
		return;
	mbedtls_pk_free(signer); /* wipes the private scalar */
	free(signer);
}

void cf_key_free(cf_key *key)
{
	if (!key)
		return;
	signer_free(atomic_load(&key->signer));
#ifdef CF_CRYPTO_OPENSSL
	cf_key_evp_release(key);
#endif
	mbedtls_pk_free(&key->pk);
	pthread_mutex_destroy(&key->lock);
	free(key);
}

int cf_key_generate(enum cf_key_type type, unsigned bits, cf_key **out)
{
	mbedtls_pk_context pk;
	mbedtls_pk_type_t pkt = type == CF_KEY_RSA ? MBEDTLS_PK_RSA : MBEDTLS_PK_ECKEY;
	int ret = CF_ECRYPTO;

	if (type != CF_KEY_P256 && type != CF_KEY_P384 && type != CF_KEY_RSA)
		return CF_EBADKEY;
	if (type == CF_KEY_RSA && (bits < 2048 || bits > 4096))
		return CF_EBADKEY;
	mbedtls_pk_init(&pk);
	if (mbedtls_pk_setup(&pk, mbedtls_pk_info_from_type(pkt)) != 0)
		goto out;
	if (type == CF_KEY_RSA)
		ret = mbedtls_rsa_gen_key(mbedtls_pk_rsa(pk), cf_rng_mbedtls, NULL, bits, 65537);
	else
		ret = mbedtls_ecp_gen_key(type == CF_KEY_P256 ? MBEDTLS_ECP_DP_SECP256R1
							      : MBEDTLS_ECP_DP_SECP384R1,
					  mbedtls_pk_ec(pk), cf_rng_mbedtls, NULL);
	ret = ret == 0 ? cf_key_from_pk(&pk, out) : CF_ECRYPTO;
out:
	mbedtls_pk_free(&pk);
	return ret;
}

int cf_key_parse(const uint8_t *buf, size_t len, cf_key **out)
{
	mbedtls_pk_context pk;
	uint8_t *pem = NULL;
	const uint8_t *data = buf;
	size_t data_len = len;
	int ret = CF_EBADKEY;

	if (!buf || len == 0)
		return CF_EBADKEY;
	mbedtls_pk_init(&pk);
	/* mbedTLS takes PEM only with its NUL counted in the length: give it a terminated copy */
	if (memmem(buf, len, "-----BEGIN ", 11)) {
		pem = malloc(len + 1);
		if (!pem) {
			ret = CF_ENOMEM;
			goto out;
		}
		memcpy(pem, buf, len);
		pem[len] = '\0';
		data = pem;
		data_len = strlen((char *)pem) + 1;
	}
	if (CF_PK_PARSE_KEY(&pk, data, data_len) != 0) {
		mbedtls_pk_free(&pk);
		mbedtls_pk_init(&pk);
		if (mbedtls_pk_parse_public_key(&pk, data, data_len) != 0)
			goto out;
	}
	ret = cf_key_from_pk(&pk, out);
out:
	if (pem) {
		mbedtls_platform_zeroize(pem, len + 1);
		free(pem);
	}
	mbedtls_pk_free(&pk);
	return ret;
}

int cf_key_load(const char *path, cf_key **out)
{
	char *buf = NULL;
	size_t len = 0;
	int ret;

	if ((ret = cf_file_read(path, KEY_FILE_MAX, &buf, &len)) != 0)
		return ret == CF_ENOMEM ? ret : CF_EIO;
	ret = cf_key_parse((const uint8_t *)buf, len, out);
	mbedtls_platform_zeroize(buf, len);
	free(buf);
	return ret;
}

int cf_key_has_private(const cf_key *key)
{
	mbedtls_mpi d;
	int has;

	if (pk_is_ec(&key->pk))
		return mbedtls_mpi_cmp_int(&mbedtls_pk_ec(key->pk)->MBEDTLS_PRIVATE(d), 0) != 0;
	mbedtls_mpi_init(&d);
	has = mbedtls_rsa_export(mbedtls_pk_rsa(key->pk), NULL, NULL, NULL, &d, NULL) == 0 &&
	      mbedtls_mpi_cmp_int(&d, 0) != 0;
	mbedtls_mpi_free(&d);
	return has;
}

int cf_key_save(const cf_key *key, const char *path)
{
	unsigned char pem[PEM_KEY_MAX];
	int ret;

	if (!key || !path || !cf_key_has_private(key))
		return CF_EBADKEY;
	if (mbedtls_pk_write_key_pem((mbedtls_pk_context *)&key->pk, pem, sizeof(pem)) != 0)
		ret = CF_ECRYPTO;
	else
		ret = cf_file_write(path, pem, strlen((char *)pem), 0600, 0);
	mbedtls_platform_zeroize(pem, sizeof(pem));
	return ret;
}

enum cf_key_type cf_key_type(const cf_key *key)
{
	if (pk_is_ec(&key->pk))
		return mbedtls_pk_ec(key->pk)->MBEDTLS_PRIVATE(grp).id == MBEDTLS_ECP_DP_SECP256R1
			   ? CF_KEY_P256
			   : CF_KEY_P384;
	return CF_KEY_RSA;
}

unsigned cf_key_bits(const cf_key *key)
{
	return (unsigned)mbedtls_pk_get_bitlen(&key->pk);
}

enum cf_alg cf_key_alg(const cf_key *key)
{
	static const enum cf_alg algs[] = {[CF_KEY_P256] = CF_ALG_ES256,
					   [CF_KEY_P384] = CF_ALG_ES384,
					   [CF_KEY_RSA] = CF_ALG_RS256};
	return algs[cf_key_type(key)];
}

/* ---- EC groups ------------------------------------------------------------------------------- */

/*
 * mbedTLS 2.28 keeps its table of multiples of the base point G in the group (grp->T): the first
 * multiplication of G through a group computes it (about 0.35 ms on P-256, more than a whole
 * signature with the table), later ones only read it. Every group loaded anew (each parsed JWK or
 * CSR key, each copy pk_sign makes of a key) starts without it. So every ECDSA operation here runs
 * on one long-lived group per curve, filled once under pthread_once, with the key's own Q or d:
 * ecp_mul_comb writes grp->T only while it is NULL, and nothing else in an ECDSA sign or verify
 * writes to the group, so once filled the two groups are shared read-only by all threads.
 * They live as long as the process.
 */
static pthread_once_t groups_once = PTHREAD_ONCE_INIT;
static mbedtls_ecp_group groups[2]; /* P-256, P-384 */
static int groups_ok;

/* Multiply G once through grp so that grp caches its table. */
static int warm_table(mbedtls_ecp_group *grp)
{
	mbedtls_ecp_point r;
	mbedtls_mpi one;
	int ok;

	mbedtls_ecp_point_init(&r);
	mbedtls_mpi_init(&one);
	ok = mbedtls_mpi_lset(&one, 1) == 0 &&
	     mbedtls_ecp_mul(grp, &r, &one, &grp->G, cf_rng_mbedtls, NULL) == 0 &&
	     grp->MBEDTLS_PRIVATE(T) != NULL;
	mbedtls_ecp_point_free(&r);
	mbedtls_mpi_free(&one);
	return ok ? 0 : CF_ECRYPTO;
}

static void groups_init(void)
{
	static const mbedtls_ecp_group_id ids[2] = {MBEDTLS_ECP_DP_SECP256R1,
						    MBEDTLS_ECP_DP_SECP384R1};
	int ok = 1;

	for (int i = 0; i < 2; i++) {
		mbedtls_ecp_group_init(&groups[i]);
		ok = ok && mbedtls_ecp_group_load(&groups[i], ids[i]) == 0 &&
		     warm_table(&groups[i]) == 0;
	}
	groups_ok = ok;
}

/* The shared group of an EC key's curve, NULL if it could not be set up. */
static mbedtls_ecp_group *curve_group(const cf_key *key)
{
	pthread_once(&groups_once, groups_init);
	if (!groups_ok)
		return NULL;
	return &groups[cf_key_type(key) == CF_KEY_P256 ? 0 : 1];
}

/* ---- signatures ------------------------------------------------------------------------------ */

#ifndef CF_CRYPTO_OPENSSL /* cf_crypto_openssl.c */
/* Digest of msg for alg; sets the md type and length. */
static int alg_digest(enum cf_alg alg, const void *msg, size_t len, uint8_t hash[48],
		      mbedtls_md_type_t *md, size_t *hlen)
{
	*md = alg == CF_ALG_ES384 ? MBEDTLS_MD_SHA384 : MBEDTLS_MD_SHA256;
	*hlen = alg == CF_ALG_ES384 ? 48 : 32;
	if (len > 0 && !msg)
		return CF_EINTERNAL;
	return mbedtls_md(mbedtls_md_info_from_type(*md), msg, len, hash) == 0 ? 0 : CF_ECRYPTO;
}

#endif

/* Octets of one of r, s for an EC key (32 for P-256, 48 for P-384). */
static size_t ec_coord_len(const cf_key *key)
{
	return cf_key_type(key) == CF_KEY_P256 ? 32 : 48;
}

/* Deterministic ECDSA (RFC 6979) of hash by key, as raw r||s of 2 × n octets. */
static int ecdsa_sign_raw(const cf_key *key, const uint8_t *hash, size_t hlen, mbedtls_md_type_t md,
			  uint8_t *sig, size_t n)
{
	mbedtls_ecp_group *grp = curve_group(key);
	mbedtls_mpi r, s;
	int ret = CF_ECRYPTO;

	if (!grp)
		return CF_ECRYPTO;
	mbedtls_mpi_init(&r);
	mbedtls_mpi_init(&s);
	if (mbedtls_ecdsa_sign_det_ext(grp, &r, &s, &mbedtls_pk_ec(key->pk)->MBEDTLS_PRIVATE(d),
				       hash, hlen, md, cf_rng_mbedtls, NULL) == 0 &&
	    mbedtls_mpi_write_binary(&r, sig, n) == 0 &&
	    mbedtls_mpi_write_binary(&s, sig + n, n) == 0)
		ret = 0;
	mbedtls_mpi_free(&r);
	mbedtls_mpi_free(&s);
	return ret;
}

#ifndef CF_CRYPTO_OPENSSL /* cf_crypto_openssl.c */
/* 0 if (r, s) is an ECDSA signature of hash by key's Q; verify also refuses r or s outside
 * [1, n-1] and a hash longer than the order is truncated, as for any ECDSA. */
static int ecdsa_verify_rs(const cf_key *key, const uint8_t *hash, size_t hlen,
			   const mbedtls_mpi *r, const mbedtls_mpi *s)
{
	mbedtls_ecp_group *grp = curve_group(key);

	if (!grp)
		return CF_ECRYPTO;
	return mbedtls_ecdsa_verify(grp, hash, hlen, &mbedtls_pk_ec(key->pk)->MBEDTLS_PRIVATE(Q), r,
				    s) == 0
		   ? 0
		   : CF_EBADSIG;
}

/* RSASSA-PKCS1-v1_5 over the DigestInfo of hash (md); the context's own mutex guards its blinding
 * values. */
static int rsa_sign(const cf_key *key, mbedtls_md_type_t md, const uint8_t *hash, size_t hlen,
		    uint8_t *sig, size_t sig_cap, size_t *sig_len)
{
	uint8_t buf[MBEDTLS_PK_SIGNATURE_MAX_SIZE];
	size_t n = 0;

	if (CF_PK_SIGN((mbedtls_pk_context *)&key->pk, md, hash, hlen, buf, sizeof(buf), &n) != 0)
		return CF_ECRYPTO;
	if (n > sig_cap)
		return CF_EINTERNAL;
	memcpy(sig, buf, n);
	*sig_len = n;
	return 0;
}

int cf_sign(const cf_key *key, enum cf_alg alg, const void *msg, size_t len, uint8_t *sig,
	    size_t sig_cap, size_t *sig_len)
{
	uint8_t hash[48];
	mbedtls_md_type_t md;
	size_t hlen, n = 0;
	int ret;

	if (cf_key_alg(key) != alg)
		return CF_EBADALG;
	ret = alg_digest(alg, msg, len, hash, &md, &hlen);
	if (ret != 0)
		return ret;
	if (alg != CF_ALG_RS256) {
		n = ec_coord_len(key);
		if (2 * n > sig_cap)
			return CF_EINTERNAL;
		ret = ecdsa_sign_raw(key, hash, hlen, md, sig, n);
		if (ret == 0)
			*sig_len = 2 * n;
		return ret;
	}
	return rsa_sign(key, md, hash, hlen, sig, sig_cap, sig_len);
}

int cf_verify(const cf_key *key, enum cf_alg alg, const void *msg, size_t len, const uint8_t *sig,
	      size_t sig_len)
{
	uint8_t hash[48];
	mbedtls_pk_context *pk = (mbedtls_pk_context *)&key->pk;
	mbedtls_md_type_t md;
	mbedtls_mpi r, s;
	size_t hlen, n;
	int ret;

	if (cf_key_alg(key) != alg)
		return CF_EBADALG;
	if (!sig)
		return CF_EBADSIG;
	ret = alg_digest(alg, msg, len, hash, &md, &hlen);
	if (ret != 0)
		return ret;
	if (alg == CF_ALG_RS256) {
		if (sig_len != mbedtls_pk_get_len(pk))
			return CF_EBADSIG;
		return mbedtls_pk_verify(pk, md, hash, hlen, sig, sig_len) == 0 ? 0 : CF_EBADSIG;
	}
	n = ec_coord_len(key);
	if (sig_len != 2 * n)
		return CF_EBADSIG;
	mbedtls_mpi_init(&r);
	mbedtls_mpi_init(&s);
	ret = CF_EBADSIG;
	if (mbedtls_mpi_read_binary(&r, sig, n) == 0 &&
	    mbedtls_mpi_read_binary(&s, sig + n, n) == 0)
		ret = ecdsa_verify_rs(key, hash, hlen, &r, &s);
	mbedtls_mpi_free(&r);
	mbedtls_mpi_free(&s);
	return ret;
}

#endif

/* The digest algorithm of a SHA-2 digest of hlen octets, MBEDTLS_MD_NONE for other lengths. */
static mbedtls_md_type_t digest_md(size_t hlen)
{
	return hlen == 32   ? MBEDTLS_MD_SHA256
	       : hlen == 48 ? MBEDTLS_MD_SHA384
	       : hlen == 64 ? MBEDTLS_MD_SHA512
			    : MBEDTLS_MD_NONE;
}

#ifndef CF_CRYPTO_OPENSSL /* cf_crypto_openssl.c */
int cf_verify_digest(const cf_key *key, const uint8_t *hash, size_t hlen, const uint8_t *sig,
		     size_t sig_len)
{
	mbedtls_md_type_t md = digest_md(hlen);
	unsigned char *p = (unsigned char *)sig;
	const unsigned char *end = sig + sig_len;
	mbedtls_mpi r, s;
	size_t len;
	int ret = CF_EBADSIG;

	if (!key || !hash || md == MBEDTLS_MD_NONE)
		return CF_EINTERNAL;
	if (!sig || sig_len == 0)
		return CF_EBADSIG;
	if (!pk_is_ec(&key->pk))
		return mbedtls_pk_verify((mbedtls_pk_context *)&key->pk, md, hash, hlen, sig,
					 sig_len) == 0
			   ? 0
			   : CF_EBADSIG;
	/* Ecdsa-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }, nothing after it */
	mbedtls_mpi_init(&r);
	mbedtls_mpi_init(&s);
	if (mbedtls_asn1_get_tag(&p, end, &len, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE) ==
		0 &&
	    p + len == end && mbedtls_asn1_get_mpi(&p, end, &r) == 0 &&
	    mbedtls_asn1_get_mpi(&p, end, &s) == 0 && p == end)
		ret = ecdsa_verify_rs(key, hash, hlen, &r, &s);
	mbedtls_mpi_free(&r);
	mbedtls_mpi_free(&s);
	return ret;
}

#endif

/* The DER Ecdsa-Sig-Value of the raw signature r||s (2 × n octets, n ≤ 48) into sig. */
static int ecdsa_rs_to_der(const uint8_t *rs, size_t n, uint8_t *sig, size_t cap, size_t *len)
{
	unsigned char buf[2 * 48 + 16], *p = buf + sizeof(buf);
	mbedtls_mpi r, s;
	int ret = CF_ECRYPTO, w = 0, k;

	mbedtls_mpi_init(&r);
	mbedtls_mpi_init(&s);
	if (mbedtls_mpi_read_binary(&r, rs, n) != 0 || mbedtls_mpi_read_binary(&s, rs + n, n) != 0)
		goto out;
	/* written backwards: s, r, then the SEQUENCE header */
	k = mbedtls_asn1_write_mpi(&p, buf, &s);
	if (k >= 0) {
		w += k;
		k = mbedtls_asn1_write_mpi(&p, buf, &r);
	}
	if (k >= 0) {
		w += k;
		k = mbedtls_asn1_write_len(&p, buf, (size_t)w);
	}
	if (k >= 0) {
		w += k;
		k = mbedtls_asn1_write_tag(&p, buf,
					   MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE);
	}
	if (k < 0)
		goto out;
	w += k;
	ret = CF_EINTERNAL;
	if ((size_t)w > cap)
		goto out;
	memcpy(sig, p, (size_t)w);
	*len = (size_t)w;
	ret = 0;
out:
	mbedtls_mpi_free(&r);
	mbedtls_mpi_free(&s);
	return ret;
}

int cf_sign_digest(const cf_key *key, const uint8_t *hash, size_t hlen, uint8_t *sig,
		   size_t sig_cap, size_t *sig_len)
{
	mbedtls_md_type_t md = digest_md(hlen);
	uint8_t rs[2 * 48];
	size_t n = 0;
	int ret;

	if (!key || !hash || !sig || !sig_len || md == MBEDTLS_MD_NONE)
		return CF_EINTERNAL;
	if (!cf_key_has_private(key))
		return CF_EBADKEY;
	/* EC: mbedTLS's RFC 6979 in both builds (spec/protocol.md §22.7 promises deterministic
	 * ECDSA for custody signatures; OpenSSL 3.0 has none) */
	if (pk_is_ec(&key->pk)) {
		n = ec_coord_len(key);
		ret = ecdsa_sign_raw(key, hash, hlen, md, rs, n);
		if (ret == 0)
			ret = ecdsa_rs_to_der(rs, n, sig, sig_cap, sig_len);
		return ret;
	}
#ifdef CF_CRYPTO_OPENSSL
	return cf_ossl_sign_digest(key, hash, hlen, sig, sig_cap, sig_len);
#else
	return rsa_sign(key, md, hash, hlen, sig, sig_cap, sig_len);
#endif
}

#ifndef CF_CRYPTO_OPENSSL /* cf_crypto_openssl.c */
/* A new ECDSA-typed copy of key's pair, with the base-point table of its group computed. */
static int signer_new(const cf_key *key, mbedtls_pk_context **out)
{
	mbedtls_pk_context *pk = calloc(1, sizeof(*pk));

	if (!pk)
		return CF_ENOMEM;
	mbedtls_pk_init(pk);
	if (mbedtls_pk_setup(pk, mbedtls_pk_info_from_type(MBEDTLS_PK_ECDSA)) != 0 ||
	    mbedtls_ecdsa_from_keypair(mbedtls_pk_ec(*pk), mbedtls_pk_ec(key->pk)) != 0 ||
	    warm_table(&mbedtls_pk_ec(*pk)->MBEDTLS_PRIVATE(grp)) != 0) {
		signer_free(pk);
		return CF_ECRYPTO;
	}
	*out = pk;
	return 0;
}

#endif

/* The OpenSSL build signs for mbedTLS's writers through libcrypto, for RSA too. */
#ifdef CF_CRYPTO_OPENSSL
#define SIGNER_NEW cf_ossl_signer_new
#else
#define SIGNER_NEW signer_new
#endif

int cf_key_signer(const cf_key *key, mbedtls_pk_context **signer)
{
	cf_key *k = (cf_key *)key;
	mbedtls_pk_context *pk;
	int ret = 0;

	if (!key || !cf_key_has_private(key))
		return CF_EBADKEY;
#ifndef CF_CRYPTO_OPENSSL
	if (!pk_is_ec(&key->pk)) {
		*signer = &k->pk;
		return 0;
	}
#endif
	/* made once, under the lock; published complete, so readers need no lock */
	pk = atomic_load_explicit(&k->signer, memory_order_acquire);
	if (!pk) {
		pthread_mutex_lock(&k->lock);
		pk = atomic_load_explicit(&k->signer, memory_order_relaxed);
		if (!pk && (ret = SIGNER_NEW(key, &pk)) == 0)
			atomic_store_explicit(&k->signer, pk, memory_order_release);
		pthread_mutex_unlock(&k->lock);
	}
	if (ret == 0)
		*signer = pk;
	return ret;
}

/* ---- CSR ------------------------------------------------------------------------------------- */

/* A common name we can put in "CN=<cn>" without mbedTLS reading it as more than one value. */
static int cn_ok(const char *cn)
{
	size_t len = strlen(cn);

	if (len == 0 || len > 64)
		return 0;
	for (const char *c = cn; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f || strchr(",=+\\\"<>;#", *c))
			return 0;
	return 1;
}

int cf_csr_create(const cf_key *key, const char *cn, uint8_t **der, size_t *len)
{
	mbedtls_x509write_csr csr;
	unsigned char buf[4096];
	char subject[3 + 64 + 1];
	uint8_t *copy;
	int n, ret = CF_ECRYPTO;

	if (!key || !cf_key_has_private(key))
		return CF_EBADKEY;
	/* mbedTLS 2.28 cannot parse a CSR with an empty subject, so there is always a CN */
	if (!cn)
		cn = CSR_DEFAULT_CN;
	if (!cn_ok(cn))
		return CF_EMALFORMED;
	mbedtls_x509write_csr_init(&csr);
	mbedtls_x509write_csr_set_key(&csr, (mbedtls_pk_context *)&key->pk);
	mbedtls_x509write_csr_set_md_alg(&csr, MBEDTLS_MD_SHA256);
	snprintf(subject, sizeof(subject), "CN=%s", cn);
	if (mbedtls_x509write_csr_set_subject_name(&csr, subject) != 0)
		goto out;
	/* the DER is written at the end of buf */
	n = mbedtls_x509write_csr_der(&csr, buf, sizeof(buf), cf_rng_mbedtls, NULL);
	if (n <= 0)
		goto out;
	copy = malloc((size_t)n);
	if (!copy) {
		ret = CF_ENOMEM;
		goto out;
	}
	memcpy(copy, buf + sizeof(buf) - (size_t)n, (size_t)n);
	*der = copy;
	*len = (size_t)n;
	ret = 0;
out:
	mbedtls_x509write_csr_free(&csr);
	return ret;
}

/* ---- algorithm names ------------------------------------------------------------------------- */

static const char *const alg_names[] = {
    [CF_ALG_ES256] = "ES256", [CF_ALG_RS256] = "RS256", [CF_ALG_ES384] = "ES384"};

enum cf_alg cf_alg_from_name(const char *name)
{
	for (int a = CF_ALG_ES256; name && a <= CF_ALG_ES384; a++)
		if (strcmp(name, alg_names[a]) == 0)
			return (enum cf_alg)a;
	return 0;
}

const char *cf_alg_name(enum cf_alg alg)
{
	if (alg < CF_ALG_ES256 || alg > CF_ALG_ES384)
		return "unknown";
	return alg_names[alg];
}
