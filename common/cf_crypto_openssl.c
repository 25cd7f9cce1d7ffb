/*
 * cf_crypto_openssl — the OpenSSL 3 libcrypto backend of cf_crypto's hot operations, compiled
 * only into certflow-common-ossl (CF_CRYPTO_OPENSSL), which certflowd links; the agent,
 * certflow-admin and certflow-agent-small keep the mbedTLS build of common/.
 *
 * What runs here: random numbers (RAND_bytes, for cf_random and for every mbedTLS call that
 * draws through cf_rng_mbedtls), SHA-256, HMAC-SHA-256, the JWS signatures (cf_sign,
 * cf_verify), the X.509/PKCS#10 signature checks (cf_verify_digest), RSA digest signatures and the
 * CA's signing context for mbedTLS's X.509 writer (cf_key_signer): an mbedTLS pk context whose sign
 * function is OpenSSL's, so that the certificate is still laid out by the same writer, field by
 * field, but signed by libcrypto.
 *
 * Keys are still parsed, checked against the key policy and written (PEM, JWK, PKCS#8) by the
 * mbedTLS code of cf_crypto.c and cf_jwk.c: that happens once per key. Each key's EVP_PKEY is
 * made once, on its first use here, from the key's numbers (EVP_PKEY_fromdata; an RSA pair from
 * its PKCS#8 DER), and kept in the key (published with a compare-and-swap, so no lock) until
 * cf_key_free. EC public keys verify through a legacy EC_KEY on one shared group per curve
 * instead (ec_public): a request's keys are used once, and the provider path's per-key set-up
 * was a tenth of the request's instructions.
 *
 * ECDSA signatures here are randomised (OpenSSL 3.0 has no RFC 6979); both kinds verify alike.
 * cf_sign_digest, whose signatures the spec promises deterministic (custody, §22.7), stays in
 * cf_crypto.c for EC keys and comes here for RSA only (cf_ossl_sign_digest).
 */
#ifdef CF_CRYPTO_OPENSSL

/* EC_KEY and ECDSA_do_verify are deprecated in OpenSSL 3.0 but kept, and they skip the provider
 * machinery that costs more than a P-256 verification (see ec_public below). */
#define OPENSSL_API_COMPAT 10101

#include "cf_crypto_compat.h"

#include "cf_crypto.h"
#include "cf_crypto_openssl.h"
#include "cf_err.h"

#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/ecp.h>
#include <mbedtls/pk.h>
#include <mbedtls/rsa.h>
#include <mbedtls/pk_internal.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#define PKCS8_MAX 2400

/* ---- randomness and digests ------------------------------------------------------------------ */

