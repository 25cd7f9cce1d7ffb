/*
 * limit_mbedtls — the mbedTLS side of the crypto-bound limit: P-256 sign and verify timed the
 * way the mbedTLS build of common/cf_crypto.c does them (one long-lived group whose base-point
 * table is computed once, deterministic ECDSA to sign, mbedtls_ecdsa_verify with the key's
 * point), in CPU time of the calling thread. The bench links certflowd's OpenSSL build of
 * common/, whose cf_sign/cf_verify are OpenSSL's, so this file calls mbedTLS directly.
 */
#include "bench.h"

#include <string.h>

#include <mbedtls/ecdsa.h>
#include <mbedtls/ecp.h>
#include <mbedtls/md.h>

#include "cf_crypto_mbedtls.h"
#include "cf_err.h"

#define CRYPTO_MIN_MS 400.0
#define CRYPTO_MAX_OPS 4000

struct mb_key {
	mbedtls_ecp_group grp;
	mbedtls_mpi d;
	mbedtls_ecp_point q;
};

static int one_op(struct mb_key *k, int verify, const uint8_t *msg, size_t len, mbedtls_mpi *r,
		  mbedtls_mpi *s)
{
	uint8_t hash[32];

	if (mbedtls_md(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), msg, len, hash) != 0)
		return CF_ECRYPTO;
	if (verify)
		return mbedtls_ecdsa_verify(&k->grp, hash, sizeof(hash), &k->q, r, s) == 0
			   ? 0
			   : CF_ECRYPTO;
	return mbedtls_ecdsa_sign_det_ext(&k->grp, r, s, &k->d, hash, sizeof(hash),
					  MBEDTLS_MD_SHA256, cf_rng_mbedtls, NULL) == 0
		   ? 0
		   : CF_ECRYPTO;
}

static int time_op(struct mb_key *k, int verify, double *ms)
{
	uint8_t msg[512];
	mbedtls_mpi r, s;
	double t0, el = 0;
	int n = 0, ret;

	mbedtls_mpi_init(&r);
	mbedtls_mpi_init(&s);
	memset(msg, 0x5a, sizeof(msg));
	ret = one_op(k, 0, msg, sizeof(msg), &r, &s);
	t0 = bench_cpu_ms();
	while (!ret && n < CRYPTO_MAX_OPS && el < CRYPTO_MIN_MS) {
		ret = one_op(k, verify, msg, sizeof(msg), &r, &s);
		n++;
		el = bench_cpu_ms() - t0;
	}
	mbedtls_mpi_free(&r);
	mbedtls_mpi_free(&s);
	if (ret)
		return ret;
	*ms = el / n;
	return 0;
}

int bench_mbedtls_times(double *sign_ms, double *verify_ms)
{
	struct mb_key k;
	int ret;

	mbedtls_ecp_group_init(&k.grp);
	mbedtls_mpi_init(&k.d);
	mbedtls_ecp_point_init(&k.q);
	/* making the key multiplies G through the group: its table is then computed */
	ret = mbedtls_ecp_group_load(&k.grp, MBEDTLS_ECP_DP_SECP256R1) == 0 &&
		      mbedtls_ecp_gen_keypair(&k.grp, &k.d, &k.q, cf_rng_mbedtls, NULL) == 0
		  ? 0
		  : CF_ECRYPTO;
	if (!ret)
		ret = time_op(&k, 0, sign_ms);
	if (!ret)
		ret = time_op(&k, 1, verify_ms);
	mbedtls_ecp_point_free(&k.q);
	mbedtls_mpi_free(&k.d);
	mbedtls_ecp_group_free(&k.grp);
	return ret;
}