static int rand_direct(unsigned char *p, size_t len)
{
	while (len > 0) {
		int n = len > INT_MAX ? INT_MAX : (int)len;
		if (RAND_bytes(p, n) != 1)
			return CF_ECRYPTO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Small draws (a nonce, an id, a serial, mbedTLS's blinding values: several per request) come
 * from a per-thread buffer of RAND_bytes output: each RAND_bytes call costs a getpid system call
 * (OpenSSL's fork check) and the DRBG's set-up besides its AES. Bytes handed out are wiped from
 * the buffer at once, so it only ever holds bytes no caller has seen. A child of fork() starts
 * with an empty buffer (rand_atfork), so no two processes hand out the same bytes.
 */
#define RAND_BUF 512
#define RAND_SMALL 64
static __thread unsigned char rand_buf[RAND_BUF];
static __thread size_t rand_left; /* the unused bytes are rand_buf[RAND_BUF - rand_left ..) */
static pthread_once_t rand_once = PTHREAD_ONCE_INIT;

static void rand_atfork_child(void)
{
	OPENSSL_cleanse(rand_buf, sizeof(rand_buf));
	rand_left = 0;
}

static void rand_init(void)
{
	pthread_atfork(NULL, NULL, rand_atfork_child);
}

int cf_ossl_random(void *buf, size_t len)
{
	unsigned char *src;

	if (len > RAND_SMALL)
		return rand_direct(buf, len);
	pthread_once(&rand_once, rand_init);
	if (rand_left < len) {
		if (rand_direct(rand_buf, RAND_BUF) != 0) {
			rand_atfork_child();
			return CF_ECRYPTO;
		}
		rand_left = RAND_BUF;
	}
	src = rand_buf + (RAND_BUF - rand_left);
	memcpy(buf, src, len);
	OPENSSL_cleanse(src, len);
	rand_left -= len;
	return 0;
}

int cf_random(void *buf, size_t len)
{
	return cf_ossl_random(buf, len);
}

/*
 * The digests fetched once per process: EVP_sha256() and friends are fetched again from the
 * provider on every EVP_DigestInit in OpenSSL 3.0 (a name-map lookup under a lock each time),
 * EC groups likewise made once per curve (EC_GROUP_new_by_curve_name lays out the curve and its
 * Montgomery constants, about a third of a verification). Never freed: they live as long as the
 * process, like OpenSSL's own default provider.
 */
static pthread_once_t ossl_once = PTHREAD_ONCE_INIT;
static EVP_MD *md_sha256, *md_sha384, *md_sha512;
static EC_GROUP *grp_p256, *grp_p384;

static void ossl_init(void)
{
	md_sha256 = EVP_MD_fetch(NULL, "SHA2-256", NULL);
	md_sha384 = EVP_MD_fetch(NULL, "SHA2-384", NULL);
	md_sha512 = EVP_MD_fetch(NULL, "SHA2-512", NULL);
	grp_p256 = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
	grp_p384 = EC_GROUP_new_by_curve_name(NID_secp384r1);
}

static const EVP_MD *md_of_len(size_t hlen)
{
	pthread_once(&ossl_once, ossl_init);
	return hlen == 32 ? md_sha256 : hlen == 48 ? md_sha384 : hlen == 64 ? md_sha512 : NULL;
}

int cf_sha256(const void *msg, size_t len, uint8_t out[32])
{
	const EVP_MD *md = md_of_len(32);

	return md && EVP_Digest(msg, len, out, NULL, md, NULL) == 1 ? 0 : CF_ECRYPTO;
}

int cf_hmac_sha256(const uint8_t *key, size_t key_len, const void *msg, size_t len, uint8_t out[32])
{
	static const uint8_t none[1];
	unsigned int n = 0;

	if (key_len > INT_MAX)
		return CF_EINTERNAL;
	if (!md_of_len(32) ||
	    !HMAC(md_of_len(32), key ? key : none, (int)key_len, msg ? msg : (const void *)none,
		  len, out, &n) ||
	    n != 32)
		return CF_ECRYPTO;
	return 0;
}

/* ---- keys ------------------------------------------------------------------------------------ */

/* An RSA public key from the big-endian n (n_len octets) and e. */
static EVP_PKEY *evp_rsa_public(const uint8_t *n, size_t n_len, const uint8_t *e, size_t e_len)
{
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	BIGNUM *bn = BN_bin2bn(n, (int)n_len, NULL), *be = BN_bin2bn(e, (int)e_len, NULL);
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;

	if (bld && bn && be && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) == 1 &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) == 1 &&
	    (params = OSSL_PARAM_BLD_to_param(bld)) &&
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) &&
	    EVP_PKEY_fromdata_init(ctx) == 1)
		EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn);
	BN_free(be);
	return pkey;
}

/* An EC key from its numbers: the point, and the private scalar too if with_private. */
static EVP_PKEY *evp_ec(const cf_key *key, int with_private)
{
	const mbedtls_ecp_keypair *ec = mbedtls_pk_ec(key->pk);
	uint8_t pub[2 * 48 + 1], d[48];
	size_t n = 0, dlen = cf_key_type(key) == CF_KEY_P256 ? 32 : 48;
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;
	BIGNUM *bd = NULL;

	if (!bld ||
	    mbedtls_ecp_point_write_binary(&ec->MBEDTLS_PRIVATE(grp), &ec->MBEDTLS_PRIVATE(Q),
					   MBEDTLS_ECP_PF_UNCOMPRESSED, &n, pub,
					   sizeof(pub)) != 0 ||
	    OSSL_PARAM_BLD_push_utf8_string(
		bld, OSSL_PKEY_PARAM_GROUP_NAME,
		cf_key_type(key) == CF_KEY_P256 ? "prime256v1" : "secp384r1", 0) != 1 ||
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, n) != 1)
		goto out;
	if (with_private && (mbedtls_mpi_write_binary(&ec->MBEDTLS_PRIVATE(d), d, dlen) != 0 ||
			     !(bd = BN_secure_new()) || !BN_bin2bn(d, (int)dlen, bd) ||
			     OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, bd) != 1))
		goto out;
	if ((params = OSSL_PARAM_BLD_to_param(bld)) &&
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) &&
	    EVP_PKEY_fromdata_init(ctx) == 1)
		EVP_PKEY_fromdata(ctx, &pkey, with_private ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY,
				  params);
out:
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params); /* OSSL_PARAM_BLD_to_param put d in secure memory */
	OSSL_PARAM_BLD_free(bld);
	BN_clear_free(bd);
	cf_zeroize(d, sizeof(d));
	return pkey;
}

/*
 * A public key straight from its numbers (EVP_PKEY_fromdata): d2i_PUBKEY would do, but OpenSSL
 * 3.0 sets up its whole decoder machinery for each call, which cost more than the verification
 * itself (half of certflowd's CPU per certificate in a callgrind profile), and every request
 * brings a public key of its own (the JWS's, the CSR's).
 */
static EVP_PKEY *evp_public(const cf_key *key)
{
	const mbedtls_pk_context *pk = &key->pk;
	uint8_t pub[512]; /* n of RSA-4096 */
	uint8_t e[8];

	if (cf_key_type(key) == CF_KEY_RSA) {
		const mbedtls_rsa_context *rsa = mbedtls_pk_rsa(*pk);
		size_t len = mbedtls_rsa_get_len(rsa);

		if (len > sizeof(pub) || mbedtls_rsa_export_raw(rsa, pub, len, NULL, 0, NULL, 0,
								NULL, 0, e, sizeof(e)) != 0)
			return NULL;
		return evp_rsa_public(pub, len, e, sizeof(e));
	}
	return evp_ec(key, 0);
}

static EVP_PKEY *evp_from_key(const cf_key *key)
{
	uint8_t buf[PKCS8_MAX];
	const unsigned char *p = buf;
	EVP_PKEY *pkey = NULL;
	size_t len = 0;

	if (!cf_key_has_private(key))
		return evp_public(key);
	if (cf_key_type(key) != CF_KEY_RSA)
		return evp_ec(key, 1);
	/* an RSA key pair (the CA's, once per process; a custody key, once per operation) */
	if (cf_key_pkcs8_der(key, buf, sizeof(buf), &len) == 0)
		pkey = d2i_AutoPrivateKey(NULL, &p, (long)len);
	cf_zeroize(buf, sizeof(buf));
	return pkey;
}

int cf_key_evp(const cf_key *key, EVP_PKEY **out)
{
	cf_key *k = (cf_key *)key;
	void *cur = atomic_load_explicit(&k->evp, memory_order_acquire);
	EVP_PKEY *made;

	if (!cur) {
		if (!(made = evp_from_key(key)))
			return CF_ECRYPTO;
		if (atomic_compare_exchange_strong_explicit(
			&k->evp, &cur, made, memory_order_acq_rel, memory_order_acquire))
			cur = made;
		else
			EVP_PKEY_free(made); /* another thread published one first */
	}
	*out = cur;
	return 0;
}

void cf_key_evp_release(cf_key *key)
{
	EVP_PKEY_free(atomic_load(&key->evp));
	atomic_store(&key->evp, NULL);
	EC_KEY_free(atomic_load(&key->ec));
	atomic_store(&key->ec, NULL);
}

/* A new EC_KEY holding key's public point, on the process's group of its curve. */
static EC_KEY *ec_public_new(const cf_key *key)
{
	const mbedtls_ecp_keypair *ec = mbedtls_pk_ec(key->pk);
	const EC_GROUP *grp;
	uint8_t pub[2 * 48 + 1];
	EC_POINT *pt = NULL;
	EC_KEY *ek = NULL;
	size_t n = 0;

	pthread_once(&ossl_once, ossl_init);
	grp = cf_key_type(key) == CF_KEY_P256 ? grp_p256 : grp_p384;
	if (!grp ||
	    mbedtls_ecp_point_write_binary(&ec->MBEDTLS_PRIVATE(grp), &ec->MBEDTLS_PRIVATE(Q),
					   MBEDTLS_ECP_PF_UNCOMPRESSED, &n, pub, sizeof(pub)) != 0)
		return NULL;
	if (!(ek = EC_KEY_new()) || EC_KEY_set_group(ek, grp) != 1 || !(pt = EC_POINT_new(grp)) ||
	    EC_POINT_oct2point(grp, pt, pub, n, NULL) != 1 || EC_KEY_set_public_key(ek, pt) != 1) {
		EC_KEY_free(ek);
		ek = NULL;
	}
	EC_POINT_free(pt);
	return ek;
}

/*
 * The EC public key for verification, made on the first call and kept in the key. Every request
 * brings public keys of its own (the JWS's, the CSR's) that are used once or twice: through
 * EVP_PKEY_fromdata and an EVP_PKEY_CTX each one cost a curve set-up and provider look-ups
 * beside the verification itself; a legacy EC_KEY on the shared group and ECDSA_do_verify do
 * the same check (the same ossl_ecdsa_verify code) without them.
 */
static int ec_public(const cf_key *key, EC_KEY **out)
{
	cf_key *k = (cf_key *)key;
	void *cur = atomic_load_explicit(&k->ec, memory_order_acquire);
	EC_KEY *made;

	if (!cur) {
		if (!(made = ec_public_new(key)))
			return CF_ECRYPTO;
		if (atomic_compare_exchange_strong_explicit(
			&k->ec, &cur, made, memory_order_acq_rel, memory_order_acquire))
			cur = made;
		else
			EC_KEY_free(made); /* another thread published one first */
	}
	*out = cur;
	return 0;
}

/* ---- signatures ------------------------------------------------------------------------------ */

/* Sign the digest hash (hlen 32/48/64) with pkey: DER Ecdsa-Sig-Value for EC, PKCS#1 v1.5 over
 * the DigestInfo for RSA. */
static int evp_sign_digest(EVP_PKEY *pkey, const uint8_t *hash, size_t hlen, uint8_t *sig,
			   size_t sig_cap, size_t *sig_len)
{
	const EVP_MD *md = md_of_len(hlen);
	EVP_PKEY_CTX *ctx;
	size_t n = 0;
	int ret = CF_ECRYPTO;

	if (!md)
		return CF_EINTERNAL;
	if (!(ctx = EVP_PKEY_CTX_new(pkey, NULL)))
		return CF_ENOMEM;
	if (EVP_PKEY_sign_init(ctx) != 1 || EVP_PKEY_CTX_set_signature_md(ctx, md) != 1 ||
	    (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_RSA &&
	     EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) != 1) ||
	    EVP_PKEY_sign(ctx, NULL, &n, hash, hlen) != 1)
		goto out;
	ret = CF_EINTERNAL;
	if (n > sig_cap)
		goto out;
	ret = EVP_PKEY_sign(ctx, sig, &n, hash, hlen) == 1 ? 0 : CF_ECRYPTO;
	if (ret == 0)
		*sig_len = n;
out:
	EVP_PKEY_CTX_free(ctx);
	return ret;
}

/* 0 if sig (DER Ecdsa-Sig-Value, or PKCS#1 v1.5) is pkey's signature of hash, else CF_EBADSIG. */
static int evp_verify_digest(EVP_PKEY *pkey, const uint8_t *hash, size_t hlen, const uint8_t *sig,
			     size_t sig_len)
{
	const EVP_MD *md = md_of_len(hlen);
	EVP_PKEY_CTX *ctx;
	int ret = CF_EBADSIG;

	if (!md)
		return CF_EINTERNAL;
	if (!(ctx = EVP_PKEY_CTX_new(pkey, NULL)))
		return CF_ENOMEM;
	if (EVP_PKEY_verify_init(ctx) == 1 && EVP_PKEY_CTX_set_signature_md(ctx, md) == 1 &&
	    (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_RSA ||
	     EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1) &&
	    EVP_PKEY_verify(ctx, sig, sig_len, hash, hlen) == 1)
		ret = 0;
	EVP_PKEY_CTX_free(ctx);
	return ret;
}

/* Digest of msg for alg into hash; sets its length. */
static int alg_digest(enum cf_alg alg, const void *msg, size_t len, uint8_t hash[48], size_t *hlen)
{
	static const uint8_t none[1];

	const EVP_MD *md;

	*hlen = alg == CF_ALG_ES384 ? 48 : 32;
	if (len > 0 && !msg)
		return CF_EINTERNAL;
	if (!(md = md_of_len(*hlen)))
		return CF_ECRYPTO;
	return EVP_Digest(msg ? msg : (const void *)none, len, hash, NULL, md, NULL) == 1
		   ? 0
		   : CF_ECRYPTO;
}

/* Octets of one of r, s for an EC key (32 for P-256, 48 for P-384). */
static size_t ec_coord_len(const cf_key *key)
{
	return cf_key_type(key) == CF_KEY_P256 ? 32 : 48;
}

int cf_sign(const cf_key *key, enum cf_alg alg, const void *msg, size_t len, uint8_t *sig,
	    size_t sig_cap, size_t *sig_len)
{
	uint8_t hash[48], der[2 * 48 + 16];
	const unsigned char *p = der;
	const BIGNUM *r, *s;
	ECDSA_SIG *es;
	EVP_PKEY *pkey;
	size_t hlen, n, der_len = 0;
	int ret;

	if (cf_key_alg(key) != alg)
		return CF_EBADALG;
	if (!cf_key_has_private(key))
		return CF_EBADKEY;
	if ((ret = alg_digest(alg, msg, len, hash, &hlen)) != 0 ||
	    (ret = cf_key_evp(key, &pkey)) != 0)
		return ret;
	if (alg == CF_ALG_RS256)
		return evp_sign_digest(pkey, hash, hlen, sig, sig_cap, sig_len);
	n = ec_coord_len(key);
	if (2 * n > sig_cap)
		return CF_EINTERNAL;
	if ((ret = evp_sign_digest(pkey, hash, hlen, der, sizeof(der), &der_len)) != 0)
		return ret;
	/* JWS wants r||s, each left-padded to the coordinate length */
	if (!(es = d2i_ECDSA_SIG(NULL, &p, (long)der_len)))
		return CF_ECRYPTO;
	ECDSA_SIG_get0(es, &r, &s);
	ret = BN_bn2binpad(r, sig, (int)n) == (int)n && BN_bn2binpad(s, sig + n, (int)n) == (int)n
		  ? 0
		  : CF_ECRYPTO;
	ECDSA_SIG_free(es);
	if (ret == 0)
		*sig_len = 2 * n;
	return ret;
}

int cf_verify(const cf_key *key, enum cf_alg alg, const void *msg, size_t len, const uint8_t *sig,
	      size_t sig_len)
{
	uint8_t hash[48];
	BIGNUM *r = NULL, *s = NULL;
	ECDSA_SIG *es = NULL;
	EVP_PKEY *pkey;
	EC_KEY *ek;
	size_t hlen, n;
	int ret;

	if (cf_key_alg(key) != alg)
		return CF_EBADALG;
	if (!sig)
		return CF_EBADSIG;
	if ((ret = alg_digest(alg, msg, len, hash, &hlen)) != 0)
		return ret;
	if (alg == CF_ALG_RS256) {
		if ((ret = cf_key_evp(key, &pkey)) != 0)
			return ret;
		if (sig_len != (size_t)EVP_PKEY_get_size(pkey))
			return CF_EBADSIG;
		return evp_verify_digest(pkey, hash, hlen, sig, sig_len);
	}
	n = ec_coord_len(key);
	if (sig_len != 2 * n)
		return CF_EBADSIG;
	if ((ret = ec_public(key, &ek)) != 0)
		return ret;
	ret = CF_ENOMEM;
	if (!(es = ECDSA_SIG_new()) || !(r = BN_bin2bn(sig, (int)n, NULL)) ||
	    !(s = BN_bin2bn(sig + n, (int)n, NULL)) || ECDSA_SIG_set0(es, r, s) != 1) {
		BN_free(r);
		BN_free(s);
		goto out;
	}
	ret = ECDSA_do_verify(hash, (int)hlen, es, ek) == 1 ? 0 : CF_EBADSIG;
out:
	ECDSA_SIG_free(es);
	return ret;
}

int cf_verify_digest(const cf_key *key, const uint8_t *hash, size_t hlen, const uint8_t *sig,
		     size_t sig_len)
{
	EVP_PKEY *pkey;
	EC_KEY *ek;
	int ret;

	if (!key || !hash || !md_of_len(hlen))
		return CF_EINTERNAL;
	if (!sig || sig_len == 0)
		return CF_EBADSIG;
	if (cf_key_type(key) != CF_KEY_RSA) {
		if (sig_len > INT_MAX || (ret = ec_public(key, &ek)) != 0)
			return sig_len > INT_MAX ? CF_EBADSIG : ret;
		/* ECDSA_verify takes DER only, and only in its one encoding (as EVP_PKEY_verify) */
		return ECDSA_verify(0, hash, (int)hlen, sig, (int)sig_len, ek) == 1 ? 0
										    : CF_EBADSIG;
	}
	if ((ret = cf_key_evp(key, &pkey)) != 0)
		return ret;
	return evp_verify_digest(pkey, hash, hlen, sig, sig_len);
}

int cf_ossl_sign_digest(const cf_key *key, const uint8_t *hash, size_t hlen, uint8_t *sig,
			size_t sig_cap, size_t *sig_len)
{
	EVP_PKEY *pkey;
	int ret;

	if ((ret = cf_key_evp(key, &pkey)) != 0)
		return ret;
	return evp_sign_digest(pkey, hash, hlen, sig, sig_cap, sig_len);
}

/* ---- the signing context for mbedTLS's writers -------------------------------------------- */

/*
 * An mbedTLS pk context whose pk_ctx is the key's EVP_PKEY and whose only operation is sign:
 * mbedtls_x509write_crt_der asks it whether it can do RSA or ECDSA (for the signature's OID)
 * and then calls mbedtls_pk_sign with the digest of the TBSCertificate and a buffer of
 * MBEDTLS_PK_SIGNATURE_MAX_SIZE octets. The context belongs to the key; freeing the pk context
 * leaves it alone.
 */
static size_t signer_bitlen(const void *ctx)
{
	return (size_t)EVP_PKEY_get_bits((const EVP_PKEY *)ctx);
}

static int signer_can_ecdsa(mbedtls_pk_type_t type)
{
	return type == MBEDTLS_PK_ECDSA;
}

static int signer_can_rsa(mbedtls_pk_type_t type)
{
	return type == MBEDTLS_PK_RSA;
}

static int signer_sign(void *ctx, mbedtls_md_type_t md_alg, const unsigned char *hash,
		       size_t hash_len, unsigned char *sig, size_t *sig_len,
		       int (*f_rng)(void *, unsigned char *, size_t), void *p_rng)
{
	(void)md_alg;
	(void)f_rng;
	(void)p_rng;
	return evp_sign_digest(ctx, hash, hash_len, sig, MBEDTLS_PK_SIGNATURE_MAX_SIZE, sig_len) ==
		       0
		   ? 0
		   : MBEDTLS_ERR_PK_BAD_INPUT_DATA;
}

static void signer_ctx_free(void *ctx)
{
	(void)ctx;
}

static const mbedtls_pk_info_t signer_ecdsa = {
    .type = MBEDTLS_PK_ECDSA,
    .name = "OpenSSL ECDSA",
    .get_bitlen = signer_bitlen,
    .can_do = signer_can_ecdsa,
    .sign_func = signer_sign,
    .ctx_free_func = signer_ctx_free,
};

static const mbedtls_pk_info_t signer_rsa = {
    .type = MBEDTLS_PK_RSA,
    .name = "OpenSSL RSA",
    .get_bitlen = signer_bitlen,
    .can_do = signer_can_rsa,
    .sign_func = signer_sign,
    .ctx_free_func = signer_ctx_free,
};

int cf_ossl_signer_new(const cf_key *key, mbedtls_pk_context **out)
{
	mbedtls_pk_context *pk;
	EVP_PKEY *pkey;
	int ret;

	if ((ret = cf_key_evp(key, &pkey)) != 0)
		return ret;
	if (!(pk = calloc(1, sizeof(*pk))))
		return CF_ENOMEM;
	mbedtls_pk_init(pk);
	pk->pk_info = cf_key_type(key) == CF_KEY_RSA ? &signer_rsa : &signer_ecdsa;
	pk->pk_ctx = pkey;
	*out = pk;
	return 0;
}

#endif /* CF_CRYPTO_OPENSSL */
